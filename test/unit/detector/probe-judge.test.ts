// The in/out decision (pure): when a reply flow counts as swallowed, as passed,
// or not yet judged; and, property-tested, that a flow whose replies all left
// is never called swallowed however the readings fall.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ProbeJudge } from '../../../src/detector/probe-judge';
import type { ProbeFlowCount, ProbeSample } from '../../../src/probe/probe-sample';

function flow(peerPort: number, inN: number, out: number, proto: 'tcp' | 'udp' = 'tcp'): ProbeFlowCount {
  return { proto, server: '192.168.50.10', serverPort: 443, peer: '203.0.113.50', peerPort, in: inN, out };
}

function sample(at: number, flows: ProbeFlowCount[], extra: Partial<ProbeSample> = {}): ProbeSample {
  return { at, generation: 1, flows, inFull: false, outFull: false, ...extra };
}

describe('ProbeJudge', () => {
  it('TPROXY/TUN: in without out is swallowed on the second reading that still shows it', () => {
    const j = new ProbeJudge(100);
    const r1 = j.judge(sample(0, [flow(1, 1, 0)]));
    assert.deepEqual(r1.observations, []);
    assert.equal(r1.pending, true, 'a deficit asks for a quick second reading');
    const r2 = j.judge(sample(300, [flow(1, 1, 0)]));
    assert.equal(r2.pending, false);
    assert.deepEqual(
      r2.observations.map((o) => [o.kind, o.packetsIn, o.packetsOut, o.lost, o.windowMs, o.first]),
      [['swallowed', 1, 0, 1, 300, true]],
    );
    // Retransmissions: still swallowed, no longer the first.
    const r3 = j.judge(sample(2300, [flow(1, 3, 0)]));
    assert.equal(r3.pending, true);
    const r4 = j.judge(sample(2600, [flow(1, 3, 0)]));
    assert.deepEqual(
      r4.observations.map((o) => [o.kind, o.packetsIn, o.lost, o.first]),
      [['swallowed', 3, 3, false]],
    );
  });

  it('nat REDIRECT (3 in, 2 out) counts as swallowed too', () => {
    const j = new ProbeJudge(100);
    j.judge(sample(0, [flow(1, 3, 2)]));
    const r = j.judge(sample(300, [flow(1, 3, 2)]));
    assert.deepEqual(
      r.observations.map((o) => [o.kind, o.packetsIn, o.packetsOut, o.lost]),
      [['swallowed', 3, 2, 1]],
    );
  });

  it('a reply caught in flight is not swallowed once it has left', () => {
    const j = new ProbeJudge(100);
    assert.equal(j.judge(sample(0, [flow(1, 2, 1)])).pending, true);
    const r = j.judge(sample(300, [flow(1, 4, 4)]));
    assert.deepEqual(r.observations, []);
    assert.equal(r.pending, false);
    assert.deepEqual(
      j.judge(sample(2300, [flow(1, 4, 4)])).observations.map((o) => o.kind),
      ['passed'],
    );
  });

  it('healthy flows are passed one reading later (nothing went missing in between), first once', () => {
    const j = new ProbeJudge(100);
    assert.deepEqual(j.judge(sample(0, [flow(1, 6, 6)])).observations, []);
    const r2 = j.judge(sample(2000, [flow(1, 6, 6)]));
    assert.deepEqual(
      r2.observations.map((o) => [o.kind, o.first, o.packetsIn, o.packetsOut]),
      [['passed', true, 6, 6]],
    );
    assert.deepEqual(j.judge(sample(4000, [flow(1, 6, 6)])).observations, [], 'nothing new, nothing said');
    assert.deepEqual(j.judge(sample(6000, [flow(1, 8, 8)])).observations, []);
    const r5 = j.judge(sample(8000, [flow(1, 9, 9)]));
    assert.deepEqual(
      r5.observations.map((o) => [o.kind, o.first, o.packetsIn]),
      [['passed', false, 9]],
    );
  });

  it('nat REDIRECT read between the SYN-ACK and the next packet: never passed, then swallowed', () => {
    const j = new ProbeJudge(100);
    assert.deepEqual(j.judge(sample(0, [flow(1, 1, 1)])).observations, []);
    const r2 = j.judge(sample(2000, [flow(1, 3, 2)]));
    assert.deepEqual(r2.observations, []);
    assert.equal(r2.pending, true);
    assert.deepEqual(
      j.judge(sample(2300, [flow(1, 3, 2)])).observations.map((o) => o.kind),
      ['swallowed'],
    );
  });

  it('a UDP flow (WireGuard keeps its ports) is passed again once its replies pass again', () => {
    const j = new ProbeJudge(100);
    const udp = (inN: number, out: number) => flow(1, inN, out, 'udp');
    j.judge(sample(0, [udp(2, 0)]));
    assert.deepEqual(
      j.judge(sample(300, [udp(2, 0)])).observations.map((o) => o.kind),
      ['swallowed'],
    );
    assert.deepEqual(j.judge(sample(2300, [udp(4, 2)])).observations, [], 'passing again, said a reading later');
    assert.deepEqual(
      j.judge(sample(4300, [udp(4, 2)])).observations.map((o) => [o.kind, o.lost]),
      [['passed', 2]],
    );
  });

  it('a fw3 flow (per peer address) is passed again when a new connection passes (3+ replies)', () => {
    const j = new ProbeJudge(100);
    const agg = (inN: number, out: number) => ({ ...flow(0, inN, out), peerPort: 0 });
    j.judge(sample(0, [agg(3, 2)]));
    j.judge(sample(300, [agg(3, 2)]));
    j.judge(sample(2300, [agg(4, 3)]));
    assert.deepEqual(j.judge(sample(4300, [agg(4, 3)])).observations, [], 'one stray RST proves nothing');
    j.judge(sample(6300, [agg(10, 9)]));
    assert.deepEqual(
      j.judge(sample(8300, [agg(10, 9)])).observations.map((o) => o.kind),
      ['passed'],
    );
  });

  it('a TCP connection that lost replies is not called passed when later replies pass', () => {
    const j = new ProbeJudge(100);
    j.judge(sample(0, [flow(1, 3, 2)]));
    j.judge(sample(300, [flow(1, 3, 2)]));
    const r = j.judge(sample(2300, [flow(1, 5, 4)]));
    assert.deepEqual(r.observations, []);
  });

  it('starts a flow over when its counters restart (element timed out), and everything on a new install', () => {
    const j = new ProbeJudge(100);
    j.judge(sample(0, [flow(1, 5, 0)]));
    assert.deepEqual(j.judge(sample(300, [flow(1, 1, 0)])).observations, [], 'restart: no verdict yet');
    assert.equal(j.size, 1);
    j.judge(sample(600, [flow(1, 1, 0)], { generation: 2 }));
    const r = j.judge(sample(900, [flow(1, 1, 0)], { generation: 2 }));
    assert.deepEqual(
      r.observations.map((o) => [o.kind, o.first]),
      [['swallowed', true]],
    );
  });

  it('does not judge flows the full out set may have missed', () => {
    const j = new ProbeJudge(100);
    j.judge(sample(0, [flow(1, 2, 0)], { outFull: true }));
    const r = j.judge(sample(300, [flow(1, 2, 0)], { outFull: true }));
    assert.deepEqual(r.observations, []);
    assert.equal(r.pending, false);
  });

  it('forgets flows that left the sets and follows at most maxFlows', () => {
    const j = new ProbeJudge(2);
    j.judge(sample(0, [flow(1, 1, 1), flow(2, 1, 1), flow(3, 1, 1)]));
    assert.equal(j.size, 2);
    assert.equal(j.evicted, 1);
    j.judge(sample(1000, [flow(2, 1, 1)]));
    assert.equal(j.size, 1);
  });

  it('never calls swallowed a flow whose replies all left, however readings fall between the hooks', () => {
    // Each step some replies pass. A reading reads in before out, so a reply
    // passing during the reading is seen out but not yet in (or in neither);
    // and once in a while one straggles between the hooks (in, not yet out) —
    // never in two readings in a row.
    const step = fc.record({
      passed: fc.nat(5),
      during: fc.nat(3),
      straggler: fc.boolean(),
      gapMs: fc.integer({ min: 1, max: 3000 }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), (steps) => {
        const j = new ProbeJudge(10);
        let inN = 0;
        let out = 0;
        let at = 0;
        let lastStraggled = false;
        for (const s of steps) {
          inN += s.passed;
          out += s.passed;
          at += s.gapMs;
          const straggle: boolean = s.straggler && !lastStraggled;
          lastStraggled = straggle;
          const seen = flow(1, inN + (straggle ? 1 : 0), out + s.during);
          const r = j.judge(sample(at, [seen]));
          assert.ok(
            r.observations.every((o) => o.kind === 'passed'),
            JSON.stringify(r),
          );
          inN += s.during + (straggle ? 1 : 0);
          out += s.during + (straggle ? 1 : 0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reports every swallowed reply, at most one reading late, and never more than were swallowed', () => {
    const step = fc.record({ passed: fc.nat(4), swallowed: fc.nat(2) });
    fc.assert(
      fc.property(fc.array(step, { minLength: 2, maxLength: 30 }), (steps) => {
        const j = new ProbeJudge(10);
        let inN = 0;
        let out = 0;
        let reported = 0;
        let at = 0;
        for (const s of steps) {
          inN += s.passed + s.swallowed;
          out += s.passed;
          at += 1000;
          for (const o of j.judge(sample(at, [flow(1, inN, out)])).observations) {
            if (o.kind === 'swallowed') reported = o.lost;
          }
          assert.ok(reported <= inN - out);
        }
        // One more reading with nothing new: everything swallowed is reported.
        for (const o of j.judge(sample(at + 1000, [flow(1, inN, out)])).observations) {
          if (o.kind === 'swallowed') reported = o.lost;
        }
        assert.equal(reported, inN - out);
      }),
      { numRuns: 300 },
    );
  });
});
