// Observed hijacks get the responsible rule and the proxy's own fix, found by
// walking that server's reply to its real peer through the ruleset.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Finding } from '../../../src/detector/finding';
import { type Fix, fixTexts } from '../../../src/detector/fix';
import { detectorFixes } from '../../../src/detector/fix-text';
import { attributeFinding, evaluateReply } from '../../../src/detector/rule-attribution';
import { recognizeProxies } from '../../../src/ruleset/recognize-proxy';
import { makeSnapshot } from '../../../src/ruleset/ruleset-snapshot';
import { readDumpDir } from '../../../src/sensors/ruleset-reader';

const DIR = join(__dirname, '..', '..', 'golden', 'rulesets');
const fixture = (name: string) => makeSnapshot(readDumpDir(join(DIR, name)));

const DETECTOR_GUARD: Fix = {
  kind: 'nat_guard',
  proxy: 'none',
  text: 'Exempt packets picked up mid-stream (TCP without SYN) from the proxy nat chain (detector text)',
  basis: 'detector',
};

function hijack(over: Partial<Finding> = {}): Finding {
  return {
    id: 'hijack-tcp-192.168.1.10-443',
    kind: 'reply_hijacked',
    severity: 'problem',
    state: 'active',
    proto: 'tcp',
    server: '192.168.1.10:443',
    forward: 'nas',
    peers: ['93.184.216.34'],
    count: 3,
    first_seen: '2026-11-25T00:00:00.000Z',
    last_seen: '2026-11-25T00:01:00.000Z',
    diverted_to: '192.168.1.2:7892',
    summary: 'TCP reply of 192.168.1.10:443 to 93.184.216.34:40000 was redirected to 192.168.1.2:7892 (this router)',
    evidence: ['the summary', '[NEW] tcp 6 300 ESTABLISHED src=192.168.1.10 …'],
    fix: [DETECTOR_GUARD.text],
    typed_fixes: [DETECTOR_GUARD],
    ...over,
  };
}

function attribute(name: string, f: Finding) {
  const s = fixture(name);
  return attributeFinding(f, s, recognizeProxies(s.ruleset));
}

describe('attributeFinding', () => {
  it('OpenClash fw4: rule {backend, table, chain, position, handle, text} and lan_ac_traffic first', () => {
    const a = attribute('openclash-fw4-fakeip', hijack());
    assert.ok(a.rule);
    assert.equal(a.rule.backend, 'nft');
    assert.equal(a.rule.table, 'inet fw4');
    assert.equal(a.rule.chain, 'openclash');
    assert.equal(a.rule.position, 4);
    assert.equal(typeof a.rule.handle, 'number');
    assert.equal(a.rule.text, 'ip protocol tcp counter redirect to :7892');
    assert.equal(a.proxy, 'OpenClash (fw4)');
    const pf = a.proxy_fix ?? [];
    assert.match(pf[0]!, /uci add openclash lan_ac_traffic/);
    assert.match(pf[0]!, /src_ip='192\.168\.1\.10'.*src_port='443'.*proto='tcp'.*target='return'/);
    assert.ok(pf.some((l) => /lan_ac_black_ips/.test(l)));
    assert.ok(pf.some((l) => /nft insert rule inet fw4 openclash 'tcp flags/.test(l)));
    // fix stays the detector's: live and offline (analyze) findings agree.
    assert.deepEqual(a.fix, hijack().fix);
    assert.equal(a.evidence[0], 'the summary');
    assert.match(
      a.evidence[1]!,
      /^ruleset: the mid-stream ACK to 93\.184\.216\.34 is taken \(redirect to :7892\) by nft inet fw4 openclash #4/,
    );
    assert.equal(a.evidence[2], hijack().evidence[1]);
  });

  it('OpenClash fw3: the rule is the iptables -A line, the guard an iptables command', () => {
    const a = attribute('openclash-fw3-fakeip', hijack());
    assert.equal(a.rule?.backend, 'iptables');
    assert.equal(a.rule?.chain, 'openclash');
    assert.equal(a.rule?.handle, undefined);
    assert.match(a.rule?.text ?? '', /^-A openclash .*REDIRECT --to-ports 7892/);
    assert.ok(a.proxy_fix?.some((l) => l.includes('iptables -t nat -I openclash 1 -p tcp ! --syn -j RETURN')));
  });

  it('bypass_gateway_compatible: the masquerade is named once the redirect is guarded', () => {
    const a = attribute('openclash-fw4-bypass-gateway-compatible', hijack());
    assert.equal(a.rule?.chain, 'openclash', 'the redirect comes first');
  });

  it('TUN (UDP): the tun mark rule and the UDP form of lan_ac_traffic', () => {
    const a = attribute(
      'openclash-fw4-tun',
      hijack({ id: 'hijack-udp-192.168.1.10-51820', proto: 'udp', server: '192.168.1.10:51820', forward: 'wg' }),
    );
    assert.equal(a.rule?.chain, 'openclash_mangle');
    assert.match(a.proxy_fix![0]!, /proto='udp'/);
    assert.ok(a.proxy_fix!.some((l) => l.includes("'ip saddr 192.168.1.10 udp sport 51820 counter return'")));
  });

  it('Passwall2 UDP: its ports option', () => {
    const a = attribute(
      'passwall2-nft',
      hijack({ proto: 'udp', server: '192.168.1.10:51820', peers: ['151.101.1.69'] }),
    );
    assert.equal(a.rule?.chain, 'PSW2_MANGLE');
    assert.match(a.proxy_fix![0]!, /passwall2\.@global_forwarding\[0\]\.udp_redir_ports/);
  });

  it("a guard the detector's fix already gives is not repeated", () => {
    const guard: Fix = {
      kind: 'nat_guard',
      proxy: 'openclash',
      text: "Exempt …: nft insert rule inet fw4 openclash 'tcp flags & (fin|syn|rst|ack) != syn counter return'",
      command: ["nft insert rule inet fw4 openclash 'tcp flags & (fin|syn|rst|ack) != syn counter return'"],
      basis: 'detector',
    };
    const given = hijack({ fix: [guard.text], typed_fixes: [guard] });
    const a = attribute('openclash-fw4-fakeip', given);
    assert.ok(a.proxy_fix && a.proxy_fix.length > 0);
    assert.ok(
      !a.proxy_fix.some((l) => l.includes("nft insert rule inet fw4 openclash 'tcp flags")),
      a.proxy_fix.join('\n'),
    );
  });

  it("fixes: the proxy's lines and the exact guard first; the generic lines made redundant are left out", () => {
    // The detector's own lines for this hijack, as it writes them without a ruleset.
    const typed = detectorFixes({
      fate: 'redirected',
      proto: 'tcp',
      serverIp: '192.168.1.10',
      serverPort: 443,
      peerIp: '93.184.216.34',
      peerPort: 40000,
      divertedTo: { ip: '192.168.1.2', port: 7892, isRouter: true },
    } as Parameters<typeof detectorFixes>[0]);
    const detector = fixTexts(typed);
    assert.equal(detector.length, 5, detector.join('\n'));
    const a = attribute('openclash-fw3-fakeip', hijack({ fix: detector, typed_fixes: typed }));
    assert.deepEqual(a.fix, detector, "fix stays the detector's");
    const fixes = a.fixes ?? [];
    assert.deepEqual(fixes.slice(0, a.proxy_fix!.length), a.proxy_fix);
    assert.ok(fixes.some((l) => l.includes('iptables -t nat -I openclash 1 -p tcp ! --syn -j RETURN')));
    // Gone: the guessed-chain guard and OpenClash's access list by hand (proxy_fix has both, exactly).
    assert.ok(!fixes.some((l) => l.startsWith('Exempt packets picked up mid-stream')), fixes.join('\n'));
    assert.ok(!fixes.some((l) => l.startsWith('Or exempt the server in the proxy itself')));
    // Kept: tcp_loose, replyguard guard, the gateway.
    for (const re of [/nf_conntrack_tcp_loose=0/, /replyguard guard apply/, /remove the asymmetry/])
      assert.ok(
        fixes.some((l) => re.test(l)),
        String(re),
      );
    assert.equal(fixes.length, a.proxy_fix!.length + 3);
  });

  it('unchanged: other kinds, replies the ruleset lets pass, unparsable servers', () => {
    const asym = hijack({ kind: 'asymmetric_reply', severity: 'info' });
    assert.deepEqual(attribute('openclash-fw4-fakeip', asym), asym);
    const gone = hijack();
    assert.deepEqual(attribute('empty', gone), gone, 'the proxy is gone: nothing to attach');
    const odd = hijack({ server: 'nonsense' });
    assert.deepEqual(attribute('openclash-fw4-fakeip', odd), odd);
  });
});

describe('evaluateReply', () => {
  it('TCP: the worse of SYN-ACK and mid-stream ACK', () => {
    const s = fixture('openclash-fw4-tun');
    const r = evaluateReply(
      s,
      { proto: 'tcp', server: '192.168.1.10', port: 443, peer: '93.184.216.34', peerPort: 40000 },
      recognizeProxies(s.ruleset),
    );
    assert.ok(typeof r !== 'string');
    assert.equal(r.packet, 'synack');
    assert.equal(r.fate, 'proxied');
    assert.equal(r.evaluation.how?.kind, 'tun');
    const oc = fixture('openclash-fw4-fakeip');
    const r2 = evaluateReply(
      oc,
      { proto: 'tcp', server: '192.168.1.10', port: 443, peer: '93.184.216.34', peerPort: 40000 },
      recognizeProxies(oc.ruleset),
    );
    assert.ok(typeof r2 !== 'string');
    assert.equal(r2.packet, 'ack');
    assert.equal(r2.evaluation.how?.kind, 'redirect');
  });

  it('a private peer is bypassed (localnetwork): passes', () => {
    const s = fixture('openclash-fw4-fakeip');
    const r = evaluateReply(
      s,
      { proto: 'tcp', server: '192.168.1.10', port: 443, peer: '192.168.1.20', peerPort: 40000 },
      recognizeProxies(s.ruleset),
    );
    assert.ok(typeof r !== 'string');
    assert.equal(r.fate, 'passes');
    assert.equal(r.rule, null);
  });

  it('says why when the addresses are not usable', () => {
    const s = fixture('empty');
    assert.equal(
      typeof evaluateReply(s, { proto: 'tcp', server: 'x', port: 1, peer: '1.1.1.1', peerPort: 2 }, []),
      'string',
    );
  });
});
