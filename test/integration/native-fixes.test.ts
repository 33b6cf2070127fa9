// Every proxy-native fix replyguard prints, proven on a real kernel: one lab per proxy (test/lab/lab.ts), the
// fix text taken from what replyguard prints for the lab's live ruleset, the option turned into the rule the
// proxy's own code writes for it (re-stated from upstream, cited in test/golden/rulesets/<proxy>/SOURCE.md),
// and then: the outside client's TLS (and, where the fix is for UDP, the UDP forward, its echo from the forward's
// own address and port) works, while the LAN's own traffic still reaches the proxy (TCP: the REDIRECT listener
// accepts it; UDP: the datagram enters the side router and never leaves it towards the main router). OpenClash's
// lan_ac_traffic goes in as its current release expands it (that the older, quoting release builds the same rule
// is shown by openclash-lan-ac-traffic.test.ts). Before any fix the forward is broken and replyguard names the
// proxy and the chain (where a mode spares the TCP replies, as Passwall's TPROXY does, TCP works and only UDP is
// broken and named); after it replyguard's own model lets the reply pass too. With OpenClash's Bypass Gateway
// Compatible on, what does not repair the forward alone is shown too (the forward stays broken, the model agrees).
// Run as root: CI=true node --import tsx --test test/integration/native-fixes.test.ts

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PEER_PORT } from '../../src/detector/outside-peers';
import { evaluateReply, proxyFixes, type ReplyEvaluation } from '../../src/detector/rule-attribution';
import { recognizeProxies } from '../../src/ruleset/recognize-proxy';
import { readLiveRuleset } from '../../src/sensors/ruleset-reader';
import { FIX_PROOFS } from '../golden/rulesets/fix-proofs';
import {
  handleOf,
  insertBefore,
  lineWith,
  must,
  neverLeaves,
  nft,
  option,
  type Proto,
  replaceRule,
  sleep,
  watchTable,
} from '../helpers/lab-rules';
import { entriesOf, iptArgv, nftArgv } from '../helpers/openclash-lan-ac';
import { CLIENT_SERVICE_PORT, createLab, type Lab, MODE_TRAITS, type ProxyMode } from '../lab/lab';

/** A second LAN host (an extra address on the server's link): its traffic must stay proxied under every fix. */
const OTHER = '192.168.50.11';

/** What replyguard printed for the lab's TCP forward (nas, 443) and UDP forward (wg, 51820). */
interface Printed {
  tcp: string[];
  udp: string[];
}

interface Fix {
  name: string;
  /** The forwards the fix repairs. */
  repairs: readonly Proto[];
  /** The fix is per port: the server's own outbound connections stay proxied too. */
  perPort: boolean;
  /** Puts the proxy's own rules for the option (read from the printed text) into the side router. */
  apply(lab: Lab, printed: Printed): Promise<void>;
  /**
   * replyguard's model cannot say 'passes' for the repaired replies: the fix's rule matches the source MAC
   * address, which its model of a reply does not know, so it reports the worse branch (the proxy's rule) as
   * not certain, naming the unknown MAC as what it depends on.
   */
  modelBlindToMac?: true;
}

interface ProxyCase {
  mode: ProxyMode;
  /** The lab with OpenClash's Bypass Gateway Compatible on (LabOptions.bypassGatewayCompatible). */
  bypassGatewayCompatible?: boolean;
  tag: string;
  /** The golden folder whose SOURCE.md cites the upstream lines of these fixes (test/golden/rulesets). */
  golden: string;
  /**
   * replyguard's label of the proxy, and the chain it names for the TCP replies; null where the mode spares them
   * (Passwall's TPROXY: PSW_RULE marks only a bare SYN), and then the chain it names for the UDP ones.
   */
  label: RegExp;
  tcpChain: string | null;
  udpChain?: string;
  /**
   * The TCP port the LAN's own traffic is tested on (default CLIENT_SERVICE_PORT): a port the proxy takes with
   * the fix in place, where its list of common ports leaves out the lab client's service port.
   */
  lanPort?: number;
  /**
   * The other LAN host gets a MAC address of its own (a macvlan on the server's link, routed by its source
   * address), for fixes that match the server's MAC.
   */
  otherOwnMac?: boolean;
  fixes: Fix[];
}

/** How SOURCE.md names the case's lab: its mode, and the option when set. */
const labName = (c: ProxyCase) => `${c.mode}${c.bypassGatewayCompatible ? ', bypassGatewayCompatible' : ''}`;

// ---------------------------------------------------------------------------
// Side-router helpers

/** The iptables rule number of the first rule of a chain whose `-S` line matches (the first line is -N or -P). */
async function iptNumberOf(lab: Lab, table: string, chain: string, match: RegExp): Promise<number> {
  const lines = (await must(lab, lab.ns.side, ['iptables', '-w', '-t', table, '-S', chain])).split('\n');
  const n = lines.findIndex((l) => match.test(l));
  assert.ok(n > 0, `no rule ${match} in ${table} ${chain}:\n${lines.join('\n')}`);
  return n;
}

/** iptables: inserts rules (argument lists without -t/-I), in order, right before the rule that matches. */
async function iptInsertBefore(lab: Lab, table: string, chain: string, match: RegExp, rules: string[][]) {
  const n = await iptNumberOf(lab, table, chain, match);
  for (const [i, rule] of rules.entries())
    await must(lab, lab.ns.side, ['iptables', '-w', '-t', table, '-I', chain, String(n + i), ...rule]);
  return n + rules.length;
}

async function evaluate(lab: Lab, proto: Proto): Promise<ReplyEvaluation> {
  const { snapshot } = await readLiveRuleset({ wrap: ['ip', 'netns', 'exec', lab.ns.side] });
  const q = {
    proto,
    server: lab.addr.server,
    port: proto === 'tcp' ? lab.forward.serverPort : lab.forward.udpServerPort,
    peer: lab.addr.client,
    peerPort: PEER_PORT,
    iif: lab.lanDevice,
  };
  const r = evaluateReply(snapshot, q, recognizeProxies(snapshot.ruleset));
  assert.ok(typeof r !== 'string', `no evaluation: ${r}`);
  return r;
}

/** The fix lines replyguard prints for the forward's replies in the lab as it is now. */
async function printedFor(lab: Lab, proto: Proto): Promise<string[]> {
  const r = await evaluate(lab, proto);
  assert.equal(r.fate, 'proxied', `${proto}: replyguard sees the replies ${r.fate}`);
  const port = proto === 'tcp' ? lab.forward.serverPort : lab.forward.udpServerPort;
  return proxyFixes(r.proxy, r, lab.addr.server, port, proto, proto === 'tcp' ? 'nas' : 'wg').map((f) => f.text);
}

/**
 * The UDP forward works: the echo came back, and from the forward's own address and port. A masqueraded
 * reply still reaches the probe, from the main router's port for the side router's mapping; a peer that
 * matches its replies to the address it sent to (a connected socket, a NAT in front of it) drops it.
 */
function udpWorks(lab: Lab, r: { ok: boolean; detail: string }): boolean {
  return r.ok && r.detail === `echo from ${lab.addr.mainWan}:${lab.forward.udpWanPort}`;
}

/**
 * A TCP connection from a LAN address to the outside client's service goes to the proxy: where the mode
 * redirects TCP, its listener accepts it; where TPROXY or a TUN mark takes TCP (no listener), its SYN enters
 * the side router and never leaves towards the main router.
 */
async function tcpProxied(lab: Lab, mode: ProxyMode, src: string, port = CLIENT_SERVICE_PORT): Promise<boolean> {
  // Where the REDIRECT takes it, the proxy's listener accepts whatever the port; where not, nothing listens
  // there but the client's service, and the connection is refused.
  const url = `http://${lab.addr.client}:${port}/`;
  const curl = (seconds: string) =>
    lab.exec(
      lab.ns.server,
      ['curl', '-sS', '--noproxy', '*', '--max-time', seconds, '--interface', src, '-o', '/dev/null', url],
      {
        timeoutMs: 4000,
      },
    );
  if (MODE_TRAITS[mode].redirectPort === undefined) {
    assert.equal(port, CLIENT_SERVICE_PORT, 'WATCH counts the SYNs to the client service only');
    return neverLeaves(lab, 4, 'tcp', () => curl('1'));
  }
  const before = lab.proxyAccepts();
  await curl('2');
  for (let i = 0; i < 20 && lab.proxyAccepts() === before; i++) await sleep(25);
  return lab.proxyAccepts() > before;
}

/** A UDP datagram from a LAN address to the outside client's port 443 goes to the proxy (never leaves). */
async function udpProxied(lab: Lab, src: string): Promise<boolean> {
  const js = `const s=require('dgram').createSocket('udp4');s.bind(0,'${src}',()=>s.send('x',443,'${lab.addr.client}',()=>s.close()))`;
  return neverLeaves(lab, 4, 'udp', () => must(lab, lab.ns.server, [process.execPath, '-e', js]));
}

// ---------------------------------------------------------------------------
// The fixes, each as the proxy's own code writes its option

/** Passwall's and Passwall2's factor(): a port list becomes `tcp dport {a,b,…}` (nftables.sh). */
const factor = (ports: string, what: string) => `${what} {${ports.replace(/:/g, '-')}}`;

/** udp_redir_ports on nft: the catch-all UDP jump to the mark chain gets the port list (nftables.sh 772). */
function nftUdpRedirPorts(table: string, mangle: string, rule: string) {
  const comment = table === 'inet passwall' ? '"默认"' : '"Default"';
  return async (lab: Lab, p: Printed) => {
    const ports = option(lineWith(p.udp, 'udp_redir_ports'), '.udp_redir_ports');
    await replaceRule(
      lab,
      table,
      mangle,
      new RegExp(`^\\s+ip protocol udp counter packets \\d+ bytes \\d+ jump ${rule}`),
      [`ip protocol udp ${factor(ports, 'udp dport')} counter jump ${rule} comment ${comment}`],
    );
  };
}

/**
 * udp_redir_ports on iptables: add_port_rules (Passwall iptables.sh 67-101, Passwall2 iptables.sh 50-84; eval: the
 * comment loses its quotes) writes the catch-all `-j PSW_RULE` of mangle PSW (Passwall 738) or `-j PSW2_RULE` of
 * mangle PSW2 (Passwall2 595) as `-m multiport --dport <up to 15 ports>`.
 */
function iptUdpRedirPorts(chain: 'PSW' | 'PSW2', comment: string) {
  return async (lab: Lab, p: Printed): Promise<void> => {
    const ports = option(lineWith(p.udp, 'udp_redir_ports'), '.udp_redir_ports');
    assert.ok(/^\d+(,\d+){0,14}$/.test(ports), `one multiport rule: ${ports}`);
    const rule = `${chain}_RULE`;
    const n = await iptInsertBefore(lab, 'mangle', chain, new RegExp(`^-A ${chain} -p udp .*-j ${rule}$`), [
      ['-p', 'udp', '-m', 'comment', '--comment', comment, '-m', 'multiport', '--dports', ports, '-j', rule],
    ]);
    await must(lab, lab.ns.side, ['iptables', '-w', '-t', 'mangle', '-D', chain, String(n)]);
  };
}

function redirPortsFixes(table: string, nat: string, mangle: string, rule: string, port: number): Fix[] {
  const comment = table === 'inet passwall' ? '"默认"' : '"Default"';
  const tcp = async (lab: Lab, p: Printed) => {
    const ports = option(lineWith(p.tcp, 'tcp_redir_ports'), '.tcp_redir_ports');
    await replaceRule(
      lab,
      table,
      nat,
      new RegExp(`^\\s+ip protocol tcp counter packets \\d+ bytes \\d+ redirect to :${port}`),
      [
        `ip protocol tcp ${factor(ports, 'tcp dport')} counter redirect to :${port} comment ${comment}`,
        ...(table === 'inet passwall' ? [`ip protocol tcp counter return comment ${comment}`] : []),
      ],
    );
  };
  const udp = nftUdpRedirPorts(table, mangle, rule);
  return [
    { name: 'tcp_redir_ports', repairs: ['tcp'], perPort: true, apply: tcp },
    {
      name: 'tcp_redir_ports and udp_redir_ports',
      repairs: ['tcp', 'udp'],
      perPort: true,
      apply: async (lab, p) => {
        await tcp(lab, p);
        await udp(lab, p);
      },
    },
  ];
}

/** OpenClash's common ports with common_ports = 1 (init.d/openclash). */
const OPENCLASH_COMMON_PORTS =
  '21 22 23 53 80 123 143 194 443 465 587 853 993 995 998 2052 2053 2082 2083 2086 2095 2096 5222 5228 5229 5230 8080 8443 8880 8888 8889';

const OPENCLASH_CATCH_ALL = /^\s+ip protocol tcp counter packets \d+ bytes \d+ redirect to :7892/;

type Firewall = 'fw4' | 'fw3';

/** The OpenClash release a lab mode re-states: v0.47.071, or 0.46.068 (openclash-fw4-0.46-fakeip, fw4 only). */
type OcRelease = '0.47.071' | '0.46.068';

/** The printed lan_ac_traffic entries, each as OpenClash writes it into the proxy's chain and, with
 * Bypass Gateway Compatible on, into openclash_post. */
async function ocLanAcTraffic(
  lab: Lab,
  p: Printed,
  fw: Firewall,
  post: boolean,
  release: OcRelease = '0.47.071',
): Promise<void> {
  for (const line of [lineWith(p.tcp, 'lan_ac_traffic'), lineWith(p.udp, 'lan_ac_traffic')]) {
    const [e] = entriesOf(line);
    assert.ok(e, line);
    if (fw === 'fw4') {
      await must(lab, lab.ns.side, nftArgv(e, release));
      if (post) await must(lab, lab.ns.side, nftArgv(e, release, 'post'));
      continue;
    }
    assert.equal(release, '0.47.071', 'fw3 proofs re-state v0.47.071');
    await must(lab, lab.ns.side, iptArgv(e, '0.47.071'));
    if (post) await must(lab, lab.ns.side, iptArgv(e, '0.47.071', 'post'));
  }
}

/** lan_ac_mode 0 with the host in lan_ac_black_ips: the set and its returns in the TCP and the UDP chain. */
async function ocBlacklist(lab: Lab, host: string, fw: Firewall): Promise<void> {
  if (fw === 'fw4') {
    await nft(
      lab,
      `add set inet fw4 lan_ac_black_ips { type ipv4_addr; flags interval; auto-merge; }\nadd element inet fw4 lan_ac_black_ips { ${host} }\n`,
    );
    const rule = ['ip saddr @lan_ac_black_ips counter return'];
    await insertBefore(lab, 'inet fw4', 'openclash', OPENCLASH_CATCH_ALL, rule);
    await insertBefore(lab, 'inet fw4', 'openclash_mangle', /jump openclash_upnp/, rule);
    return;
  }
  await must(lab, lab.ns.side, ['ipset', '-exist', 'create', 'lan_ac_black_ips', 'hash:net']);
  await must(lab, lab.ns.side, ['ipset', '-exist', 'add', 'lan_ac_black_ips', host]);
  const rule = ['-m', 'set', '--match-set', 'lan_ac_black_ips', 'src', '-j', 'RETURN'];
  await iptInsertBefore(lab, 'nat', 'openclash', /-j REDIRECT/, [rule]);
  // Before the UDP TPROXY (2560, 2580) or, in mix mode, before the UPnP jump and the mark for utun (2722, 2744).
  await iptInsertBefore(lab, 'mangle', 'openclash', /-j (TPROXY|openclash_upnp)\b/, [rule]);
}

/**
 * common_ports 1 in redir-host: the port set and its return in the TCP chain, and with `udp` in the UDP one.
 * 0.46.068 matches the port per protocol (bf478f74 init.d 1537 `tcp dport`, 1579 `udp dport`), v0.47.071 `th dport`.
 */
async function ocCommonPorts(lab: Lab, fw: Firewall, udp: boolean, release: OcRelease = '0.47.071'): Promise<void> {
  if (fw === 'fw4') {
    await nft(
      lab,
      `add set inet fw4 common_ports { type inet_service; flags interval; elements = { ${OPENCLASH_COMMON_PORTS.split(' ').join(', ')} } }\n`,
    );
    const rule = (l4: string) => [`${release === '0.46.068' ? l4 : 'th'} dport != @common_ports counter return`];
    await insertBefore(lab, 'inet fw4', 'openclash', OPENCLASH_CATCH_ALL, rule('tcp'));
    if (udp) await insertBefore(lab, 'inet fw4', 'openclash_mangle', /jump openclash_upnp/, rule('udp'));
    return;
  }
  await must(lab, lab.ns.side, ['ipset', '-exist', 'create', 'common_ports', 'bitmap:port', 'range', '0-65535']);
  for (const port of OPENCLASH_COMMON_PORTS.split(' '))
    await must(lab, lab.ns.side, ['ipset', '-exist', 'add', 'common_ports', port]);
  const rule = ['-m', 'set', '!', '--match-set', 'common_ports', 'dst', '-j', 'RETURN'];
  await iptInsertBefore(lab, 'nat', 'openclash', /-j REDIRECT/, [rule]);
  if (udp) await iptInsertBefore(lab, 'mangle', 'openclash', /-j TPROXY/, [rule]);
}

/**
 * bypass_gateway_compatible 0: the restart's revert_firewall deletes openclash_post and its jump, and
 * set_firewall does not add them again.
 */
async function ocBypassGatewayOff(lab: Lab, fw: Firewall): Promise<void> {
  if (fw === 'fw4') {
    const h = await handleOf(lab, 'inet fw4', 'srcnat', /jump openclash_post/);
    await nft(lab, `delete rule inet fw4 srcnat handle ${h}\ndelete chain inet fw4 openclash_post\n`);
    return;
  }
  const n = await iptNumberOf(lab, 'nat', 'POSTROUTING', /-j openclash_post$/);
  await must(lab, lab.ns.side, ['iptables', '-w', '-t', 'nat', '-D', 'POSTROUTING', String(n)]);
  await must(lab, lab.ns.side, ['iptables', '-w', '-t', 'nat', '-F', 'openclash_post']);
  await must(lab, lab.ns.side, ['iptables', '-w', '-t', 'nat', '-X', 'openclash_post']);
}

/** The printed fix line with this option, and the value it sets Bypass Gateway Compatible to (null: untouched). */
function withBypassOff(lines: string[], what: string): { line: string; off: boolean } {
  const line = lineWith(lines, what);
  const off = line.includes('bypass_gateway_compatible');
  if (off) assert.equal(option(line, 'openclash.config.bypass_gateway_compatible'), '0');
  return { line, off };
}

/** OpenClash's fixes on fw4 or fw3, with Bypass Gateway Compatible on (`post`) or off. */
function openclashFixes(fw: Firewall, post: boolean, release: OcRelease = '0.47.071'): Fix[] {
  const on = fw === 'fw3' ? ' on iptables' : '';
  const expanded = release === '0.46.068' ? 'quoted as its script does' : 'expanded as its script does';
  const fixes: Fix[] = [
    {
      name: `lan_ac_traffic${on} (OpenClash ${release}, the printed comment ${expanded}${post ? ', into openclash_post too' : ''})`,
      repairs: ['tcp', 'udp'],
      perPort: true,
      apply: (lab, p) => ocLanAcTraffic(lab, p, fw, post, release),
    },
    {
      name: `lan_ac_black_ips${on}${post ? ' with bypass_gateway_compatible 0, as printed together' : ''}`,
      repairs: ['tcp', 'udp'],
      perPort: false,
      apply: async (lab, p) => {
        const { line, off } = withBypassOff(p.tcp, 'lan_ac_black_ips');
        assert.equal(off, post, line);
        assert.equal(withBypassOff(p.udp, 'lan_ac_black_ips').off, post);
        const host = option(line, 'openclash.config.lan_ac_black_ips');
        assert.equal(option(lineWith(p.udp, 'lan_ac_black_ips'), 'openclash.config.lan_ac_black_ips'), host);
        await ocBlacklist(lab, host, fw);
        if (off) await ocBypassGatewayOff(lab, fw);
      },
    },
    {
      name: `common_ports (redir-host)${on}${post ? ' with bypass_gateway_compatible 0, as printed together' : ''}`,
      // With the masquerade the UDP return is applied too, as redir-host writes it.
      repairs: post ? ['tcp', 'udp'] : ['tcp'],
      perPort: true,
      apply: async (lab, p) => {
        const { line, off } = withBypassOff(p.tcp, 'common_ports');
        assert.equal(option(line, 'openclash.config.common_ports'), '1');
        assert.equal(off, post, line);
        await ocCommonPorts(lab, fw, post, release);
        if (off) await ocBypassGatewayOff(lab, fw);
      },
    },
  ];
  if (!post) return fixes;
  return [
    ...fixes,
    {
      name: `lan_ac_traffic${on} without its openclash_post rule (not what OpenClash writes): the masquerade still breaks the replies`,
      repairs: [],
      perPort: true,
      apply: (lab, p) => ocLanAcTraffic(lab, p, fw, false),
    },
    {
      name: `lan_ac_black_ips${on} alone: the masquerade still breaks the replies`,
      repairs: [],
      perPort: false,
      apply: (lab, p) =>
        ocBlacklist(lab, option(lineWith(p.tcp, 'lan_ac_black_ips'), 'openclash.config.lan_ac_black_ips'), fw),
    },
    {
      name: `bypass_gateway_compatible 0${on} alone, while the proxy takes the replies: nothing repaired, and not printed alone`,
      repairs: [],
      perPort: true,
      apply: async (lab, p) => {
        for (const line of [...p.tcp, ...p.udp])
          assert.ok(!/^OpenClash: turn off/.test(line), `printed alone while the proxy takes the replies: ${line}`);
        await ocBypassGatewayOff(lab, fw);
      },
    },
    {
      name: `bypass_gateway_compatible 0${on} where replyguard prints it first: redir-host with common_ports, the masquerade left`,
      repairs: ['tcp', 'udp'],
      perPort: true,
      apply: async (lab) => {
        await ocCommonPorts(lab, fw, true);
        assert.equal((await lab.tlsThroughForward({ timeoutMs: 2500 })).ok, false, 'common ports alone repair nothing');
        const udp = await lab.udpThroughForward({ timeoutMs: 1500 });
        assert.ok(!udpWorks(lab, udp), `UDP with the masquerade: ${udp.detail}`);
        for (const proto of ['tcp', 'udp'] as const) {
          const r = await evaluate(lab, proto);
          assert.equal(r.fate, 'masqueraded', proto);
          assert.equal(r.rule?.chain, 'openclash_post', proto);
          const port = proto === 'tcp' ? lab.forward.serverPort : lab.forward.udpServerPort;
          const first = proxyFixes(r.proxy, r, lab.addr.server, port, proto)[0];
          assert.equal(first?.kind, 'masquerade_setting', proto);
          assert.match(first.text, /^OpenClash: turn off "Bypass Gateway Compatible"/);
          assert.equal(option(first.text, 'openclash.config.bypass_gateway_compatible'), '0');
          assert.equal(first.uci?.length, 1, 'the setting alone');
        }
        await ocBypassGatewayOff(lab, fw);
      },
    },
  ];
}

/**
 * nikki's proxy_tcp_dport, alone or with proxy_udp_dport: hijack.ut makes the set proxy_dport of them (unset,
 * a protocol's list is 0-65535) and returns what is not in it. 'insert': the lab mode has neither the set nor the
 * returns, so both go in where hijack.ut writes them; 'set': the mode has them with the defaults, so only the
 * set's elements change.
 */
function nikkiFixes(how: 'insert' | 'set'): Fix[] {
  return (['tcp', 'both'] as const).map(
    (which): Fix => ({
      name: which === 'tcp' ? 'proxy_tcp_dport' : 'proxy_tcp_dport and proxy_udp_dport',
      repairs: which === 'tcp' ? ['tcp'] : ['tcp', 'udp'],
      perPort: true,
      apply: async (lab, p) => {
        const tcp = option(lineWith(p.tcp, 'proxy_tcp_dport'), 'nikki.proxy.proxy_tcp_dport');
        const udp =
          which === 'tcp' ? '0-65535' : option(lineWith(p.udp, 'proxy_udp_dport'), 'nikki.proxy.proxy_udp_dport');
        const elements = [...tcp.split(' ').map((x) => `tcp . ${x}`), ...udp.split(' ').map((x) => `udp . ${x}`)].join(
          ', ',
        );
        if (how === 'set') {
          await nft(lab, `flush set inet nikki proxy_dport\nadd element inet nikki proxy_dport { ${elements} }\n`);
          return;
        }
        await nft(
          lab,
          `add set inet nikki proxy_dport { type inet_proto . inet_service; flags interval; auto-merge; elements = { ${elements} } }\n`,
        );
        const ret =
          'meta nfproto ipv4 meta l4proto . th dport != @proxy_dport ip daddr != 198.18.0.1/16 counter return';
        await insertBefore(lab, 'inet nikki', 'dstnat', /jump lan_redirect/, [ret]);
        await insertBefore(lab, 'inet nikki', 'mangle_prerouting_lan', /jump lan_tun/, [ret]);
      },
    }),
  );
}

/**
 * ShellCrash on nft, Redir mode (TCP only) or Tproxy mode (TCP and UDP, where the same returns spare UDP too):
 * common ports, whose returns (fw_nftables.sh 41-44) take the place of the own-ports return (38) that Tproxy
 * mode writes without them, and the device filter's blacklist return (55-57).
 */
function shellcrashFixes(mode: 'redir' | 'tproxy'): Fix[] {
  const repairs: Proto[] = mode === 'redir' ? ['tcp'] : ['tcp', 'udp'];
  return [
    {
      name: 'common ports (common_ports ON with multiport)',
      repairs,
      perPort: true,
      apply: async (lab, p) => {
        const m = /e\.g\. ([\d,]+)/.exec(lineWith(p.tcp, 'common_ports=ON'));
        assert.ok(m, 'no port list in the printed fix');
        const ports = m[1]!.replace(/,/g, ', ');
        const returns = [
          `ip daddr != {28.0.0.0/8} tcp dport != {${ports}} return`,
          `ip daddr != {28.0.0.0/8} udp dport != {${ports}} return`,
          `ip6 daddr != {fc00::/16} tcp dport != {${ports}} return`,
          `ip6 daddr != {fc00::/16} udp dport != {${ports}} return`,
        ];
        if (mode === 'redir')
          await insertBefore(lab, 'inet shellcrash', 'prerouting', /ip daddr \{ 0\.0\.0\.0\/8/, returns);
        else
          await replaceRule(lab, 'inet shellcrash', 'prerouting', /tcp dport \{ 7890, 7892, 7893 \} return/, returns);
      },
    },
    {
      name: 'device filter (blacklist, configs/ip_filter)',
      repairs,
      perPort: false,
      apply: async (lab, p) => {
        const m = /exclude the device (\S+) /.exec(lineWith(p.tcp, 'exclude the device'));
        assert.ok(m, 'no device in the printed fix');
        await insertBefore(lab, 'inet shellcrash', 'prerouting', /ip saddr != 192\.168\.50\.0\/24 return/, [
          `ip saddr {${m[1]}} return`,
        ]);
      },
    },
  ];
}

/**
 * OTHER on a macvlan of the server's link, with a MAC address of its own; a rule for its source address sends its
 * traffic out through the macvlan (noprefixroute: the server's own traffic keeps eth0 and its MAC).
 */
async function otherWithOwnMac(lab: Lab): Promise<void> {
  const ip = (...args: string[]) => must(lab, lab.ns.server, ['ip', ...args]);
  await ip('link', 'add', 'link', 'eth0', 'name', 'other0', 'type', 'macvlan', 'mode', 'bridge');
  await ip('addr', 'add', `${OTHER}/24`, 'dev', 'other0', 'noprefixroute');
  await ip('link', 'set', 'other0', 'up');
  await ip('route', 'add', lab.addr.lanSubnet, 'dev', 'other0', 'table', '111');
  await ip('route', 'add', 'default', 'via', lab.addr.side, 'dev', 'other0', 'table', '111');
  await ip('rule', 'add', 'from', OTHER, 'table', '111');
  assert.notEqual(await macOf(lab, 'other0'), await macOf(lab, 'eth0'));
}

/** A link's MAC address in the server's namespace. */
async function macOf(lab: Lab, dev: string): Promise<string> {
  const [link] = JSON.parse(await must(lab, lab.ns.server, ['ip', '-j', 'link', 'show', dev])) as Array<{
    address: string;
  }>;
  assert.ok(link?.address, dev);
  return link.address;
}

/** ShellClash's default multiport (scripts/start.sh at cd801e12, getconfig line 33). */
const SHELLCLASH_MULTIPORT = '22,53,587,465,995,993,143,80,443,8080';

/**
 * ShellClash on iptables (start.sh at cd801e12), as start_redir and start_dns write each printed option. Common
 * ports on: $ports (35) on the REDIRECT of nat clash (335). The server's MAC in $clashdir/mac with the blacklist
 * (macfilter_type not 白名单): `-m mac --mac-source <mac> -j RETURN` appended to clash after the reserved-range
 * returns, before the REDIRECT (332-334), and to clash_dns before its REDIRECTs (382-384).
 */
const SHELLCLASH_FIXES: Fix[] = [
  {
    name: 'common ports on (common_ports=已开启: the REDIRECT with multiport)',
    repairs: ['tcp'],
    perPort: true,
    apply: async (lab, p) => {
      lineWith(p.tcp, 'common_ports=已开启');
      const n = await iptInsertBefore(lab, 'nat', 'clash', /^-A clash -p tcp -j REDIRECT/, [
        ['-p', 'tcp', '-m', 'multiport', '--dports', SHELLCLASH_MULTIPORT, '-j', 'REDIRECT', '--to-ports', '7892'],
      ]);
      await must(lab, lab.ns.side, ['iptables', '-w', '-t', 'nat', '-D', 'clash', String(n)]);
    },
  },
  {
    name: "the server's MAC in $clashdir/mac (blacklist)",
    repairs: ['tcp'],
    perPort: false,
    modelBlindToMac: true,
    apply: async (lab, p) => {
      const m = /put the MAC address of (\S+) in its device filter/.exec(lineWith(p.tcp, '$clashdir/mac'));
      assert.equal(m?.[1], lab.addr.server, 'the printed host');
      const mac = await macOf(lab, 'eth0');
      const rule = ['-m', 'mac', '--mac-source', mac, '-j', 'RETURN'];
      await iptInsertBefore(lab, 'nat', 'clash', /-j REDIRECT/, [rule]);
      await iptInsertBefore(lab, 'nat', 'clash_dns', /-j REDIRECT/, [rule]);
    },
  },
];

const CASES: ProxyCase[] = [
  {
    mode: 'openclash-fw4-fakeip',
    golden: 'openclash-fw4-fakeip',
    tag: 'nfoc',
    label: /^OpenClash/,
    tcpChain: 'openclash',
    fixes: openclashFixes('fw4', false),
  },
  {
    mode: 'openclash-fw4-0.46-fakeip',
    golden: 'openclash-fw4-0.46-fakeip',
    tag: 'nfoc46',
    label: /^OpenClash/,
    tcpChain: 'openclash',
    fixes: openclashFixes('fw4', false, '0.46.068'),
  },
  {
    mode: 'openclash-fw4-fakeip',
    bypassGatewayCompatible: true,
    golden: 'openclash-fw4-bypass-gateway-compatible',
    tag: 'nfocb',
    label: /^OpenClash/,
    tcpChain: 'openclash',
    fixes: openclashFixes('fw4', true),
  },
  {
    mode: 'passwall',
    golden: 'passwall-nft',
    tag: 'nfpw',
    label: /^Passwall$/,
    tcpChain: 'PSW_NAT',
    fixes: redirPortsFixes('inet passwall', 'PSW_NAT', 'PSW_MANGLE', 'PSW_RULE', 1041),
  },
  {
    mode: 'passwall2-redirect',
    golden: 'passwall2-nft-redirect',
    tag: 'nfpw2',
    label: /^Passwall2$/,
    tcpChain: 'PSW2_NAT',
    fixes: redirPortsFixes('inet passwall2', 'PSW2_NAT', 'PSW2_MANGLE', 'PSW2_RULE', 1041),
  },
  {
    mode: 'homeproxy',
    golden: 'homeproxy',
    tag: 'nfhp',
    label: /^homeproxy$/,
    tcpChain: 'homeproxy_redirect_proxy',
    fixes: [
      {
        name: "routing_port 'common'",
        repairs: ['tcp', 'udp'],
        perPort: true,
        apply: async (lab, p) => {
          assert.equal(option(lineWith(p.tcp, 'routing_port'), 'homeproxy.config.routing_port'), 'common');
          assert.equal(option(lineWith(p.udp, 'routing_port'), 'homeproxy.config.routing_port'), 'common');
          // routing_port common is infra.common_port (root/etc/config/homeproxy).
          const ports = '22,53,80,143,443,465,587,853,873,993,995,5222,8080,8443,9418';
          await nft(
            lab,
            `add set inet fw4 homeproxy_routing_port { type inet_service; flags interval; auto-merge; elements = { ${ports.split(',').join(', ')} } }\n`,
          );
          await insertBefore(
            lab,
            'inet fw4',
            'homeproxy_redirect_proxy_port',
            /goto homeproxy_redirect_proxy # handle/,
            ['tcp dport != @homeproxy_routing_port counter return'],
          );
          await insertBefore(lab, 'inet fw4', 'homeproxy_mangle_tproxy_port', /goto homeproxy_mangle_tproxy # handle/, [
            'udp dport != @homeproxy_routing_port counter return',
          ]);
        },
      },
      {
        name: "lan_proxy_mode 'except_listed' with lan_direct_ipv4_ips",
        repairs: ['tcp', 'udp'],
        perPort: false,
        apply: async (lab, p) => {
          const line = lineWith(p.tcp, 'lan_direct_ipv4_ips');
          assert.equal(option(line, 'homeproxy.control.lan_proxy_mode'), 'except_listed');
          const host = option(line, 'homeproxy.control.lan_direct_ipv4_ips');
          await insertBefore(lab, 'inet fw4', 'homeproxy_redirect_lanac', /goto homeproxy_redirect # handle/, [
            `ip saddr { ${host} } counter return`,
          ]);
          await insertBefore(lab, 'inet fw4', 'homeproxy_mangle_lanac', /goto homeproxy_mangle_prerouting # handle/, [
            `ip saddr { ${host} } counter return`,
          ]);
        },
      },
    ],
  },
  {
    mode: 'nikki',
    golden: 'nikki',
    tag: 'nfnk',
    label: /^nikki$/,
    tcpChain: 'lan_redirect',
    fixes: nikkiFixes('insert'),
  },
  {
    mode: 'shellcrash',
    golden: 'shellcrash-nft',
    tag: 'nfsc',
    label: /^ShellCrash$/,
    tcpChain: 'prerouting',
    fixes: shellcrashFixes('redir'),
  },
  {
    mode: 'openclash-fw3',
    golden: 'openclash-fw3-fakeip',
    tag: 'nfoc3',
    label: /^OpenClash/,
    tcpChain: 'openclash',
    fixes: openclashFixes('fw3', false),
  },
  {
    mode: 'openclash-fw3',
    bypassGatewayCompatible: true,
    golden: 'openclash-fw3-fakeip',
    tag: 'nfoc3b',
    label: /^OpenClash/,
    tcpChain: 'openclash',
    fixes: openclashFixes('fw3', true),
  },
  {
    mode: 'shellcrash-fw3',
    golden: 'shellcrash-iptables',
    tag: 'nfsc3',
    label: /^ShellCrash/,
    tcpChain: 'shellcrash',
    fixes: [
      {
        name: 'common ports on iptables (the PREROUTING jump with multiport)',
        repairs: ['tcp'],
        perPort: true,
        apply: async (lab, p) => {
          const m = /e\.g\. ([\d,]+)/.exec(lineWith(p.tcp, 'common_ports=ON'));
          assert.ok(m, 'no port list in the printed fix');
          const n = await iptInsertBefore(lab, 'nat', 'PREROUTING', /-j shellcrash$/, [
            ['-p', 'tcp', '-m', 'multiport', '--dports', m[1]!, '-j', 'shellcrash'],
          ]);
          await must(lab, lab.ns.side, ['iptables', '-w', '-t', 'nat', '-D', 'PREROUTING', String(n)]);
        },
      },
      {
        name: 'device filter on iptables (blacklist, configs/ip_filter)',
        repairs: ['tcp'],
        perPort: false,
        apply: async (lab, p) => {
          const m = /exclude the device (\S+) /.exec(lineWith(p.tcp, 'exclude the device'));
          assert.ok(m, 'no device in the printed fix');
          await iptInsertBefore(lab, 'nat', 'shellcrash', /-j REDIRECT/, [['-s', m[1]!, '-j', 'RETURN']]);
        },
      },
    ],
  },
  {
    mode: 'shellclash-allports',
    golden: 'shellclash-iptables-allports',
    tag: 'nfscl',
    label: /^ShellCrash \(ShellClash\)$/,
    tcpChain: 'clash',
    // 443 is in ShellClash's default multiport; the lab client's service port (8443) is not.
    lanPort: 443,
    otherOwnMac: true,
    fixes: SHELLCLASH_FIXES,
  },
  {
    mode: 'nikki-tun',
    golden: 'nikki-tun',
    tag: 'nfnkt',
    label: /^nikki$/,
    tcpChain: 'lan_tun',
    fixes: nikkiFixes('set'),
  },
  {
    mode: 'shellcrash-tproxy',
    golden: 'shellcrash-nft-tproxy-allports',
    tag: 'nfsct',
    label: /^ShellCrash$/,
    tcpChain: 'prerouting',
    fixes: shellcrashFixes('tproxy'),
  },
  {
    mode: 'nikki-redirect-tproxy',
    golden: 'nikki-redirect-tproxy',
    tag: 'nfnkrt',
    label: /^nikki$/,
    tcpChain: 'lan_redirect',
    fixes: nikkiFixes('set'),
  },
  {
    mode: 'openclash-fw3-mix',
    golden: 'openclash-fw3-mix',
    tag: 'nfoc3m',
    label: /^OpenClash/,
    tcpChain: 'openclash',
    fixes: openclashFixes('fw3', false),
  },
  {
    mode: 'passwall-tproxy',
    golden: 'passwall-nft-tproxy',
    tag: 'nfpwt',
    label: /^Passwall$/,
    tcpChain: null,
    udpChain: 'PSW_MANGLE',
    fixes: [
      {
        name: 'udp_redir_ports',
        repairs: ['udp'],
        perPort: true,
        apply: nftUdpRedirPorts('inet passwall', 'PSW_MANGLE', 'PSW_RULE'),
      },
    ],
  },
  {
    mode: 'passwall-fw3-tproxy',
    golden: 'passwall-fw3-tproxy',
    tag: 'nfpw3t',
    label: /^Passwall$/,
    tcpChain: null,
    udpChain: 'PSW',
    fixes: [
      { name: 'udp_redir_ports on iptables', repairs: ['udp'], perPort: true, apply: iptUdpRedirPorts('PSW', '默认') },
    ],
  },
  {
    mode: 'passwall2-fw3-tproxy',
    golden: 'passwall2-fw3-tproxy',
    tag: 'nfpw23t',
    label: /^Passwall2$/,
    tcpChain: null,
    udpChain: 'PSW2',
    fixes: [
      {
        name: 'udp_redir_ports on iptables (Passwall2)',
        repairs: ['udp'],
        perPort: true,
        apply: iptUdpRedirPorts('PSW2', 'Default'),
      },
    ],
  },
  {
    mode: 'openclash-fw3-tun',
    golden: 'openclash-fw3-tun',
    tag: 'nfoc3t',
    label: /^OpenClash/,
    tcpChain: 'openclash',
    fixes: [
      {
        name: 'lan_ac_traffic in fake-ip-tun on iptables (OpenClash 0.47.071: TCP and UDP into mangle openclash)',
        repairs: ['tcp', 'udp'],
        perPort: true,
        apply: async (lab, p) => {
          for (const line of [lineWith(p.tcp, 'lan_ac_traffic'), lineWith(p.udp, 'lan_ac_traffic')]) {
            const [e] = entriesOf(line);
            assert.ok(e, line);
            await must(lab, lab.ns.side, iptArgv(e, '0.47.071', 'proxy', true));
          }
        },
      },
      {
        name: 'lan_ac_black_ips in fake-ip-tun on iptables',
        repairs: ['tcp', 'udp'],
        perPort: false,
        apply: async (lab, p) => {
          const { line, off } = withBypassOff(p.tcp, 'lan_ac_black_ips');
          assert.equal(off, false, line);
          const host = option(line, 'openclash.config.lan_ac_black_ips');
          await must(lab, lab.ns.side, ['ipset', '-exist', 'create', 'lan_ac_black_ips', 'hash:net']);
          await must(lab, lab.ns.side, ['ipset', '-exist', 'add', 'lan_ac_black_ips', host]);
          await iptInsertBefore(lab, 'mangle', 'openclash', /-j openclash_upnp$/, [
            ['-m', 'set', '--match-set', 'lan_ac_black_ips', 'src', '-j', 'RETURN'],
          ]);
        },
      },
    ],
  },
];

for (const c of CASES) {
  const traits = MODE_TRAITS[c.mode];
  const protos: Proto[] = traits.udp ? ['tcp', 'udp'] : ['tcp'];
  describe(`native fixes, ${labName(c)}`, () => {
    let lab: Lab;
    const printed: Printed = { tcp: [], udp: [] };

    before(async () => {
      lab = await createLab({
        mode: c.mode,
        tag: c.tag,
        ...(c.bypassGatewayCompatible ? { bypassGatewayCompatible: true } : {}),
      });
      if (c.otherOwnMac) await otherWithOwnMac(lab);
      else await must(lab, lab.ns.server, ['ip', 'addr', 'add', `${OTHER}/24`, 'dev', 'eth0']);
      await nft(lab, watchTable(4, lab.addr.client, lab.lanDevice));
    });
    after(async () => {
      await lab?.destroy();
    });

    const what =
      c.tcpChain === null
        ? `without a fix the UDP forward breaks, TCP works, and replyguard names ${c.label.source} and chain ${c.udpChain} for UDP only`
        : `without a fix the forward breaks and replyguard names ${c.label.source} and chain ${c.tcpChain}`;
    it(what, async () => {
      const tls = await lab.tlsThroughForward({ timeoutMs: 2500 });
      assert.equal(tls.ok, c.tcpChain === null, `TLS through the forward: ${tls.detail}`);
      if (traits.udp) assert.equal((await lab.udpThroughForward({ timeoutMs: 1000 })).ok, false);
      const r = await evaluate(lab, 'tcp');
      if (c.tcpChain === null) {
        assert.equal(r.fate, 'passes', `replyguard's model, tcp: ${r.rule?.text}`);
        const u = await evaluate(lab, 'udp');
        assert.equal(u.fate, 'proxied');
        assert.match(u.proxy?.label ?? '', c.label);
        assert.equal(u.rule?.chain, c.udpChain);
        printed.udp = await printedFor(lab, 'udp');
        assert.ok(printed.udp.length > 0);
        return;
      }
      assert.equal(r.fate, 'proxied');
      assert.match(r.proxy?.label ?? '', c.label);
      assert.equal(r.rule?.chain, c.tcpChain);
      printed.tcp = await printedFor(lab, 'tcp');
      if (traits.udp) printed.udp = await printedFor(lab, 'udp');
      assert.ok(printed.tcp.length > 0);
    });

    it(`test/golden/rulesets/${c.golden}/SOURCE.md cites where upstream writes each of these fixes`, () => {
      const source = readFileSync(join(__dirname, '..', 'golden', 'rulesets', c.golden, 'SOURCE.md'), 'utf8');
      const proofs = FIX_PROOFS[c.golden];
      assert.ok(proofs && source.includes(proofs), 'SOURCE.md is regenerate.ts output with FIX_PROOFS');
      assert.ok(proofs.includes(`lab mode \`${labName(c)}\``));
    });

    for (const fix of c.fixes) {
      const works = fix.repairs.length > 0;
      it(`${fix.name}: ${works ? "the forward works, the LAN's own traffic stays proxied" : 'the forward stays broken'}`, async (t) => {
        assert.ok(printed.tcp.length + printed.udp.length > 0, 'the printed fixes (first test)');
        await lab.reloadProxyRules();
        await fix.apply(lab, printed);
        // Where the mode spares the TCP replies, TCP works with every fix.
        const passes = (proto: Proto) => (proto === 'tcp' && c.tcpChain === null) || fix.repairs.includes(proto);
        const tls = await lab.tlsThroughForward({ timeoutMs: passes('tcp') ? 3000 : 2500 });
        assert.equal(tls.ok, passes('tcp'), `TLS through the forward: ${tls.detail}`);
        if (traits.udp) {
          const udp = await lab.udpThroughForward({ timeoutMs: fix.repairs.includes('udp') ? 3000 : 1000 });
          assert.equal(udpWorks(lab, udp), fix.repairs.includes('udp'), `UDP through the forward: ${udp.detail}`);
        }
        assert.ok(await tcpProxied(lab, c.mode, OTHER, c.lanPort), 'TCP of another LAN host still reaches the proxy');
        assert.equal(await tcpProxied(lab, c.mode, lab.addr.server, c.lanPort), fix.perPort, "the server's own TCP");
        if (traits.udp) {
          assert.ok(await udpProxied(lab, OTHER), 'UDP of another LAN host still goes to the proxy');
          assert.equal(await udpProxied(lab, lab.addr.server), fix.perPort, "the server's own UDP");
        }
        // replyguard's model agrees both ways: the repaired replies pass, the others do not.
        for (const proto of protos) {
          const r = await evaluate(lab, proto);
          if (fix.modelBlindToMac && passes(proto)) {
            assert.equal(r.fate, 'proxied', `replyguard's model, ${proto}`);
            assert.equal(r.certain, false, `replyguard's model, ${proto}: not certain`);
            assert.ok(
              r.evaluation.reasons.some((x) => x.includes('source MAC address is not known')),
              r.evaluation.reasons.join('\n'),
            );
            continue;
          }
          assert.equal(r.fate === 'passes', passes(proto), `replyguard's model, ${proto}: ${r.fate}`);
        }
        t.diagnostic(`${labName(c)}: ${fix.name} ${works ? 'proven' : 'shown not to repair'}`);
      });
    }
  });
}
