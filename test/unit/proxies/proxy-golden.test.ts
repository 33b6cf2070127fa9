// The fixtures re-stated from the proxies' current source (each folder's SOURCE.md names the line of
// every rule): which proxy and mode replyguard recognises, which rule takes the replies of a server
// 192.168.1.10 (TCP 443 as "nas", UDP 51820 as "wg") to an outside peer, and the fixes in the order
// they are printed. Also: every chain a port hint names without a ruleset is one these fixtures hold,
// redirecting to that port.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { proxyHintForPort } from '../../../src/detector/proxy-hints';
import { evaluateReply, replyFixes } from '../../../src/detector/rule-attribution';
import { recognizeProxies } from '../../../src/ruleset/recognize-proxy';
import { makeSnapshot } from '../../../src/ruleset/ruleset-snapshot';
import { readDumpDir } from '../../../src/sensors/ruleset-reader';

const DIR = join(__dirname, '..', '..', 'golden', 'rulesets');
const snapshot = (name: string) => makeSnapshot(readDumpDir(join(DIR, name)));

/** How a fix line begins: the proxy's own option, the generic guard, the sysctl, the gateway. */
function kindOf(line: string): string {
  if (line.startsWith('Generic guard')) return 'guard';
  if (line.startsWith('Or stop conntrack')) return 'sysctl';
  if (line.startsWith('Or remove the asymmetry')) return 'gateway';
  if (line.startsWith('OpenClash: add a Lan Traffic Access List')) return 'lan_ac_traffic';
  if (line.startsWith('Or, in OpenClash redir-host mode')) return 'common_ports';
  if (line.startsWith('Or bypass the server entirely')) return 'lan_ac_black_ips';
  return line.split(':')[0]!; // "nikki", "Passwall2", …
}

interface Reply {
  /** fate, the packet taken, chain#position of the responsible rule */
  taken: string;
  fixes: string[];
}

const OC_TCP_REDIRECT: Reply = {
  taken: 'proxied ack openclash#4',
  fixes: ['lan_ac_traffic', 'common_ports', 'lan_ac_black_ips', 'guard', 'sysctl', 'gateway'],
};
const OC_UDP_TPROXY: Reply = {
  taken: 'proxied udp openclash_mangle#5',
  fixes: ['lan_ac_traffic', 'lan_ac_black_ips', 'guard', 'gateway'],
};

/** TPROXY or a TUN mark in one rule: the SYN-ACK itself and UDP are taken there, with the same fixes. */
function takenBoth(rule: string, fixes: string[]): { tcp: Reply; udp: Reply } {
  return { tcp: { taken: `proxied synack ${rule}`, fixes }, udp: { taken: `proxied udp ${rule}`, fixes } };
}

const EXPECTED: Record<string, { proxy: string; tcp: Reply | 'passes'; udp: Reply | 'passes' }> = {
  'openclash-fw4-fakeip': { proxy: 'OpenClash (fw4) redirect + tproxy', tcp: OC_TCP_REDIRECT, udp: OC_UDP_TPROXY },
  // 0.46.068: no `ct direction reply` return; the same catch-all rules take the replies, the same fixes.
  'openclash-fw4-0.46-fakeip': {
    proxy: 'OpenClash (fw4) redirect + tproxy',
    tcp: { ...OC_TCP_REDIRECT, taken: 'proxied ack openclash#3' },
    udp: { ...OC_UDP_TPROXY, taken: 'proxied udp openclash_mangle#6' },
  },
  // redir-host with common_ports: the replies' destination (the client's port) is not a common port.
  'openclash-fw4-redirhost-common-ports': { proxy: 'OpenClash (fw4) redirect + tproxy', tcp: 'passes', udp: 'passes' },
  'openclash-fw4-tun': {
    proxy: 'OpenClash (fw4) tun',
    tcp: {
      taken: 'proxied synack openclash_mangle#7',
      fixes: ['lan_ac_traffic', 'lan_ac_black_ips', 'guard', 'gateway'],
    },
    udp: { taken: 'proxied udp openclash_mangle#7', fixes: ['lan_ac_traffic', 'lan_ac_black_ips', 'guard', 'gateway'] },
  },
  'openclash-fw4-mix': {
    proxy: 'OpenClash (fw4) mix (TCP redirect, UDP TUN)',
    tcp: OC_TCP_REDIRECT,
    udp: { taken: 'proxied udp openclash_mangle#7', fixes: ['lan_ac_traffic', 'lan_ac_black_ips', 'guard', 'gateway'] },
  },
  'openclash-fw4-bypass-gateway-compatible': {
    proxy: 'OpenClash (fw4) redirect + tproxy',
    tcp: OC_TCP_REDIRECT,
    udp: OC_UDP_TPROXY,
  },
  'openclash-fw4-china-ip-route-8k': {
    proxy: 'OpenClash (fw4) redirect + tproxy',
    tcp: { ...OC_TCP_REDIRECT, taken: 'proxied ack openclash#5' },
    udp: { ...OC_UDP_TPROXY, taken: 'proxied udp openclash_mangle#6' },
  },
  // IPv6 on: the IPv4 rules are the fake-ip fixture's (the IPv6 replies are below).
  'openclash-fw4-ipv6-tproxy': { proxy: 'OpenClash (fw4) redirect + tproxy', tcp: OC_TCP_REDIRECT, udp: OC_UDP_TPROXY },
  'openclash-fw4-ipv6-redirect': {
    proxy: 'OpenClash (fw4) redirect + tproxy',
    tcp: OC_TCP_REDIRECT,
    udp: OC_UDP_TPROXY,
  },
  nikki: {
    proxy: 'nikki mix (TCP redirect, UDP TUN)',
    tcp: { taken: 'proxied ack lan_redirect#1', fixes: ['nikki', 'guard', 'sysctl', 'gateway'] },
    udp: { taken: 'proxied udp lan_tun#2', fixes: ['nikki', 'guard', 'gateway'] },
  },
  // proxy_mode tun with routing_port common: the mark chain returns replies to the client's (uncommon) port.
  'homeproxy-tun': { proxy: 'homeproxy tun', tcp: 'passes', udp: 'passes' },
  // Defaults (redirect_tproxy, routing_port common): the redirect and TPROXY port chains return replies to the client's port.
  homeproxy: { proxy: 'homeproxy redirect + tproxy', tcp: 'passes', udp: 'passes' },
  // redirect_tun: TCP redirect, UDP marked for singtun0; routing_port common returns both before they are taken.
  'homeproxy-redirect-tun': { proxy: 'homeproxy mix (TCP redirect, UDP TUN)', tcp: 'passes', udp: 'passes' },
  // tcp_mode and udp_mode tun: both marked 0x81 in lan_tun (proxy_dport 0-65535 lets every reply through to it).
  'nikki-tun': { proxy: 'nikki tun', ...takenBoth('lan_tun#2', ['nikki', 'guard', 'gateway']) },
  // tcp_mode redirect, udp_mode tproxy: TCP as in the defaults, UDP by TPROXY in lan_tproxy.
  'nikki-redirect-tproxy': {
    proxy: 'nikki redirect + tproxy',
    tcp: { taken: 'proxied ack lan_redirect#1', fixes: ['nikki', 'guard', 'sysctl', 'gateway'] },
    udp: { taken: 'proxied udp lan_tproxy#2', fixes: ['nikki', 'guard', 'gateway'] },
  },
  // ShellCrash's modes with its defaults: common ports on, so prerouting returns the replies (to the client's port)
  // before the mode's JUMP, whichever it is.
  'shellcrash-nft': { proxy: 'ShellCrash redirect', tcp: 'passes', udp: 'passes' },
  'shellcrash-nft-tproxy': { proxy: 'ShellCrash tproxy', tcp: 'passes', udp: 'passes' },
  'shellcrash-nft-tun': { proxy: 'ShellCrash tun', tcp: 'passes', udp: 'passes' },
  'shellcrash-nft-mix': { proxy: 'ShellCrash mix (TCP redirect, UDP TUN)', tcp: 'passes', udp: 'passes' },
  // Tproxy with common ports off: the JUMP's TPROXY takes the SYN-ACK itself, and UDP.
  'shellcrash-nft-tproxy-allports': {
    proxy: 'ShellCrash tproxy',
    ...takenBoth('prerouting#9', ['ShellCrash', 'guard', 'gateway']),
  },
  // ShellClash (ShellCrash's name before its rename) on iptables, its default: chains clash and clash_dns. With its
  // defaults the REDIRECT carries common_ports' multiport, which the replies' client port misses; with common ports
  // off the REDIRECT takes the replies' first ACK (UDP has no rule but DNS).
  'shellclash-iptables': { proxy: 'ShellCrash (ShellClash) redirect', tcp: 'passes', udp: 'passes' },
  'shellclash-iptables-allports': {
    proxy: 'ShellCrash (ShellClash) redirect',
    tcp: {
      taken: 'proxied ack clash#9',
      fixes: ['ShellClash (ShellCrash before its rename)', 'guard', 'sysctl', 'gateway'],
    },
    udp: 'passes',
  },
  // fw3, fake-ip: nat openclash REDIRECTs every TCP port, mangle openclash TPROXYs UDP.
  'openclash-fw3-fakeip': {
    proxy: 'OpenClash (fw3) redirect + tproxy',
    tcp: OC_TCP_REDIRECT,
    udp: { ...OC_UDP_TPROXY, taken: 'proxied udp openclash#5' },
  },
  // fw3 with IPv6 on (ipv6_mode 0): the IPv4 rules are fake-ip's (the IPv6 replies are below).
  'openclash-fw3-ipv6': {
    proxy: 'OpenClash (fw3) redirect + tproxy',
    tcp: OC_TCP_REDIRECT,
    udp: { ...OC_UDP_TPROXY, taken: 'proxied udp openclash#5' },
  },
  // fw3, redir-host with common_ports off (the default): as fake-ip, less the fake-ip TPROXY rule before the catch-all.
  'openclash-fw3-redirhost': {
    proxy: 'OpenClash (fw3) redirect + tproxy',
    tcp: OC_TCP_REDIRECT,
    udp: { ...OC_UDP_TPROXY, taken: 'proxied udp openclash#4' },
  },
  // fw3, fake-ip-tun: no nat chains; mangle openclash marks TCP and UDP for utun, so the SYN-ACK itself is taken.
  'openclash-fw3-tun': {
    proxy: 'OpenClash (fw3) tun',
    ...takenBoth('openclash#6', ['lan_ac_traffic', 'lan_ac_black_ips', 'guard', 'gateway']),
  },
  // tcp_mode and udp_mode tproxy: the SYN-ACK itself is taken (TPROXY in mangle, every destination port by default).
  'nikki-tproxy-ipv6': {
    proxy: 'nikki tproxy',
    tcp: { taken: 'proxied synack lan_tproxy#2', fixes: ['nikki', 'guard', 'gateway'] },
    udp: { taken: 'proxied udp lan_tproxy#2', fixes: ['nikki', 'guard', 'gateway'] },
  },
  // TPROXY with the port list of the earlier default: TCP replies (to the client's port) pass.
  'passwall2-nft': {
    proxy: 'Passwall2 tproxy',
    tcp: 'passes',
    udp: { taken: 'proxied udp PSW2_MANGLE#9', fixes: ['Passwall2', 'guard', 'gateway'] },
  },
  // Today's defaults: TCP REDIRECT of every port takes the replies.
  'passwall2-nft-redirect': {
    proxy: 'Passwall2 redirect + tproxy',
    tcp: { taken: 'proxied ack PSW2_NAT#4', fixes: ['Passwall2', 'guard', 'sysctl', 'gateway'] },
    udp: { taken: 'proxied udp PSW2_MANGLE#6', fixes: ['Passwall2', 'guard', 'gateway'] },
  },
  // The 25.11.14 release's defaults (REDIRECT of a port list): TCP replies pass, UDP is taken after the [Local] rules.
  'passwall2-nft-25.11': {
    proxy: 'Passwall2 redirect + tproxy',
    tcp: 'passes',
    udp: { taken: 'proxied udp PSW2_MANGLE#9', fixes: ['Passwall2', 'guard', 'gateway'] },
  },
  // Passwall on fw3 (iptables.sh): REDIRECT of the port list, so TCP replies pass; UDP TPROXY in mangle PSW.
  'passwall-fw3': {
    proxy: 'Passwall redirect + tproxy',
    tcp: 'passes',
    udp: { taken: 'proxied udp PSW#19', fixes: ['Passwall', 'guard', 'gateway'] },
  },
  // tcp_proxy_way tproxy (nftables.sh / iptables.sh): TCP goes to the mangle chain, but PSW_RULE marks only a bare SYN
  // (nftables.sh 1055 `== syn`, iptables.sh 1034 `--tcp-flags FIN,SYN,RST,ACK SYN`) and the TPROXY takes only what is
  // marked, so the SYN-ACK and every later TCP reply pass, whatever tcp_redir_ports; UDP as in redirect mode.
  'passwall-nft-tproxy': {
    proxy: 'Passwall tproxy',
    tcp: 'passes',
    udp: { taken: 'proxied udp PSW_MANGLE#28', fixes: ['Passwall', 'guard', 'gateway'] },
  },
  'passwall-fw3-tproxy': {
    proxy: 'Passwall tproxy',
    tcp: 'passes',
    udp: { taken: 'proxied udp PSW#32', fixes: ['Passwall', 'guard', 'gateway'] },
  },
  // fw3, fake-ip-mix: TCP as in fake-ip (nat openclash REDIRECT), UDP marked 0x162 for utun in mangle openclash.
  'openclash-fw3-mix': {
    proxy: 'OpenClash (fw3) mix (TCP redirect, UDP TUN)',
    tcp: OC_TCP_REDIRECT,
    udp: { taken: 'proxied udp openclash#7', fixes: ['lan_ac_traffic', 'lan_ac_black_ips', 'guard', 'gateway'] },
  },
  // fw3 (iptables.sh), today's defaults: TCP REDIRECT of every port in nat PSW2, UDP TPROXY in mangle PSW2.
  'passwall2-fw3': {
    proxy: 'Passwall2 redirect + tproxy',
    tcp: { taken: 'proxied ack PSW2#5', fixes: ['Passwall2', 'guard', 'sysctl', 'gateway'] },
    udp: { taken: 'proxied udp PSW2#10', fixes: ['Passwall2', 'guard', 'gateway'] },
  },
  // fw3, tcp_proxy_way tproxy: TCP into mangle PSW2 too, but PSW2_RULE marks only an exact SYN (`--syn`) and the
  // TPROXY takes only what is marked, so the TCP replies pass; UDP is taken after the [Local] rules, as in redirect mode.
  'passwall2-fw3-tproxy': {
    proxy: 'Passwall2 tproxy',
    tcp: 'passes',
    udp: { taken: 'proxied udp PSW2#15', fixes: ['Passwall2', 'guard', 'gateway'] },
  },
};

describe('upstream-derived fixtures: recognition, responsible rule, fix list', () => {
  for (const [name, want] of Object.entries(EXPECTED)) {
    it(name, () => {
      const s = snapshot(name);
      const proxies = recognizeProxies(s.ruleset);
      assert.deepEqual(
        proxies.map((p) => `${p.label} ${p.mode}`),
        [want.proxy],
      );
      for (const [proto, port, forward] of [
        ['tcp', 443, 'nas'],
        ['udp', 51820, 'wg'],
      ] as const) {
        const r = evaluateReply(
          s,
          { proto, server: '192.168.1.10', port, peer: '93.184.216.34', peerPort: 40000 },
          proxies,
        );
        assert.ok(typeof r !== 'string', String(r));
        const expected = want[proto];
        if (expected === 'passes') {
          assert.equal(r.fate, 'passes', `${proto}: ${r.rule?.text}`);
          continue;
        }
        assert.equal(`${r.fate} ${r.packet} ${r.rule?.chain}#${r.rule?.position}`, expected.taken, proto);
        assert.equal(
          r.proxy?.label,
          want.proxy
            .split(' ')
            .slice(0, /^\S+ \(/.test(want.proxy) ? 2 : 1) // "OpenClash (fw4)", "ShellCrash (ShellClash)"
            .join(' '),
        );
        const fixes = replyFixes(r, '192.168.1.10', port, proto, forward).map((x) => x.text);
        assert.deepEqual(fixes.map(kindOf), expected.fixes, fixes.join('\n'));
        // The generic guard goes into the very chain that takes the replies.
        const guard = fixes.find((l) => l.startsWith('Generic guard'))!;
        assert.ok(guard.includes(` ${r.rule?.chain} `), guard);
      }
    });
  }

  it("Passwall2's fix names the page its global_forwarding section is on (Other Settings, not Basic Settings)", () => {
    // openwrt-passwall2 7d7dd9b6: luasrc/controller/passwall2.lua:40, model/cbi/passwall2/client/other.lua:61, 91.
    const s = snapshot('passwall2-fw3-tproxy');
    const q = { proto: 'udp', server: '192.168.1.10', port: 51820, peer: '93.184.216.34', peerPort: 40000 } as const;
    const r = evaluateReply(s, q, recognizeProxies(s.ruleset));
    assert.ok(typeof r !== 'string', String(r));
    const line = replyFixes(r, '192.168.1.10', 51820, 'udp', 'wg')
      .map((x) => x.text)
      .find((l) => l.startsWith('Passwall2:'));
    assert.match(line ?? '', /udp_redir_ports='53,443'.*\(LuCI: Passwall2 → Other Settings → Forwarding Settings;/);
  });

  it("OpenClash with IPv6 on: a v6 forward's replies are taken in openclash_mangle_v6 / openclash_v6 (init.d/openclash 2024-2141)", () => {
    // The lab's prefixes: server 2001:db8:50::10; the peer outside 2001:db8::/32, which localnetwork6 returns early for.
    const server = '2001:db8:50::10';
    const cases: Record<string, Record<'tcp' | 'udp', Reply>> = {
      // ipv6_mode 0: TProxy for TCP too, so the SYN-ACK itself is taken.
      'openclash-fw4-ipv6-tproxy': {
        tcp: {
          taken: 'proxied synack openclash_mangle_v6#7',
          fixes: ['lan_ac_traffic', 'lan_ac_black_ips', 'guard', 'gateway'],
        },
        udp: {
          taken: 'proxied udp openclash_mangle_v6#8',
          fixes: ['lan_ac_traffic', 'lan_ac_black_ips', 'guard', 'gateway'],
        },
      },
      // ipv6_mode 1: TCP REDIRECT in openclash_v6 picks up the mid-stream ACK.
      'openclash-fw4-ipv6-redirect': {
        // common_ports and the LAN blacklist reach openclash_v6 too (2033, 2042-2043).
        tcp: { ...OC_TCP_REDIRECT, taken: 'proxied ack openclash_v6#4' },
        udp: {
          taken: 'proxied udp openclash_mangle_v6#5',
          fixes: ['lan_ac_traffic', 'lan_ac_black_ips', 'guard', 'gateway'],
        },
      },
    };
    for (const [name, want] of Object.entries(cases)) {
      const s = snapshot(name);
      const proxies = recognizeProxies(s.ruleset);
      for (const [proto, port, forward] of [
        ['tcp', 443, 'nas'],
        ['udp', 51820, 'wg'],
      ] as const) {
        const r = evaluateReply(s, { proto, server, port, peer: '3fff:ffff::7', peerPort: 40000 }, proxies);
        assert.ok(typeof r !== 'string', String(r));
        assert.equal(
          `${r.fate} ${r.packet} ${r.rule?.chain}#${r.rule?.position}`,
          want[proto].taken,
          `${name} ${proto}`,
        );
        assert.equal(r.proxy?.label, 'OpenClash (fw4)');
        const fixes = replyFixes(r, server, port, proto, forward).map((x) => x.text);
        assert.deepEqual(fixes.map(kindOf), want[proto].fixes, fixes.join('\n'));
        // The entry is for IPv6 (firewall_lan_ac_traffic, 974-990: family ipv6 goes into the _v6 chains).
        assert.match(fixes[0]!, /src_ip='2001:db8:50::10'.*family='ipv6'/);
        const guard = fixes.find((l) => l.startsWith('Generic guard'))!;
        assert.ok(guard.includes(` ${r.rule?.chain} `), guard);
      }
    }
  });

  it("OpenClash on fw3 with IPv6 on: ip6tables mangle openclash TPROXYs a v6 forward's replies (init.d/openclash 2907-2975); only the guard and gateway fixes", () => {
    // ipv6_mode 0 (the default): no ip6tables nat chain of OpenClash's, TCP and UDP both TPROXYed in mangle
    // openclash after the localnetwork6 and reply returns and the two fake-ip TPROXY rules (2910-2923); the catch-alls
    // 2960 (TCP, so the SYN-ACK itself) and 2971 (UDP) take the replies. OpenClash's own fixes are not proven for
    // ip6tables (ipv6FixesProven), so none is printed: no Lan Traffic Access List entry, no blacklist.
    const s = snapshot('openclash-fw3-ipv6');
    const proxies = recognizeProxies(s.ruleset);
    const server = '2001:db8:50::10';
    const want = {
      tcp: 'proxied synack ip6 mangle openclash#5 ip6tables',
      udp: 'proxied udp ip6 mangle openclash#6 ip6tables',
    };
    for (const [proto, port, forward] of [
      ['tcp', 443, 'nas6'],
      ['udp', 51820, 'wg6'],
    ] as const) {
      const r = evaluateReply(s, { proto, server, port, peer: '3fff:ffff::7', peerPort: 40000 }, proxies);
      assert.ok(typeof r !== 'string', String(r));
      assert.equal(
        `${r.fate} ${r.packet} ${r.rule?.table} ${r.rule?.chain}#${r.rule?.position} ${r.rule?.backend}`,
        want[proto],
      );
      assert.match(
        r.rule?.text ?? '',
        new RegExp(`-p ${proto} -m comment --comment OpenClash ${proto.toUpperCase()} Tproxy -j TPROXY`),
      );
      assert.equal(r.proxy?.label, 'OpenClash (fw3)');
      const fixes = replyFixes(r, server, port, proto, forward).map((x) => x.text);
      assert.deepEqual(fixes.map(kindOf), ['guard', 'gateway'], fixes.join('\n'));
      assert.ok(!fixes.some((l) => /openclash\.|uci /.test(l)), fixes.join('\n'));
      const guard = fixes[0]!;
      // In the chain that takes the replies, with ip6tables (TCP: the invalid/mid-stream returns, UDP: by name).
      assert.ok(guard.includes('ip6tables -t mangle -I openclash 1 '), guard);
      if (proto === 'udp') assert.ok(guard.includes('-s 2001:db8:50::10 -p udp --sport 51820'), guard);
      // The IPv4 server behind the same ruleset keeps OpenClash's own fixes.
      const v4 = evaluateReply(
        s,
        { proto, server: '192.168.1.10', port, peer: '93.184.216.34', peerPort: 40000 },
        proxies,
      );
      assert.ok(typeof v4 !== 'string');
      assert.equal(
        replyFixes(v4, '192.168.1.10', port, proto, forward)[0]?.text.startsWith(
          'OpenClash: add a Lan Traffic Access List',
        ),
        true,
      );
    }
  });

  it('nikki in TPROXY mode takes IPv6 replies too (proxy_nfproto { ipv4, ipv6 }, hijack.ut 427)', () => {
    const s = snapshot('nikki-tproxy-ipv6');
    const proxies = recognizeProxies(s.ruleset);
    for (const [proto, port, forward] of [
      ['tcp', 443, 'nas'],
      ['udp', 51820, 'wg'],
    ] as const) {
      const r = evaluateReply(
        s,
        { proto, server: '2001:db8:50::10', port, peer: '3fff:ffff::7', peerPort: 40000 },
        proxies,
      );
      assert.ok(typeof r !== 'string', String(r));
      assert.equal(
        `${r.fate} ${r.packet} ${r.rule?.chain}#${r.rule?.position}`,
        `proxied ${proto === 'tcp' ? 'synack' : 'udp'} lan_tproxy#2`,
      );
      const fixes = replyFixes(r, '2001:db8:50::10', port, proto, forward).map((x) => x.text);
      assert.deepEqual(fixes.map(kindOf), ['nikki', 'guard', 'gateway'], fixes.join('\n'));
      assert.ok(fixes.find((l) => l.startsWith('Generic guard'))!.includes(' lan_tproxy '));
    }
  });

  it("OpenClash's lan_ac_traffic entry lands in the chain that takes the replies (init.d/openclash firewall_lan_ac_traffic)", () => {
    // v0.47.071 lines 953-967: no TUN or mix — TCP into openclash, UDP into openclash_mangle; TUN — both into openclash_mangle.
    // fw3, 1043-1059: no TUN, or mix — TCP into nat openclash, UDP into mangle openclash; TUN — both into mangle openclash.
    const where: Record<string, Record<'tcp' | 'udp', string>> = {
      'openclash-fw4-fakeip': { tcp: 'inet fw4 openclash', udp: 'inet fw4 openclash_mangle' },
      // 0.46.068, 846-852: the same chains.
      'openclash-fw4-0.46-fakeip': { tcp: 'inet fw4 openclash', udp: 'inet fw4 openclash_mangle' },
      'openclash-fw4-mix': { tcp: 'inet fw4 openclash', udp: 'inet fw4 openclash_mangle' },
      'openclash-fw4-tun': { tcp: 'inet fw4 openclash_mangle', udp: 'inet fw4 openclash_mangle' },
      'openclash-fw3-fakeip': { tcp: 'ip nat openclash', udp: 'ip mangle openclash' },
      'openclash-fw3-redirhost': { tcp: 'ip nat openclash', udp: 'ip mangle openclash' },
      'openclash-fw3-tun': { tcp: 'ip mangle openclash', udp: 'ip mangle openclash' },
      'openclash-fw3-mix': { tcp: 'ip nat openclash', udp: 'ip mangle openclash' },
    };
    for (const [name, chains] of Object.entries(where)) {
      const s = snapshot(name);
      const proxies = recognizeProxies(s.ruleset);
      for (const proto of ['tcp', 'udp'] as const) {
        const r = evaluateReply(
          s,
          { proto, server: '192.168.1.10', port: 443, peer: '93.184.216.34', peerPort: 40000 },
          proxies,
        );
        assert.ok(typeof r !== 'string');
        assert.equal(`${r.rule?.table} ${r.rule?.chain}`, chains[proto], `${name} ${proto}`);
      }
    }
  });
});

describe('port hints name only chains the proxies write', () => {
  /** Which fixture holds each hinted chain (proxy, firewall) → fixture. */
  const HOLDER: Record<string, string> = {
    'OpenClash fw4': 'openclash-fw4-fakeip',
    'OpenClash fw3': 'openclash-fw3-fakeip',
    'ShellCrash fw4': 'shellcrash-nft',
    'ShellCrash fw3': 'shellcrash-iptables',
    'ShellCrash (ShellClash) fw3': 'shellclash-iptables-allports',
    'Passwall fw4': 'passwall-nft',
    'Passwall fw3': 'passwall-fw3',
    'Passwall2 fw4': 'passwall2-nft-redirect',
    'Passwall2 fw3': 'passwall2-fw3',
    'homeproxy fw4': 'homeproxy',
    'nikki fw4': 'nikki',
  };
  /** Hinted chains no fixture holds yet. */
  const NO_FIXTURE: string[] = [];

  it('every hinted chain exists in its fixture and redirects to the hinted port', () => {
    const missing: string[] = [];
    for (const port of [7892, 7874, 1041, 5331, 7891]) {
      for (const c of proxyHintForPort(port)?.natChains ?? []) {
        const holder = HOLDER[`${c.proxy} ${c.firewall}`];
        if (!holder) {
          missing.push(`${c.proxy} ${c.firewall} ${c.table} ${c.chain}`);
          continue;
        }
        const rs = snapshot(holder).ruleset;
        // iptables tables load as "ip nat"; nft tables keep their family.
        const table = rs.tables.find((t) => `${t.family} ${t.name}` === c.table || t.name === c.table);
        const chain = table?.chains.find((ch) => ch.name === c.chain);
        assert.ok(chain, `${c.proxy} ${c.firewall}: no chain ${c.table} ${c.chain} in ${holder}`);
        assert.ok(
          chain.rules.some((r) => r.ops.some((op) => op.kind === 'redirect' && op.port === port)),
          `${c.table} ${c.chain} in ${holder} does not redirect to :${port}`,
        );
      }
    }
    assert.deepEqual(missing, NO_FIXTURE);
  });
});
