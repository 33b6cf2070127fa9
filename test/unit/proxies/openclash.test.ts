// OpenClash's own fixes around Bypass Gateway Compatible (its masquerade chain openclash_post): the switch-off
// alone only when that masquerade is what breaks the replies, and with common ports and the blacklist, which it
// does not exempt (native-fixes.test.ts shows each in the lab).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { evaluateReply, replyFixes } from '../../../src/detector/rule-attribution';
import {
  BEFORE_REPLY_RETURN_FEATURE,
  BYPASS_GATEWAY_OFF,
  LAN_AC_TRAFFIC_SINCE,
  OPENCLASH,
} from '../../../src/proxies/openclash';
import type { NativeFixContext } from '../../../src/proxies/proxy-module';
import { recognizeProxies } from '../../../src/ruleset/recognize-proxy';
import { makeSnapshot } from '../../../src/ruleset/ruleset-snapshot';
import { readDumpDir } from '../../../src/sensors/ruleset-reader';

const ctx = (over: Partial<NativeFixContext>): NativeFixContext => ({
  server: '192.168.1.10',
  port: 443,
  proto: 'tcp',
  label: 'OpenClash (fw4)',
  features: [],
  redirected: true,
  masqueraded: false,
  ...over,
});

const switchesOff = (uci: unknown[] | undefined) =>
  (uci ?? []).some((c) => JSON.stringify(c) === JSON.stringify(BYPASS_GATEWAY_OFF));

describe('OpenClash fixes and Bypass Gateway Compatible', () => {
  it('without the masquerade chain: no switch-off anywhere', () => {
    const fixes = OPENCLASH.nativeFixes(ctx({}));
    assert.deepEqual(
      fixes.map((f) => f.kind),
      ['proxy_setting', 'proxy_setting', 'proxy_setting'],
    );
    assert.ok(fixes.every((f) => !switchesOff(f.uci) && !/Bypass Gateway/.test(f.text)));
  });

  it('with it, while the proxy takes the replies: common ports and the blacklist carry the switch-off, the entry does not', () => {
    const [entry, common, black, ...rest] = OPENCLASH.nativeFixes(ctx({ features: ['bypass_gateway_compatible'] }));
    assert.equal(rest.length, 0, 'no switch-off of its own');
    assert.match(entry!.text, /lan_ac_traffic/);
    assert.ok(!switchesOff(entry!.uci));
    assert.match(entry!.text, /also exempts it from the Bypass Gateway Compatible masquerade/);
    for (const f of [common!, black!]) {
      assert.ok(switchesOff(f.uci), f.text);
      assert.match(f.text, /together with "Bypass Gateway Compatible" off/);
      assert.ok(
        f.text.includes("uci set openclash.config.bypass_gateway_compatible='0' && uci commit openclash"),
        f.text,
      );
    }
  });

  it('with the masquerade all that breaks the replies: the switch-off alone comes first', () => {
    const fixes = OPENCLASH.nativeFixes(
      ctx({
        features: ['bypass_gateway_compatible', 'common_ports (redir-host)'],
        redirected: false,
        masqueraded: true,
      }),
    );
    assert.equal(fixes[0]?.kind, 'masquerade_setting');
    assert.deepEqual(fixes[0]?.uci, [BYPASS_GATEWAY_OFF]);
  });

  it("a masquerade that is not OpenClash's gets no OpenClash switch", () => {
    const fixes = OPENCLASH.nativeFixes(ctx({ redirected: false, masqueraded: true }));
    assert.ok(fixes.every((f) => f.kind !== 'masquerade_setting' && !switchesOff(f.uci)));
  });

  it('the golden fixture with bypass_gateway_compatible=1: the TCP replies are redirected, and the printed fixes say so', () => {
    const s = makeSnapshot(
      readDumpDir(join(__dirname, '..', '..', 'golden', 'rulesets', 'openclash-fw4-bypass-gateway-compatible')),
    );
    const proxies = recognizeProxies(s.ruleset);
    const q = { proto: 'tcp' as const, server: '192.168.1.10', port: 443, peer: '93.184.216.34', peerPort: 40000 };
    const r = evaluateReply(s, q, proxies);
    assert.ok(typeof r !== 'string' && r.fate === 'proxied');
    const lines = replyFixes(r, '192.168.1.10', 443, 'tcp', 'nas').map((f) => f.text);
    assert.ok(lines.some((l) => l.includes('common_ports') && l.includes('bypass_gateway_compatible')));
    assert.ok(lines.some((l) => l.includes('lan_ac_black_ips') && l.includes('bypass_gateway_compatible')));
    assert.ok(!lines.some((l) => l.startsWith('OpenClash: turn off')));
  });
});

describe('OpenClash releases before and after the `ct direction reply` return (0.46.069)', () => {
  const golden = (name: string) => makeSnapshot(readDumpDir(join(__dirname, '..', '..', 'golden', 'rulesets', name)));
  const featuresOf = (name: string) =>
    recognizeProxies(golden(name).ruleset).find((p) => p.name === 'openclash')?.features;

  it('the 0.46.068 ruleset (no such return) is told apart; the v0.47.071 ones on fw4 and fw3 are not', () => {
    assert.ok(featuresOf('openclash-fw4-0.46-fakeip')?.includes(BEFORE_REPLY_RETURN_FEATURE));
    for (const name of ['openclash-fw4-fakeip', 'openclash-fw4-tun', 'openclash-fw3-fakeip', 'openclash-fw3-tun'])
      assert.ok(!featuresOf(name)?.includes(BEFORE_REPLY_RETURN_FEATURE), name);
  });

  it('0.46.068: the catch-all rules take the replies, and every fix printed is one that release has', () => {
    const s = golden('openclash-fw4-0.46-fakeip');
    const proxies = recognizeProxies(s.ruleset);
    for (const [proto, port, chain] of [
      ['tcp', 443, 'openclash'],
      ['udp', 51820, 'openclash_mangle'],
    ] as const) {
      const r = evaluateReply(
        s,
        { proto, server: '192.168.1.10', port, peer: '93.184.216.34', peerPort: 40000 },
        proxies,
      );
      assert.ok(typeof r !== 'string' && r.fate === 'proxied', proto);
      assert.equal(r.rule?.chain, chain);
      const own = replyFixes(r, '192.168.1.10', port, proto, 'nas').filter((f) => f.proxy === 'openclash');
      // init.d/openclash at bf478f74: firewall_lan_ac_traffic 818-950, lan_ac_black_ips 1375-1381 and 1527 / 1569,
      // common_ports 1310-1316, 1428-1433 and 1536-1537 (redir-host). No lan_ac_black_ports: acb6c27d removed it.
      const options = own.flatMap((f) => (f.uci ?? []).map((c) => c.option ?? c.section));
      assert.ok(
        options.every((o) =>
          /^(lan_ac_traffic|enabled|src_ip|src_port|proto|family|target|comment|common_ports|lan_ac_mode|lan_ac_black_ips)$/.test(
            o,
          ),
        ),
        options.join(' '),
      );
      assert.ok(!options.includes('lan_ac_black_ports'));
      assert.ok(own[0]?.text.includes(`OpenClash ≥ ${LAN_AC_TRAFFIC_SINCE}`));
    }
  });

  it('the Lan Traffic Access List is dated by the release that brought it (0.46.060, not 0.46.059)', () => {
    const [entry] = OPENCLASH.nativeFixes(ctx({}));
    assert.equal(LAN_AC_TRAFFIC_SINCE, '0.46.060');
    assert.deepEqual(entry?.applies, { family: 'ipv4', proxy_versions: '≥ 0.46.060' });
  });
});
