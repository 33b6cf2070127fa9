// A captured trace against explain on golden rulesets: the server's replies
// grouped by kind, each explained kind compared, legacy iptables making a
// disagreement inconclusive.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeSnapshot } from '../../../src/ruleset/ruleset-snapshot';
import { type TraceRequest, traceReport } from '../../../src/ruleset/trace-report';
import { readDumpDir } from '../../../src/sensors/ruleset-reader';

const GOLDEN = join(__dirname, '..', '..', 'golden');
const snapshot = (name: string) => makeSnapshot(readDumpDir(join(GOLDEN, 'rulesets', name)));
/** A REDIRECT lab: the SYN-ACK passes, the first mid-stream ACK is redirected by inet fw4 openclash handle 7. */
const OUTPUT = readFileSync(join(GOLDEN, 'trace', 'nft-redirect-guard-toggle.txt'), 'utf8');
const REQUEST: TraceRequest = {
  server: { ip: '192.168.50.10', port: 443 },
  proto: 'tcp',
  table: 'inet replyguard_trace',
};

describe('traceReport', () => {
  it('groups the replies by kind and compares each kind explain knows', () => {
    const r = traceReport(snapshot('empty'), OUTPUT, REQUEST);
    assert.equal(r.packets, 9);
    assert.deepEqual(
      r.kinds.map((k) => [k.kind, k.packets]),
      [
        ['synack', 2],
        ['ack', 6],
        ['rst', 1],
      ],
    );
    const [synack, ack, rst] = r.kinds;
    assert.equal(synack!.comparison?.agree, true, 'nothing took the SYN-ACK and explain forwards it');
    assert.equal(ack!.comparison?.agree, false, 'the kernel redirected the ACK, the empty ruleset forwards it');
    assert.equal(rst!.comparison, undefined, 'explain is not asked about an RST');
    assert.equal(r.legacy, false);
    assert.deepEqual(
      r.compared.map((k) => k.kind),
      ['synack', 'ack'],
    );
    assert.deepEqual(
      r.disagree.map((k) => k.kind),
      ['ack'],
    );
    assert.equal(r.fingerprint, snapshot('empty').fingerprint);
  });

  it('counts only the traced server', () => {
    const r = traceReport(snapshot('empty'), OUTPUT, { ...REQUEST, server: { ip: '192.168.50.10', port: 444 } });
    assert.equal(r.packets, 0);
    assert.deepEqual(r.kinds, []);
    assert.deepEqual(r.compared, []);
  });

  it('explains on the interface given, else on the one traced', () => {
    const traced = traceReport(snapshot('empty'), OUTPUT, REQUEST);
    assert.equal(traced.kinds[0]!.explain?.packet.in, 'br-lan');
    const given = traceReport(snapshot('empty'), OUTPUT, { ...REQUEST, iif: 'eth9' });
    assert.equal(given.kinds[0]!.explain?.packet.in, 'eth9');
  });

  it('with legacy iptables rules loaded, a disagreement is inconclusive and not counted', () => {
    const r = traceReport(snapshot('passwall-fw3'), OUTPUT, REQUEST);
    assert.equal(r.legacy, true);
    const ack = r.kinds.find((k) => k.kind === 'ack')!;
    assert.equal(ack.comparison?.agree, false);
    assert.match(ack.comparison!.why.at(-1)!, /legacy iptables .*inconclusive/);
    assert.deepEqual(
      r.compared.map((k) => k.kind),
      ['synack'],
    );
    assert.deepEqual(r.disagree, []);
  });
});
