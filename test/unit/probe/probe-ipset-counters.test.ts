// The counters of the fw3 probe's ipsets (`ipset save`), against real
// captures from the lab (test/golden/probe/fw3-ipset-save-*).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseProbeIpsetCounters } from '../../../src/probe/probe-ipset-counters';
import { sampleFromDump } from '../../../src/probe/probe-sample';

const DIR = join(__dirname, '..', '..', 'golden', 'probe');
const golden = (name: string) => readFileSync(join(DIR, name), 'utf8');

describe('parseProbeIpsetCounters', () => {
  it('reads the real captures: fw3 REDIRECT 3 in / 2 out, no proxy 6 / 6 (per peer address)', () => {
    const flows = (name: string) =>
      sampleFromDump(
        { sets: parseProbeIpsetCounters(golden(name)) },
        { in: ['replyguard_in4'], out: ['replyguard_out4'] },
        0,
        1,
      )
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
    assert.equal(parseProbeIpsetCounters(golden('fw3-ipset-save-none.txt')).replyguard_in4?.size, 4096);
  });

  it('skips what it cannot read and never throws (fuzz)', () => {
    const sets = parseProbeIpsetCounters(
      'add replyguard_in4 x,tcp:1,1.2.3.4 packets 1\nadd replyguard_in4 1.2.3.4,tcp:99999,1.2.3.4 packets 1\nadd replyguard_in4 1.2.3.4,tcp:1,1.2.3.4\n',
    );
    assert.deepEqual([sets.replyguard_in4?.elements.length, sets.replyguard_in4?.skipped], [0, 3]);
    const text = golden('fw3-ipset-save-iptables-redirect.txt');
    fc.assert(
      fc.property(fc.string(), fc.nat(text.length), (s, at) => {
        parseProbeIpsetCounters(s);
        parseProbeIpsetCounters(text.slice(0, at) + s + text.slice(at));
      }),
      { numRuns: 500 },
    );
  });
});
