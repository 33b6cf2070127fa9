// The fw3 fallback of the probe (pure parts): the iptables + ipset rules as
// text, the check of `iptables-save -t mangle`, and the `ipset save` parser,
// against real captures from the lab (test/golden/probe/fw3-*).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parsePrefix } from '../../../src/net/ip-address';
import { parseIpsetSave } from '../../../src/probe/ipset-save';
import { checkIptablesProbe, iptablesJumps, iptablesProbeRules } from '../../../src/probe/probe-iptables';
import { sampleFromDump } from '../../../src/probe/probe-sample';

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
    for (const line of rules.iptablesScript.split('\n').filter((l) => l.startsWith('-A'))) {
      const target = / -j (\S+)/.exec(line)?.[1];
      assert.ok(target === 'RETURN' || target === 'SET' || target?.startsWith('replyguard_'), line);
    }
  });

  it('tags every rule and jump with the fingerprint; PREROUTING jump goes first', () => {
    for (const line of rules.iptablesScript.split('\n').filter((l) => l.startsWith('-A'))) {
      assert.ok(line.includes(`--comment "${rules.comment}"`), line);
    }
    const [pre, post] = iptablesJumps(rules.comment);
    assert.deepEqual(pre?.argv.slice(0, 3), ['-I', 'PREROUTING', '1']);
    assert.deepEqual(post?.argv.slice(0, 2), ['-A', 'POSTROUTING']);
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

describe('parseIpsetSave', () => {
  it('reads the real captures: fw3 REDIRECT 3 in / 2 out, no proxy 6 / 6 (per peer address)', () => {
    const flows = (name: string) =>
      sampleFromDump({ sets: parseIpsetSave(golden(name)) }, { in: ['replyguard_in4'], out: ['replyguard_out4'] }, 0, 1)
        .flows.map((f) => [f.proto, f.serverPort, f.peer, f.peerPort, f.in, f.out])
        .sort();
    assert.deepEqual(flows('fw3-ipset-save-iptables-redirect.txt'), [
      ['tcp', 443, '203.0.113.50', 0, 3, 2],
      ['udp', 51820, '203.0.113.50', 0, 1, 1],
    ]);
    assert.deepEqual(flows('fw3-ipset-save-none.txt'), [
      ['tcp', 443, '203.0.113.50', 0, 6, 6],
      ['udp', 51820, '203.0.113.50', 0, 1, 1],
    ]);
    assert.equal(parseIpsetSave(golden('fw3-ipset-save-none.txt')).replyguard_in4?.size, 4096);
  });

  it('skips what it cannot read and never throws (fuzz)', () => {
    const sets = parseIpsetSave(
      'add replyguard_in4 x,tcp:1,1.2.3.4 packets 1\nadd replyguard_in4 1.2.3.4,tcp:99999,1.2.3.4 packets 1\nadd replyguard_in4 1.2.3.4,tcp:1,1.2.3.4\n',
    );
    assert.deepEqual([sets.replyguard_in4?.elements.length, sets.replyguard_in4?.skipped], [0, 3]);
    const text = golden('fw3-ipset-save-iptables-redirect.txt');
    fc.assert(
      fc.property(fc.string(), fc.nat(text.length), (s, at) => {
        parseIpsetSave(s);
        parseIpsetSave(text.slice(0, at) + s + text.slice(at));
      }),
      { numRuns: 500 },
    );
  });
});
