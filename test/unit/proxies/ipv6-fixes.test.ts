// For an IPv6 server replyguard offers a proxy's own fixes only where they are proven for IPv6 in the lab
// (test/integration/native-fixes-ipv6.test.ts: OpenClash's IPv6 chains on fw4, nikki's proxy_dport return);
// for an IPv4 server every module's fixes stay as they are.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { evaluateReply, proxyFixes } from '../../../src/detector/rule-attribution';
import { BEFORE_REPLY_RETURN_FEATURE } from '../../../src/proxies/openclash';
import { type NativeFixContext, provenNativeFixes } from '../../../src/proxies/proxy-module';
import { PROXY_MODULES, proxyModule } from '../../../src/proxies/registry';
import { recognizeProxies } from '../../../src/ruleset/recognize-proxy';
import { makeSnapshot } from '../../../src/ruleset/ruleset-snapshot';
import { readDumpDir } from '../../../src/sensors/ruleset-reader';

const V4 = '192.168.1.10';
const V6 = '2001:db8:50::10';

const LABELS: Record<string, string> = {
  openclash: 'OpenClash (fw4)',
  passwall: 'Passwall',
  passwall2: 'Passwall2',
  homeproxy: 'homeproxy',
  nikki: 'nikki',
  shellcrash: 'ShellCrash',
};

const ctx = (name: string, server: string, over: Partial<NativeFixContext> = {}): NativeFixContext => ({
  server,
  port: 443,
  proto: 'tcp',
  label: LABELS[name] ?? name,
  features: [],
  redirected: true,
  masqueraded: false,
  ...over,
});

const fixesOf = (name: string, server: string, over: Partial<NativeFixContext> = {}) => {
  const m = proxyModule(name as never);
  assert.ok(m, name);
  return provenNativeFixes(m, ctx(name, server, over));
};

describe('proxy-native fixes for an IPv6 server', () => {
  it('every module offers its fixes for an IPv4 server', () => {
    for (const m of PROXY_MODULES) {
      for (const proto of ['tcp', 'udp'] as const)
        assert.ok(fixesOf(m.name, V4, { proto }).length > 0, `${m.name} ${proto}`);
    }
  });

  it('OpenClash on fw4 and nikki, proven for IPv6, offer theirs for an IPv6 server', () => {
    for (const proto of ['tcp', 'udp'] as const) {
      const oc = fixesOf('openclash', V6, { proto });
      assert.ok(oc.length > 0, proto);
      assert.ok(
        oc.some((f) => f.uci?.some((c) => c.option === 'family' && c.value === 'ipv6')),
        proto,
      );
      assert.ok(
        oc.some((f) => f.uci?.some((c) => c.option === 'lan_ac_black_ips' && c.value === V6)),
        proto,
      );
      assert.ok(fixesOf('nikki', V6, { proto }).length > 0, proto);
    }
  });

  it('none for an IPv6 server where the IPv6 rule is unproven: OpenClash on fw3, with Bypass Gateway Compatible, and the other proxies', () => {
    assert.deepEqual(fixesOf('openclash', V6, { label: 'OpenClash (fw3)' }), []);
    assert.ok(fixesOf('openclash', V4, { label: 'OpenClash (fw3)' }).length > 0);
    const bgc = { features: ['bypass_gateway_compatible'], masqueraded: true };
    assert.deepEqual(fixesOf('openclash', V6, bgc), []);
    assert.ok(fixesOf('openclash', V4, bgc).length > 0);
    // A release before 0.46.069 (no `ct direction reply` return): 0.46.068 turns an IPv6 access-list entry into
    // `ip6 saddr { { <host> } }`, which nft refuses, and the lab proves only v0.47.071's IPv6 rules.
    const old = { features: [BEFORE_REPLY_RETURN_FEATURE] };
    assert.deepEqual(fixesOf('openclash', V6, old), []);
    assert.ok(fixesOf('openclash', V4, old).length > 0);
    for (const name of ['passwall', 'passwall2', 'homeproxy', 'shellcrash'])
      for (const proto of ['tcp', 'udp'] as const)
        assert.deepEqual(fixesOf(name, V6, { proto }), [], `${name} ${proto}`);
  });

  it("proxyFixes on openclash-fw3-ipv6: none for the v6 server (ip6tables unproven), OpenClash's own for the v4 one", () => {
    const s = makeSnapshot(readDumpDir(join(__dirname, '..', '..', 'golden', 'rulesets', 'openclash-fw3-ipv6')));
    const proxies = recognizeProxies(s.ruleset);
    for (const proto of ['tcp', 'udp'] as const) {
      const r6 = evaluateReply(s, { proto, server: V6, port: 443, peer: '3fff:ffff::7', peerPort: 40000 }, proxies);
      assert.ok(typeof r6 !== 'string', String(r6));
      assert.equal(r6.fate, 'proxied');
      assert.equal(r6.rule?.backend, 'ip6tables');
      assert.equal(r6.proxy?.label, 'OpenClash (fw3)');
      assert.deepEqual(proxyFixes(r6.proxy, r6, V6, 443, proto, 'nas6'), [], proto);
      const r4 = evaluateReply(s, { proto, server: V4, port: 443, peer: '93.184.216.34', peerPort: 40000 }, proxies);
      assert.ok(typeof r4 !== 'string', String(r4));
      assert.ok(proxyFixes(r4.proxy, r4, V4, 443, proto, 'nas').length > 0, proto);
    }
  });

  it('proxyFixes on the IPv6 golden rulesets: OpenClash fw4 and nikki still print their fixes for the v6 server', () => {
    const dir = join(__dirname, '..', '..', 'golden', 'rulesets');
    for (const name of ['openclash-fw4-ipv6-tproxy', 'openclash-fw4-ipv6-redirect', 'nikki-tproxy-ipv6']) {
      const s = makeSnapshot(readDumpDir(join(dir, name)));
      const r = evaluateReply(
        s,
        { proto: 'tcp', server: V6, port: 443, peer: '3fff:ffff::7', peerPort: 40000 },
        recognizeProxies(s.ruleset),
      );
      assert.ok(typeof r !== 'string', String(r));
      assert.equal(r.fate, 'proxied', name);
      assert.ok(proxyFixes(r.proxy, r, V6, 443, 'tcp', 'nas6').length > 0, name);
    }
  });
});
