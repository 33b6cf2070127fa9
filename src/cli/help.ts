// Help texts, one per command.

export const HELP: Record<string, string> = {
  main: `replyguard — catches port-forward replies that this router's transparent proxy swallows

Usage: replyguard <command> [options]

Commands:
  run       run the daemon in the foreground (procd starts it this way)
  status    show what the daemon found: what is broken, since when, why, what to change
  analyze   read a saved \`conntrack -E\` capture and report the same findings offline
  explain   show which firewall rule takes a packet (e.g. a server's reply) and why

Options:
  --version   print the version
  --help      this text; \`replyguard <command> --help\` for a command

Config: /etc/config/replyguard (UCI) or --config FILE.ini`,
  run: `Usage: replyguard run [--config FILE] [--state-dir DIR]

Runs the daemon in the foreground: watches conntrack events, writes
<state_dir>/status.json on every change. Stops cleanly on SIGTERM/SIGINT;
SIGHUP re-reads the config (a broken config is logged and the old one kept).

  --config FILE     UCI file, or INI when FILE ends in .ini (default /etc/config/replyguard)
  --state-dir DIR   overrides main.state_dir

Exit codes: 0 stopped cleanly, 78 the config cannot be used, 1 other failure.`,
  status: `Usage: replyguard status [--json] [--state-dir DIR] [--config FILE]

Reads <state_dir>/status.json written by the running daemon.

  --json            print the status document as it is
  --state-dir DIR   where status.json is (default: from the config, /var/run/replyguard)

Exit codes: 0 ok, 1 degraded, 2 problem (replies hijacked), 3 no status (daemon not running).`,
  analyze: `Usage: replyguard analyze FILE [--json] [--config FILE] [--lan SUBNET]...

Reads a capture of \`conntrack -E\` (any -o format: default, extended, id,
timestamp, xml, save; or - for stdin) and reports hijacked and asymmetric
replies, as the daemon would. Capture one on the router with:
  conntrack -E -e NEW,DESTROY -o extended,id,timestamp > capture.txt

  --json           print a document with the same "findings" as status.json
  --config FILE    take lan_subnets and forwards from this config
  --lan SUBNET     the LAN prefix (repeatable; default: config, else the private ranges)`,
  explain: `Usage: replyguard explain --from IP:PORT --to IP:PORT [--proto tcp|udp] [--in IFACE]
                         [--flags ack|syn|synack] [--json] [--ruleset-dir DIR]

Walks one hypothetical packet through this router's firewall (nft and
iptables/ipset, in kernel order) and policy routing, and prints each rule it
meets and the verdict: proxied (redirect/tproxy/tun, with the port or device),
forwarded, local, dropped or undetermined; "possibly" when a match cannot be
decided (socket, owner, an unreadable set …), with the reason.
Example, a port-forwarded server's reply:
  replyguard explain --from 192.168.50.10:443 --to 203.0.113.50:40000

  --proto P         tcp (default) or udp
  --in IFACE        in-interface (default: br-lan, else the first LAN interface)
  --flags F         tcp packet: syn, synack (reply to a SYN this router never saw)
                    or ack (mid-stream). Default: the packet that breaks first
  --json            { "verdict", "certain", "proxy", "path": [ { "backend", "table",
                    "chain", "position", "handle", "text", "effect" } ], … }
  --ruleset-dir DIR read saved dumps instead of the live kernel: nft.json
                    (nft -j list ruleset), iptables-save.txt, ip6tables-save.txt,
                    ipset.txt (ipset save), ip-rule.json (ip -j rule),
                    ip-route.json (ip -j route show table all), ip-addr.json
                    (ip -j addr), tcp_loose (the nf_conntrack_tcp_loose value)

Exit codes: 0 forwarded or local, 2 proxied or dropped (the packet is swallowed),
3 undetermined, 64 usage, 66 --ruleset-dir unreadable.`,
};
