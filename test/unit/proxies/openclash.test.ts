// OpenClash's own fixes around Bypass Gateway Compatible (its masquerade chain openclash_post): the switch-off
// alone only when that masquerade is what breaks the replies, and with common ports and the blacklist, which it
// does not exempt (native-fixes.test.ts shows each in the lab).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { evaluateReply, replyFixes } from '../../../src/detector/rule-attribution';
import { BYPASS_GATEWAY_OFF, OPENCLASH } from '../../../src/proxies/openclash';
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
