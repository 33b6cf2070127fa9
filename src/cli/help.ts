// Help texts, one per command.

export const HELP: Record<string, string> = {
  main: `replyguard — catches port-forward replies that this router's transparent proxy swallows

Usage: replyguard <command> [options]

Commands:
  run       run the daemon in the foreground (procd starts it this way)
  status    show what the daemon found: what is broken, since when, why, what to change
  analyze   read a saved \`conntrack -E\` capture and report the same findings offline
  explain   show which firewall rule takes a packet (e.g. a server's reply) and why
  diagnose  check every declared forward against the live ruleset: would its replies be swallowed?
  trace     confirm on live traffic which rules a server's replies pass (nft monitor trace)
  guard     plan, apply, remove or check rules that exempt the forwards' replies from the proxy

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
  diagnose: `Usage: replyguard diagnose [--config FILE] [--in IFACE] [--json]

Reads the live ruleset (nft, iptables/ipset, policy routing, tcp_loose) once,
without the daemon, and walks the replies of every declared forward (and of
every server a running daemon has seen answering) to an outside client: the
SYN-ACK, the mid-stream ACK (TCP) or the datagram (UDP). A forward whose
replies would be swallowed is reported as reply_at_risk, with the responsible
rule (table, chain, position, handle) and what to change — the proxy's own
option first (OpenClash lan_ac_traffic, Passwall ports …), then the guard.

  --config FILE   the forwards and lan_interfaces (default /etc/config/replyguard)
  --in IFACE      the interface replies come in on (default: the first of lan_interfaces present, br-lan)
  --json          { "health", "proxy", "ruleset", "forwards", "findings": [ … as in status.json ] }

Exit codes: 0 healthy, 1 findings (a forward at risk), 2 could not run.`,
  trace: `Usage: replyguard trace --server IP:PORT [--proto tcp|udp] [--seconds N] [--in IFACE] [--json]

Live confirmation. Adds a temporary table (inet replyguard_trace, prerouting
priority -400) that marks for tracing only the packets from IP:PORT to
non-private addresses, reads \`nft monitor trace\` for N seconds (default 30),
and prints the real path of each kind of reply (SYN-ACK, mid-stream ACK, UDP):
table, chain, rule handle, verdict — and whether the static \`explain\` for the
same packet agrees. A disagreement is a bug in replyguard: the output says what
to send. Connect from outside through the port forward while it runs.
The table is always removed (also on Ctrl-C; after a crash, at the next trace
or daemon start). Needs nftables (iptables-nft rules are traced too).

Exit codes: 0 traced and explain agrees, 1 explain disagrees, 2 could not run,
3 no reply passed while tracing.`,
  guard: `Usage: replyguard guard plan|apply|remove|status [--json] [--config FILE] [--in IFACE]
                       [--ruleset-dir DIR] [--nat auto|nft|iptables]

Exempts exactly the replies of inbound connections (the declared forwards'
servers answering outside clients) from this router's transparent proxy, and
nothing else. Every rule is tagged with the comment "replyguard-guard".
  plan    print the rules it would add for the proxy and mode it recognises,
          why each is needed, the replies before and after (simulated on the
          model), and the proxy's own setting that does the same (OpenClash)
  apply   add them (one nft transaction; iptables -I); an existing guard is
          replaced, never doubled; then re-reads the ruleset and checks them
  remove  take out exactly the rules tagged replyguard-guard and the table
          inet replyguard_guard, nothing else
  status  are they in place, and do they take effect (the replies evaluate to
          forwarded)?
Per mode: nat REDIRECT → an identity NAT binding (dnat to the same address) in
table inet replyguard_guard at priority dstnat - 10, before the proxy's nat
chains, for TCP without SYN from the forward's host:port (without nft: a RETURN
at the top of the proxy's nat chain); TPROXY/TUN → a return at the top of the
proxy's mangle chain for TCP without SYN in state invalid/new; UDP forwards →
a return for the host:port as source there; a proxy that masquerades them
(OpenClash bypass_gateway_compatible) → an identity source NAT binding in the
same table at srcnat - 10. Without declared forwards: TCP
from the LAN to public addresses. The rules go only into chains of a
recognised proxy, or into replyguard's own table.

  --config FILE     forwards, lan_subnets/lan_interfaces (default /etc/config/replyguard)
  --in IFACE        the interface replies come in on (default: first of lan_interfaces present, br-lan)
  --ruleset-dir DIR plan/status from saved dumps (as for explain)
  --nat WHERE       nat guard: auto (own nft table if nft is there, else iptables), nft, iptables
  --json            machine-readable output

Exit codes: plan 0 rules to add, 1 nothing to do or not applicable; apply 0 in
place and effective (also: already was), 1 nothing to do, 2 failed; remove 0
removed, 1 nothing to remove, 2 failed; status 0 effective (in place, or not
needed), 1 not (fully) in place, 2 in place but not effective; 3 could not run
(config, ruleset unreadable), 64 usage.`,
};
