// Prediction on every golden ruleset: which declared forwards' replies the
// router would swallow, by which rule — before any outside client failed.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ForwardConfig } from '../../../src/config/config';
import { makeLanView } from '../../../src/detector/lan-view';
import { predictRisks, type RiskFinding, worstReply } from '../../../src/detector/predict-risk';
import { recognizeProxies } from '../../../src/ruleset/recognize-proxy';
import { makeSnapshot, type RulesetSnapshot } from '../../../src/ruleset/ruleset-snapshot';
import { readDumpDir } from '../../../src/sensors/ruleset-reader';

const DIR = join(__dirname, '..', '..', 'golden', 'rulesets');
const fixture = (name: string) => makeSnapshot(readDumpDir(join(DIR, name)));
const NOW = Date.parse('2026-11-25T01:00:00.000Z');

const FORWARDS: ForwardConfig[] = [
  { name: 'nas', host: '192.168.1.10', port: 443, proto: 'tcp', wanPort: 9443 },
  { name: 'wg', host: '192.168.1.10', port: 51820, proto: 'udp' },
];

function predict(s: RulesetSnapshot, forwards = FORWARDS, extra: Partial<Parameters<typeof predictRisks>[0]> = {}) {
  return predictRisks({ snapshot: s, proxies: recognizeProxies(s.ruleset), forwards, now: NOW, ...extra });
}

/** forward → "packet chain#position backend" */
function brief(list: RiskFinding[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of list)
    out[f.forward ?? f.server] = `${f.packet} ${f.rule?.chain}#${f.rule?.position} ${f.rule?.backend}`;
  return out;
}

const CASES: Record<string, Record<string, string>> = {
  'openclash-fw4-fakeip': { nas: 'ack openclash#4 nft', wg: 'udp openclash_mangle#5 nft' },
  'openclash-fw4-0.46-fakeip': { nas: 'ack openclash#3 nft', wg: 'udp openclash_mangle#6 nft' },
  'openclash-fw4-ipv6-tproxy': { nas: 'ack openclash#4 nft', wg: 'udp openclash_mangle#5 nft' },
  'openclash-fw4-ipv6-redirect': { nas: 'ack openclash#4 nft', wg: 'udp openclash_mangle#5 nft' },
  'openclash-fw4-redirhost-common-ports': {},
  'openclash-fw4-tun': { nas: 'synack openclash_mangle#7 nft', wg: 'udp openclash_mangle#7 nft' },
  'openclash-fw4-mix': { nas: 'ack openclash#4 nft', wg: 'udp openclash_mangle#7 nft' },
  'openclash-fw4-bypass-gateway-compatible': { nas: 'ack openclash#4 nft', wg: 'udp openclash_mangle#5 nft' },
  'openclash-fw4-china-ip-route-8k': { nas: 'ack openclash#5 nft', wg: 'udp openclash_mangle#6 nft' },
  'openclash-fw3-fakeip': { nas: 'ack openclash#4 iptables', wg: 'udp openclash#5 iptables' },
  'openclash-fw3-redirhost': { nas: 'ack openclash#4 iptables', wg: 'udp openclash#4 iptables' },
  'openclash-fw3-tun': { nas: 'synack openclash#6 iptables', wg: 'udp openclash#6 iptables' },
  'openclash-fw3-mix': { nas: 'ack openclash#4 iptables', wg: 'udp openclash#7 iptables' },
  'openclash-fw3-ipv6': { nas: 'ack openclash#4 iptables', wg: 'udp openclash#5 iptables' },
  'passwall-nft': { wg: 'udp PSW_MANGLE#17 nft' },
  'passwall-fw3': { wg: 'udp PSW#19 iptables' },
  'passwall-nft-tproxy': { wg: 'udp PSW_MANGLE#28 nft' },
  'passwall-fw3-tproxy': { wg: 'udp PSW#32 iptables' },
  'passwall2-nft': { wg: 'udp PSW2_MANGLE#9 nft' },
  'passwall2-nft-redirect': { nas: 'ack PSW2_NAT#4 nft', wg: 'udp PSW2_MANGLE#6 nft' },
  'passwall2-fw3': { nas: 'ack PSW2#5 iptables', wg: 'udp PSW2#10 iptables' },
  'passwall2-fw3-tproxy': { wg: 'udp PSW2#15 iptables' },
  'passwall2-nft-25.11': { wg: 'udp PSW2_MANGLE#9 nft' },
  homeproxy: {},
  'homeproxy-tun': {},
  'homeproxy-redirect-tun': {},
  nikki: { nas: 'ack lan_redirect#1 nft', wg: 'udp lan_tun#2 nft' },
  'nikki-tproxy-ipv6': { nas: 'synack lan_tproxy#2 nft', wg: 'udp lan_tproxy#2 nft' },
  'nikki-tun': { nas: 'synack lan_tun#2 nft', wg: 'udp lan_tun#2 nft' },
  'nikki-redirect-tproxy': { nas: 'ack lan_redirect#1 nft', wg: 'udp lan_tproxy#2 nft' },
  'shellcrash-nft': {},
  'shellcrash-nft-tproxy': {},
  'shellcrash-nft-tun': {},
  'shellcrash-nft-mix': {},
  'shellcrash-nft-tproxy-allports': { nas: 'synack prerouting#9 nft', wg: 'udp prerouting#9 nft' },
  'shellcrash-iptables': {},
  'shellclash-iptables': {},
  'shellclash-iptables-allports': { nas: 'ack clash#9 iptables' },
  'unknown-tproxy': { nas: 'synack pre#2 nft', wg: 'udp pre#2 nft' },
  empty: {},
};

describe('predictRisks on the golden rulesets', () => {
  for (const [name, expected] of Object.entries(CASES)) {
    it(`${name}: ${
      Object.keys(expected).length === 0
        ? 'no forward at risk'
        : Object.entries(expected)
            .map(([k, v]) => `${k} → ${v}`)
            .join(', ')
    }`, () => {
      const risks = predict(fixture(name));
      assert.deepEqual(brief(risks), expected);
      for (const f of risks) {
        assert.equal(f.kind, 'reply_at_risk');
        assert.equal(f.severity, 'warning');
        assert.equal(f.state, 'active');
        assert.equal(f.certain, true, f.summary);
        assert.equal(f.id, `risk-${f.proto}-192.168.1.10-${f.proto === 'tcp' ? 443 : 51820}`);
        assert.ok(f.rule?.table && f.rule.text, JSON.stringify(f.rule));
        if (f.rule?.backend === 'nft') assert.equal(typeof f.rule.handle, 'number');
        assert.ok(f.summary.includes(f.rule!.chain), f.summary);
        assert.ok(f.fix.length >= 2, 'a proxy-specific fix and the guard');
        assert.equal(f.first_seen, new Date(NOW).toISOString());
      }
    });
  }
});

describe('predictRisks details', () => {
  it('OpenClash fw4 REDIRECT: names the redirect to 7892, the proxy and the fixes', () => {
    const [nas] = predict(fixture('openclash-fw4-fakeip'), [FORWARDS[0]!]);
    assert.ok(nas);
    assert.equal(nas.proxy, 'OpenClash (fw4)');
    assert.equal(nas.diverted_to, 'this router:7892');
    assert.match(nas.summary, /redirect to :7892/);
    assert.match(nas.summary, /reset/);
    assert.deepEqual(
      { ...nas.rule, handle: undefined },
      {
        backend: 'nft',
        table: 'inet fw4',
        chain: 'openclash',
        position: 4,
        handle: undefined,
        text: 'ip protocol tcp counter redirect to :7892',
      },
    );
    assert.match(nas.fix[0]!, /lan_ac_traffic/);
    assert.match(nas.fix[0]!, /src_ip='192\.168\.1\.10'/);
    assert.match(nas.fix[0]!, /src_port='443'/);
    assert.ok(nas.fix.some((l) => /common_ports='1'/.test(l)));
    assert.ok(nas.fix.some((l) => /lan_ac_black_ips='192\.168\.1\.10'/.test(l)));
    assert.ok(
      nas.fix.some((l) =>
        l.includes("nft insert rule inet fw4 openclash 'tcp flags & (fin|syn|rst|ack) != syn counter return'"),
      ),
    );
    assert.ok(nas.evidence.some((l) => /mid-stream ACK, conntrack new \(original\)/.test(l)));
  });

  it('OpenClash fw3: the guard is an iptables command in the nat chain', () => {
    const [nas] = predict(fixture('openclash-fw3-fakeip'), [FORWARDS[0]!]);
    assert.ok(
      nas?.fix.some((l) => l.includes('iptables -t nat -I openclash 1 -p tcp ! --syn -j RETURN')),
      nas?.fix.join('\n'),
    );
  });

  it('TUN: the SYN-ACK breaks first, clients time out, the guard goes into the mangle chain', () => {
    const [nas] = predict(fixture('openclash-fw4-tun'), [FORWARDS[0]!]);
    assert.equal(nas?.packet, 'synack');
    assert.match(nas!.summary, /time out/);
    assert.ok(
      nas!.fix.some((l) => l.includes("nft insert rule inet fw4 openclash_mangle 'ct state invalid counter return'")),
    );
  });

  it('Passwall UDP: the ports option of Passwall', () => {
    const [wg] = predict(fixture('passwall-nft'), [FORWARDS[1]!]);
    assert.match(wg!.fix[0]!, /passwall\.@global_forwarding\[0\]\.udp_redir_ports=/);
    assert.ok(
      wg!.fix.some((l) =>
        l.includes("nft insert rule inet passwall PSW_MANGLE 'ip saddr 192.168.1.10 udp sport 51820 counter return'"),
      ),
    );
  });

  it('nikki: its proxy dport option', () => {
    const [nas] = predict(fixture('nikki'), [FORWARDS[0]!]);
    assert.match(nas!.fix[0]!, /nikki\.proxy\.proxy_tcp_dport=/);
  });

  it('a guarded REDIRECT (iptables guard first in the chain): no risk', () => {
    const dump = (guard: boolean) =>
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        ':openclash - [0:0]',
        '-A PREROUTING -i br-lan -p tcp -j openclash',
        ...(guard ? ['-A openclash -p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -j RETURN'] : []),
        '-A openclash -d 192.168.0.0/16 -j RETURN',
        '-A openclash -m conntrack --ctdir REPLY -j RETURN',
        '-A openclash -p tcp -j REDIRECT --to-ports 7892',
        'COMMIT',
        '',
      ].join('\n');
    assert.equal(predict(makeSnapshot({ iptablesSave: dump(false) }), [FORWARDS[0]!]).length, 1);
    assert.deepEqual(predict(makeSnapshot({ iptablesSave: dump(true) }), [FORWARDS[0]!]), []);
    // nf_conntrack_tcp_loose=0 makes the mid-stream ACK invalid: nat skips it.
    assert.deepEqual(predict(makeSnapshot({ iptablesSave: dump(false), tcpLoose: '0' }), [FORWARDS[0]!]), []);
  });

  it('learned servers: predicted too, unless outside the LAN or the router itself', () => {
    const s = fixture('openclash-fw4-fakeip');
    const lan = makeLanView(['192.168.1.0/24'], ['192.168.1.2'], [], 'config');
    const risks = predict(s, [], {
      lan,
      servers: [
        { ip: '192.168.1.20', port: 8443, proto: 'tcp' },
        { ip: '10.9.9.9', port: 443, proto: 'tcp' },
        { ip: '192.168.1.2', port: 443, proto: 'tcp' },
      ],
    });
    assert.deepEqual(
      risks.map((r) => [r.server, r.forward]),
      [['192.168.1.20:8443', undefined]],
    );
  });

  it('a declared forward and the same learned server are one finding', () => {
    const risks = predict(fixture('openclash-fw4-fakeip'), [FORWARDS[0]!], {
      servers: [{ ip: '192.168.1.10', port: 443, proto: 'tcp' }],
    });
    assert.equal(risks.length, 1);
    assert.equal(risks[0]!.forward, 'nas');
  });

  it('walks public peers outside the documentation ranges (homeproxy reserves those)', () => {
    const s = fixture('openclash-fw4-fakeip');
    const r = worstReply(s, recognizeProxies(s.ruleset), { ip: '192.168.1.10', port: 443, proto: 'tcp' });
    assert.ok(r);
    assert.ok(!/^(192\.0\.2|198\.51\.100|203\.0\.113)\./.test(r.peer), r.peer);
  });
});
