// The fw3 fallback of the probe (pure parts): the iptables + ipset rules as
// text and the check of `iptables-save -t mangle`, against real captures from
// the lab (test/golden/probe/fw3-*).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parsePrefix } from '../../../src/net/ip-address';
import { checkIptablesProbe, iptablesProbeRules } from '../../../src/probe/probe-iptables';

const DIR = join(__dirname, '..', '..', 'golden', 'probe');
const golden = (name: string) => readFileSync(join(DIR, name), 'utf8');
const INPUT = {
  lan: [parsePrefix('192.168.50.0/24')!, parsePrefix('fd50::/64')!],
  lanInterfaces: ['br-lan'],
  udpForwards: [
    { host: '192.168.50.10', port: 51820 },
    { host: 'fd50::10', port: 1 },
  ],
  intervalS: 2,
  setSize: 4096,
};

describe('iptablesProbeRules', () => {
  const rules = iptablesProbeRules(INPUT);

  it('is the golden the lab loaded (IPv4 only)', () => {
    assert.equal(rules.ipsetScript, golden('fw3-ipset.txt'));
    assert.equal(rules.iptablesScript, golden('fw3-iptables.txt'));
    assert.doesNotMatch(rules.ipsetScript + rules.iptablesScript, /fd50/);
  });

  it('counts into capped, timed-out ipsets keyed server ip, proto:port, peer ip, each packet once', () => {
    assert.match(
      rules.ipsetScript,
      /^create replyguard_in4 hash:ip,port,ip family inet counters timeout 60 maxelem 4096$/m,
    );
    assert.match(rules.ipsetScript, /^add replyguard_udp4 192\.168\.50\.10,udp:51820$/m);
    const cin = rules.iptablesScript.split('\n').filter((l) => l.startsWith('-A replyguard_cin'));
    assert.equal(cin.length, 2);
    assert.match(cin[0]!, /-m set --match-set replyguard_in4 src,src,dst -j RETURN$/);
    assert.match(cin[1]!, /-j SET --add-set replyguard_in4 src,src,dst$/);
    assert.doesNotMatch(rules.iptablesScript, /--exist/, 'a re-add would reset the counters');
  });

  it('has no verdict: only RETURN from its own chains, jumps to its own chains, and SET', () => {
    for (const line of rules.iptablesScript.split('\n').filter((l) => /^-[AI] /.test(l))) {
      const target = / -j (\S+)/.exec(line)?.[1];
      assert.ok(target === 'RETURN' || target === 'SET' || target?.startsWith('replyguard_'), line);
    }
  });

  it('tags every rule and jump with the fingerprint; the jumps are in the same transaction, PREROUTING first', () => {
    for (const line of rules.iptablesScript.split('\n').filter((l) => /^-[AI] /.test(l))) {
      assert.ok(line.includes(`--comment "${rules.comment}"`), line);
    }
    const jumps = rules.iptablesScript.split('\n').filter((l) => /^-[AI] (PRE|POST)ROUTING /.test(l));
    assert.deepEqual(jumps, [
      `-I PREROUTING 1 -m comment --comment "${rules.comment}" -j replyguard_pre`,
      `-A POSTROUTING -m comment --comment "${rules.comment}" -j replyguard_post`,
    ]);
    assert.notEqual(iptablesProbeRules({ ...INPUT, udpForwards: [] }).fingerprint, rules.fingerprint);
  });
});

describe('checkIptablesProbe', () => {
  const save = golden('fw3-iptables-save-mangle.txt');
  const rules = iptablesProbeRules(INPUT);

  it('accepts what was installed (real iptables-save)', () => {
    const r = checkIptablesProbe(save, rules);
    assert.equal(r.ok, true, r.why);
    assert.deepEqual(r.jumps, { PREROUTING: [1], POSTROUTING: [1] });
    assert.deepEqual(r.deletes, [
      ['-D', 'PREROUTING', '-m', 'comment', '--comment', rules.comment, '-j', 'replyguard_pre'],
      ['-D', 'POSTROUTING', '-m', 'comment', '--comment', rules.comment, '-j', 'replyguard_post'],
    ]);
  });

  it('notices a rule above its jump, a flushed chain, a changed fingerprint, a doubled jump', () => {
    const above = save.replace('-A PREROUTING', '-A PREROUTING -p udp -j RETURN\n-A PREROUTING');
    assert.match(checkIptablesProbe(above, rules).why ?? '', /inserted above/);
    assert.deepEqual(checkIptablesProbe(above, rules).jumps.PREROUTING, [2]);
    const flushed = save
      .split('\n')
      .filter((l) => !l.startsWith('-A replyguard_cin'))
      .join('\n');
    assert.match(checkIptablesProbe(flushed, rules).why ?? '', /replyguard_cin was changed/);
    const other = iptablesProbeRules({ ...INPUT, intervalS: 30 });
    assert.equal(checkIptablesProbe(save, other).ok, false);
    const doubled = save.replace(/^(-A POSTROUTING .*)$/m, '$1\n$1');
    assert.match(checkIptablesProbe(doubled, rules).why ?? '', /doubled/);
    assert.match(checkIptablesProbe('*mangle\nCOMMIT\n', rules).why ?? '', /chains are gone/);
  });
});
