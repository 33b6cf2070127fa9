// Every golden ruleset fixture: which proxy is recognised, and what `explain`
// says for (a) a LAN server's reply to a public peer, (b) a LAN client's new
// connection to a public site, (c) traffic to a private address, (d) a UDP reply.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type ExplainRequest, explainPacket } from '../../../src/ruleset/explain-text';
import { recognizeProxies } from '../../../src/ruleset/recognize-proxy';
import { makeSnapshot, type RulesetSnapshot } from '../../../src/ruleset/ruleset-snapshot';
import { readDumpDir } from '../../../src/sensors/ruleset-reader';

const DIR = join(__dirname, '..', '..', 'golden', 'rulesets');

export function fixture(name: string): RulesetSnapshot {
  return makeSnapshot(readDumpDir(join(DIR, name)));
}

const REQ: Record<'a' | 'b' | 'c' | 'd', ExplainRequest> = {
  // Public peers outside the documentation ranges: homeproxy's reserved set holds those. No traffic is sent.
  a: { proto: 'tcp', src: '192.168.1.10', sport: 443, dst: '93.184.216.34', dport: 40000 },
  b: { proto: 'tcp', src: '192.168.1.20', sport: 50000, dst: '151.101.1.69', dport: 443, flags: 'syn' },
  c: { proto: 'tcp', src: '192.168.1.20', sport: 50000, dst: '192.168.1.10', dport: 443, flags: 'syn' },
  d: { proto: 'udp', src: '192.168.1.10', sport: 51820, dst: '93.184.216.34', dport: 40000 },
};

/** verdict, how (kind:port|device), responsible "chain#position" (null = no rule took it). */
type Expect = [verdict: string, how: string | null, responsible: string | null];

interface Case {
  proxy: {
    name: string;
    mode: string;
    redirect?: number[];
    tproxy?: number[];
    marks?: string[];
    features?: string[];
  } | null;
  a: Expect;
  b: Expect;
  c: Expect;
  d: Expect;
  /** The flags explain picks by default for (a). */
  aFlags?: string;
}

const OC_TCP: Pick<Case, 'a' | 'b' | 'c'> = {
  a: ['proxied', 'redirect:7892', 'openclash#4'],
  b: ['proxied', 'redirect:7892', 'openclash#4'],
  c: ['forwarded', null, 'openclash#1'],
};

const CASES: Record<string, Case> = {
  'openclash-fw4-fakeip': {
    proxy: { name: 'openclash', mode: 'redirect + tproxy', redirect: [7892], tproxy: [7895], marks: ['0x162'] },
    ...OC_TCP,
    d: ['proxied', 'tproxy:7895', 'openclash_mangle#5'],
  },
  // 0.46.068: no `ct direction reply` return, so the catch-all redirect is rule 3 and the TPROXY rule 6 (after the
  // loopback and DNS returns).
  'openclash-fw4-0.46-fakeip': {
    proxy: {
      name: 'openclash',
      mode: 'redirect + tproxy',
      redirect: [7892],
      tproxy: [7895],
      marks: ['0x162'],
      features: ['no ct direction reply return (OpenClash before 0.46.069)'],
    },
    a: ['proxied', 'redirect:7892', 'openclash#3'],
    b: ['proxied', 'redirect:7892', 'openclash#3'],
    c: ['forwarded', null, 'openclash#1'],
    d: ['proxied', 'tproxy:7895', 'openclash_mangle#6'],
  },
  // IPv6 on: the IPv4 walk is the fake-ip fixture's.
  'openclash-fw4-ipv6-tproxy': {
    proxy: { name: 'openclash', mode: 'redirect + tproxy', redirect: [7892], tproxy: [7895], marks: ['0x162'] },
    ...OC_TCP,
    d: ['proxied', 'tproxy:7895', 'openclash_mangle#5'],
  },
  'openclash-fw4-ipv6-redirect': {
    proxy: { name: 'openclash', mode: 'redirect + tproxy', redirect: [7892], tproxy: [7895], marks: ['0x162'] },
    ...OC_TCP,
    d: ['proxied', 'tproxy:7895', 'openclash_mangle#5'],
  },
  'openclash-fw4-redirhost-common-ports': {
    proxy: { name: 'openclash', mode: 'redirect + tproxy', features: ['common_ports (redir-host)'] },
    a: ['forwarded', null, 'openclash#4'],
    b: ['proxied', 'redirect:7892', 'openclash#5'],
    c: ['forwarded', null, 'openclash#1'],
    d: ['forwarded', null, 'openclash_mangle#3'],
  },
  'openclash-fw4-tun': {
    proxy: { name: 'openclash', mode: 'tun', marks: ['0x162'] },
    a: ['proxied', 'tun:utun', 'openclash_mangle#7'],
    aFlags: 'synack',
    b: ['proxied', 'tun:utun', 'openclash_mangle#7'],
    c: ['forwarded', null, 'openclash_mangle#2'],
    d: ['proxied', 'tun:utun', 'openclash_mangle#7'],
  },
  'openclash-fw4-mix': {
    proxy: { name: 'openclash', mode: 'mix (TCP redirect, UDP TUN)', redirect: [7892] },
    ...OC_TCP,
    d: ['proxied', 'tun:utun', 'openclash_mangle#7'],
  },
  'openclash-fw4-bypass-gateway-compatible': {
    proxy: { name: 'openclash', mode: 'redirect + tproxy', features: ['bypass_gateway_compatible'] },
    ...OC_TCP,
    d: ['proxied', 'tproxy:7895', 'openclash_mangle#5'],
  },
  'openclash-fw4-china-ip-route-8k': {
    proxy: { name: 'openclash', mode: 'redirect + tproxy', features: ['china_ip_route'] },
    a: ['proxied', 'redirect:7892', 'openclash#5'],
    b: ['proxied', 'redirect:7892', 'openclash#5'],
    c: ['forwarded', null, 'openclash#1'],
    d: ['proxied', 'tproxy:7895', 'openclash_mangle#6'],
  },
  'openclash-fw3-fakeip': {
    proxy: { name: 'openclash', mode: 'redirect + tproxy', redirect: [7892], tproxy: [7895], marks: ['0x162'] },
    a: ['proxied', 'redirect:7892', 'openclash#4'],
    b: ['proxied', 'redirect:7892', 'openclash#4'],
    c: ['forwarded', null, 'openclash#1'],
    d: ['proxied', 'tproxy:7895', 'openclash#5'],
  },
  // redir-host, common_ports off: as fake-ip, less the fake-ip TPROXY before the catch-all.
  'openclash-fw3-redirhost': {
    proxy: { name: 'openclash', mode: 'redirect + tproxy', redirect: [7892], tproxy: [7895], marks: ['0x162'] },
    a: ['proxied', 'redirect:7892', 'openclash#4'],
    b: ['proxied', 'redirect:7892', 'openclash#4'],
    c: ['forwarded', null, 'openclash#1'],
    d: ['proxied', 'tproxy:7895', 'openclash#4'],
  },
  // fake-ip-tun: everything marked in mangle openclash and routed into utun.
  'openclash-fw3-tun': {
    proxy: { name: 'openclash', mode: 'tun', marks: ['0x162'] },
    a: ['proxied', 'tun:utun', 'openclash#6'],
    aFlags: 'synack',
    b: ['proxied', 'tun:utun', 'openclash#6'],
    c: ['forwarded', null, 'openclash#2'],
    d: ['proxied', 'tun:utun', 'openclash#6'],
  },
  // IPv6 on (ip6tables, ipv6_mode 0): the IPv4 walk is the fake-ip fixture's.
  'openclash-fw3-ipv6': {
    proxy: { name: 'openclash', mode: 'redirect + tproxy', redirect: [7892], tproxy: [7895], marks: ['0x162'] },
    a: ['proxied', 'redirect:7892', 'openclash#4'],
    b: ['proxied', 'redirect:7892', 'openclash#4'],
    c: ['forwarded', null, 'openclash#1'],
    d: ['proxied', 'tproxy:7895', 'openclash#5'],
  },
  // fake-ip-mix on fw3: TCP as in fake-ip, UDP marked into utun in mangle openclash.
  'openclash-fw3-mix': {
    proxy: { name: 'openclash', mode: 'mix (TCP redirect, UDP TUN)', redirect: [7892], marks: ['0x162'] },
    ...OC_TCP,
    d: ['proxied', 'tun:utun', 'openclash#7'],
  },
  'passwall-nft': {
    // UDP "same as the TCP node": both on 1041.
    proxy: { name: 'passwall', mode: 'redirect + tproxy', redirect: [1041], tproxy: [1041] },
    a: ['forwarded', null, 'PSW_NAT#10'],
    b: ['proxied', 'redirect:1041', 'PSW_NAT#9'],
    c: ['forwarded', null, 'PSW_NAT#1'],
    d: ['proxied', 'tproxy:1041', 'PSW_MANGLE#17'],
  },
  // fw3 (iptables.sh): TCP REDIRECT of the port list in nat PSW, UDP TPROXY in mangle PSW (both on 1041).
  'passwall-fw3': {
    proxy: { name: 'passwall', mode: 'redirect + tproxy', redirect: [1041], tproxy: [1041] },
    a: ['forwarded', null, 'PSW#13'],
    b: ['proxied', 'redirect:1041', 'PSW#11'],
    c: ['forwarded', null, 'PSW#1'],
    d: ['proxied', 'tproxy:1041', 'PSW#19'],
  },
  // tcp_proxy_way tproxy: TCP in PSW_MANGLE; the reply misses the port list and is unmarked, so the catch-all
  // TCP return after the TPROXY (nftables.sh 741) lets it go; a LAN client's SYN is marked and TPROXYed (740).
  'passwall-nft-tproxy': {
    proxy: { name: 'passwall', mode: 'tproxy', tproxy: [1041], marks: ['0x1'] },
    a: ['forwarded', null, 'PSW_MANGLE#22'],
    b: ['proxied', 'tproxy:1041', 'PSW_MANGLE#21'],
    c: ['forwarded', null, 'PSW_MANGLE#1'],
    d: ['proxied', 'tproxy:1041', 'PSW_MANGLE#28'],
  },
  // The same on fw3 (iptables.sh 705, 721), in mangle PSW.
  'passwall-fw3-tproxy': {
    proxy: { name: 'passwall', mode: 'tproxy', tproxy: [1041], marks: ['0x1'] },
    a: ['forwarded', null, 'PSW#26'],
    b: ['proxied', 'tproxy:1041', 'PSW#25'],
    c: ['forwarded', null, 'PSW#1'],
    d: ['proxied', 'tproxy:1041', 'PSW#32'],
  },
  'passwall2-nft': {
    proxy: { name: 'passwall2', mode: 'tproxy', tproxy: [1041] },
    a: ['forwarded', null, null],
    b: ['proxied', 'tproxy:1041', 'PSW2_MANGLE#6'],
    c: ['forwarded', null, 'PSW2_MANGLE#1'],
    d: ['proxied', 'tproxy:1041', 'PSW2_MANGLE#9'],
  },
  // The defaults since 2026-01: TCP REDIRECT on every port, so the server's reply (a) is taken too.
  'passwall2-nft-redirect': {
    proxy: { name: 'passwall2', mode: 'redirect + tproxy', redirect: [1041], tproxy: [1041] },
    a: ['proxied', 'redirect:1041', 'PSW2_NAT#4'],
    b: ['proxied', 'redirect:1041', 'PSW2_NAT#4'],
    c: ['forwarded', null, 'PSW2_NAT#1'],
    d: ['proxied', 'tproxy:1041', 'PSW2_MANGLE#6'],
  },
  // The 25.11.14 release: REDIRECT of a port list, so the server's reply (a) passes PSW2_NAT.
  'passwall2-nft-25.11': {
    proxy: { name: 'passwall2', mode: 'redirect + tproxy', redirect: [1041], tproxy: [1041] },
    a: ['forwarded', null, null],
    b: ['proxied', 'redirect:1041', 'PSW2_NAT#4'],
    c: ['forwarded', null, 'PSW2_NAT#1'],
    d: ['proxied', 'tproxy:1041', 'PSW2_MANGLE#9'],
  },
  // fw3 (iptables.sh), today's defaults: nat PSW2 redirects every TCP port, mangle PSW2 TPROXYs UDP.
  'passwall2-fw3': {
    proxy: { name: 'passwall2', mode: 'redirect + tproxy', redirect: [1041], tproxy: [1041] },
    a: ['proxied', 'redirect:1041', 'PSW2#5'],
    b: ['proxied', 'redirect:1041', 'PSW2#5'],
    c: ['forwarded', null, 'PSW2#1'],
    d: ['proxied', 'tproxy:1041', 'PSW2#10'],
  },
  // tcp_proxy_way tproxy: TCP through PSW2_RULE (an exact SYN only) to the TPROXY of what is marked, in mangle PSW2.
  'passwall2-fw3-tproxy': {
    proxy: { name: 'passwall2', mode: 'tproxy', tproxy: [1041], marks: ['0x1'] },
    a: ['forwarded', null, null],
    b: ['proxied', 'tproxy:1041', 'PSW2#12'],
    c: ['forwarded', null, 'PSW2#1'],
    d: ['proxied', 'tproxy:1041', 'PSW2#15'],
  },
  homeproxy: {
    proxy: { name: 'homeproxy', mode: 'redirect + tproxy', redirect: [5331], tproxy: [5332], marks: ['0x65'] },
    a: ['forwarded', null, 'homeproxy_redirect_proxy_port#1'],
    b: ['proxied', 'redirect:5331', 'homeproxy_redirect_proxy#1'],
    c: ['forwarded', null, 'homeproxy_redirect#4'],
    d: ['forwarded', null, 'homeproxy_mangle_tproxy_port#1'],
  },
  // routing_port common: only a common destination port is marked for the TUN.
  'homeproxy-tun': {
    proxy: { name: 'homeproxy', mode: 'tun', marks: ['0x66'] },
    a: ['forwarded', null, 'homeproxy_mangle_tun_mark#1'],
    b: ['proxied', 'tun:singtun0', 'homeproxy_mangle_tun_mark#3'],
    c: ['forwarded', null, 'homeproxy_mangle_tun#4'],
    d: ['forwarded', null, 'homeproxy_mangle_tun_mark#2'],
  },
  // redirect_tun: TCP as redirect_tproxy; UDP returned by routing_port common before the TUN mark.
  'homeproxy-redirect-tun': {
    proxy: { name: 'homeproxy', mode: 'mix (TCP redirect, UDP TUN)', redirect: [5331], marks: ['0x66'] },
    a: ['forwarded', null, 'homeproxy_redirect_proxy_port#1'],
    b: ['proxied', 'redirect:5331', 'homeproxy_redirect_proxy#1'],
    c: ['forwarded', null, 'homeproxy_redirect#4'],
    d: ['forwarded', null, 'homeproxy_mangle_tun_mark#1'],
  },
  'nikki-tun': {
    proxy: { name: 'nikki', mode: 'tun', marks: ['0x81'] },
    a: ['proxied', 'tun:nikki', 'lan_tun#2'],
    aFlags: 'synack',
    b: ['proxied', 'tun:nikki', 'lan_tun#2'],
    c: ['forwarded', null, 'mangle_prerouting_lan#3'],
    d: ['proxied', 'tun:nikki', 'lan_tun#2'],
  },
  'nikki-redirect-tproxy': {
    proxy: { name: 'nikki', mode: 'redirect + tproxy', redirect: [7891], tproxy: [7892], marks: ['0x80'] },
    a: ['proxied', 'redirect:7891', 'lan_redirect#1'],
    b: ['proxied', 'redirect:7891', 'lan_redirect#1'],
    c: ['forwarded', null, 'dstnat#4'],
    d: ['proxied', 'tproxy:7892', 'lan_tproxy#2'],
  },
  nikki: {
    proxy: { name: 'nikki', mode: 'mix (TCP redirect, UDP TUN)', redirect: [7891] },
    a: ['proxied', 'redirect:7891', 'lan_redirect#1'],
    b: ['proxied', 'redirect:7891', 'lan_redirect#1'],
    c: ['forwarded', null, 'dstnat#4'],
    d: ['proxied', 'tun:nikki', 'lan_tun#2'],
  },
  'nikki-tproxy-ipv6': {
    proxy: { name: 'nikki', mode: 'tproxy', tproxy: [7892], marks: ['0x80'] },
    a: ['proxied', 'tproxy:7892', 'lan_tproxy#2'],
    aFlags: 'synack',
    b: ['proxied', 'tproxy:7892', 'lan_tproxy#2'],
    c: ['forwarded', null, 'mangle_prerouting_lan#3'],
    d: ['proxied', 'tproxy:7892', 'lan_tproxy#2'],
  },
  'shellcrash-nft': {
    proxy: { name: 'shellcrash', mode: 'redirect', redirect: [7892] },
    a: ['forwarded', null, 'prerouting#5'],
    b: ['proxied', 'redirect:7892', 'prerouting#12'],
    c: ['forwarded', null, 'prerouting#9'],
    d: ['forwarded', null, 'prerouting#6'],
  },
  // Tproxy, Tun and Mix: prerouting (filter, -150) runs before prerouting_dns (nat, -100), whose last return is the
  // last rule a reply or a LAN-internal packet meets; the common-port return before the JUMP spares the replies.
  'shellcrash-nft-tproxy': {
    proxy: { name: 'shellcrash', mode: 'tproxy', tproxy: [7893], marks: ['0x1ed4'] },
    a: ['forwarded', null, 'prerouting_dns#2'],
    b: ['proxied', 'tproxy:7893', 'prerouting#12'],
    c: ['forwarded', null, 'prerouting_dns#2'],
    d: ['forwarded', null, 'prerouting_dns#1'],
  },
  'shellcrash-nft-tun': {
    proxy: { name: 'shellcrash', mode: 'tun', marks: ['0x1ed4'] },
    a: ['forwarded', null, 'prerouting_dns#2'],
    b: ['proxied', 'tun:utun', 'prerouting#12'],
    c: ['forwarded', null, 'prerouting_dns#2'],
    d: ['forwarded', null, 'prerouting_dns#1'],
  },
  'shellcrash-nft-mix': {
    proxy: { name: 'shellcrash', mode: 'mix (TCP redirect, UDP TUN)', redirect: [7892], marks: ['0x1ed4', '0x1ed5'] },
    a: ['forwarded', null, 'prerouting_dns#2'],
    b: ['proxied', 'redirect:7892', 'prerouting_mixtcp#1'],
    c: ['forwarded', null, 'prerouting_dns#2'],
    d: ['forwarded', null, 'prerouting_dns#1'],
  },
  // Common ports off: the TPROXY JUMP takes the server's replies.
  'shellcrash-nft-tproxy-allports': {
    proxy: { name: 'shellcrash', mode: 'tproxy', tproxy: [7893], marks: ['0x1ed4'] },
    a: ['proxied', 'tproxy:7893', 'prerouting#9'],
    aFlags: 'synack',
    b: ['proxied', 'tproxy:7893', 'prerouting#9'],
    c: ['forwarded', null, 'prerouting_dns#2'],
    d: ['proxied', 'tproxy:7893', 'prerouting#9'],
  },
  'shellcrash-iptables': {
    proxy: { name: 'shellcrash', mode: 'redirect', redirect: [7892] },
    a: ['forwarded', null, null],
    b: ['proxied', 'redirect:7892', 'shellcrash#14'],
    c: ['forwarded', null, 'shellcrash#4'],
    d: ['forwarded', null, null],
  },
  // ShellClash (ShellCrash before its rename): the REDIRECT in nat clash carries common_ports' multiport.
  'shellclash-iptables': {
    proxy: { name: 'shellcrash', mode: 'redirect', redirect: [7892] },
    a: ['forwarded', null, null],
    b: ['proxied', 'redirect:7892', 'clash#9'],
    c: ['forwarded', null, 'clash#6'],
    d: ['forwarded', null, null],
  },
  // Common ports off: the same REDIRECT takes every TCP port, the replies' first ACK too.
  'shellclash-iptables-allports': {
    proxy: { name: 'shellcrash', mode: 'redirect', redirect: [7892] },
    a: ['proxied', 'redirect:7892', 'clash#9'],
    b: ['proxied', 'redirect:7892', 'clash#9'],
    c: ['forwarded', null, 'clash#6'],
    d: ['forwarded', null, null],
  },
  'unknown-tproxy': {
    proxy: { name: 'unknown', mode: 'tproxy', tproxy: [12345], marks: ['0x1'] },
    a: ['proxied', 'tproxy:12345', 'pre#2'],
    aFlags: 'synack',
    b: ['proxied', 'tproxy:12345', 'pre#2'],
    c: ['forwarded', null, 'pre#1'],
    d: ['proxied', 'tproxy:12345', 'pre#2'],
  },
  empty: {
    proxy: null,
    a: ['forwarded', null, null],
    b: ['forwarded', null, null],
    c: ['forwarded', null, null],
    d: ['forwarded', null, null],
  },
};

function summary(
  snapshot: RulesetSnapshot,
  req: ExplainRequest,
): { got: Expect; report: Exclude<ReturnType<typeof explainPacket>, string> } {
  const r = explainPacket(snapshot, req);
  assert.notEqual(typeof r, 'string', String(r));
  const report = r as Exclude<typeof r, string>;
  const how = report.how ? `${report.how.kind}:${report.how.port ?? report.how.device}` : null;
  const resp = report.responsible ? `${report.responsible.chain}#${report.responsible.position}` : null;
  return { got: [report.verdict, how, resp], report };
}

for (const [name, c] of Object.entries(CASES)) {
  describe(`ruleset fixture ${name}`, () => {
    const snapshot = fixture(name);

    it('loads without errors', () => {
      assert.deepEqual(
        snapshot.ruleset.issues.filter((i) => i.severity === 'error'),
        [],
      );
      assert.match(snapshot.fingerprint, /^[0-9a-f]{16}$/);
    });

    it('recognises the proxy', () => {
      const proxies = recognizeProxies(snapshot.ruleset);
      if (!c.proxy) {
        assert.deepEqual(proxies, []);
        return;
      }
      assert.equal(proxies.length, 1, JSON.stringify(proxies.map((p) => p.name)));
      const p = proxies[0]!;
      assert.equal(p.name, c.proxy.name);
      assert.equal(p.mode, c.proxy.mode);
      if (c.proxy.redirect) assert.deepEqual(p.redirectPorts, c.proxy.redirect);
      if (c.proxy.tproxy) assert.deepEqual(p.tproxyPorts, c.proxy.tproxy);
      if (c.proxy.marks) assert.deepEqual(p.marks, c.proxy.marks);
      for (const f of c.proxy.features ?? []) assert.ok(p.features.includes(f), `${f} in ${p.features.join(', ')}`);
      assert.ok(p.entryChains.length > 0, 'entry chains');
    });

    for (const k of ['a', 'b', 'c', 'd'] as const) {
      it(`(${k}) ${REQ[k].proto} ${REQ[k].src}:${REQ[k].sport} → ${REQ[k].dst}:${REQ[k].dport}: ${c[k].join(' ')}`, () => {
        const { got, report } = summary(snapshot, REQ[k]);
        assert.deepEqual(got, c[k], JSON.stringify(report.path, null, 1));
        assert.equal(report.certain, true, report.reasons.join('; '));
        if (report.verdict === 'proxied') assert.equal(report.proxy?.name, c.proxy?.name);
        else assert.equal(report.proxy, null);
        if (k === 'a' && REQ.a.proto === 'tcp') assert.equal(report.packet.flags, c.aFlags ?? 'ack');
      });
    }
  });
}

describe('china_ip_route (8,000 prefixes)', () => {
  it('a reply to an address inside the set is bypassed by the china_ip_route rule', () => {
    const r = explainPacket(fixture('openclash-fw4-china-ip-route-8k'), { ...REQ.a, dst: '24.214.130.1' });
    assert.notEqual(typeof r, 'string');
    const report = r as Exclude<typeof r, string>;
    assert.equal(report.verdict, 'forwarded');
    assert.equal(report.certain, true);
    assert.equal(`${report.responsible?.chain}#${report.responsible?.position}`, 'openclash#4');
    assert.match(report.responsible?.text ?? '', /@china_ip_route/);
  });
});

describe('explain defaults', () => {
  it('the in-interface defaults to br-lan, the first LAN interface', () => {
    const r = explainPacket(fixture('openclash-fw4-fakeip'), REQ.a);
    assert.notEqual(typeof r, 'string');
    assert.equal((r as Exclude<typeof r, string>).packet.in, 'br-lan');
  });

  it('a packet from a non-LAN interface is not in @lan_inbound_device: nikki does not redirect it', () => {
    const r = explainPacket(fixture('nikki'), { ...REQ.b, iif: 'eth1' });
    assert.notEqual(typeof r, 'string');
    const report = r as Exclude<typeof r, string>;
    assert.equal(report.verdict, 'forwarded');
    assert.equal(report.certain, true);
    assert.ok(!report.path.some((h) => h.chain === 'lan_redirect'));
  });

  it('rejects a family mix', () => {
    const r = explainPacket(fixture('empty'), { ...REQ.a, dst: '2001:db8::1' });
    assert.equal(typeof r, 'string');
  });
});

describe('replyguard explain (CLI, --ruleset-dir)', () => {
  const main = join(__dirname, '..', '..', '..', 'src', 'main.ts');
  const run = (args: string[]): { code: number; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'explain', ...args], { encoding: 'utf8' });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const dir = join(DIR, 'openclash-fw4-fakeip');

  it('--json prints verdict, certain, proxy and the path; exit 2 when the reply is swallowed', () => {
    const r = run(['--ruleset-dir', dir, '--from', '192.168.1.10:443', '--to', '93.184.216.34:40000', '--json']);
    assert.equal(r.code, 2, r.stderr);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(doc.verdict, 'proxied');
    assert.equal(doc.certain, true);
    assert.equal((doc.proxy as { name: string }).name, 'openclash');
    const path = doc.path as Record<string, unknown>[];
    assert.ok(path.length > 0);
    for (const hop of path) {
      for (const k of ['backend', 'table', 'chain', 'position', 'handle', 'text', 'effect']) assert.ok(k in hop, k);
    }
  });

  it('exit 0 for a forwarded packet, with a human report', () => {
    const r = run(['--ruleset-dir', dir, '--from', '192.168.1.20:50000', '--to', '192.168.1.10:443', '--flags', 'syn']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Verdict: FORWARDED/);
    assert.match(r.stdout, /ip daddr @localnetwork counter return/);
  });

  it('exit 66 for a directory without dumps, 64 for a bad endpoint', () => {
    assert.equal(run(['--ruleset-dir', '/nonexistent', '--from', '1.2.3.4:1', '--to', '5.6.7.8:2']).code, 66);
    const bad = run(['--ruleset-dir', dir, '--from', '1.2.3.4', '--to', '5.6.7.8:2']);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /not IP:PORT/);
  });

  it('exit 3 (undetermined) for a truncated nft dump', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'rg-explain-'));
    try {
      writeFileSync(join(tmp, 'nft.json'), '{"nftables": [{"metainfo": {');
      const r = run(['--ruleset-dir', tmp, '--from', '192.168.1.10:443', '--to', '93.184.216.34:40000', '--json']);
      assert.equal(r.code, 3, r.stderr);
      const doc = JSON.parse(r.stdout) as { verdict: string; certain: boolean; reasons: string[] };
      assert.equal(doc.verdict, 'undetermined');
      assert.equal(doc.certain, false);
      assert.match(doc.reasons.join(' '), /nft -j: not JSON/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
