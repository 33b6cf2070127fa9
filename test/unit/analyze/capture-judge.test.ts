// CaptureJudge on hand-made segments: the two views of a forwarded connection
// that `tcpdump -i any` gives (before and after the DNAT) count once; views that
// only look alike do not pair; the tally of servers stays bounded.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CaptureJudge } from '../../../src/analyze/capture-judge';
import type { TcpPacket } from '../../../src/capture/tcp-packet';

const PEER = '203.0.113.50';
const WAN = '203.0.113.1';
const SERVER = '192.168.50.10';

function seg(p: Partial<TcpPacket> & Pick<TcpPacket, 'src' | 'sport' | 'dst' | 'dport'>): TcpPacket {
  return { syn: false, ack: false, fin: false, rst: false, len: 0, where: 'test', ...p };
}

/**
 * One connection REDIRECT-hijacked after the server, as -i any shows it: each segment on the WAN side
 * (outside address) and on the LAN side (server address); the reset in the server's name at ISN+1.
 */
function hijackedBothViews(j: CaptureJudge, sport: number, clientIsn: number, serverIsn: number): void {
  const views: Array<[string, number]> = [
    [WAN, 9443],
    [SERVER, 443],
  ];
  for (const [addr, port] of views) j.add(seg({ src: PEER, sport, dst: addr, dport: port, syn: true, seq: clientIsn }));
  for (const [addr, port] of [...views].reverse())
    j.add(seg({ src: addr, sport: port, dst: PEER, dport: sport, syn: true, ack: true, seq: serverIsn }));
  for (const [addr, port] of views) {
    j.add(seg({ src: PEER, sport, dst: addr, dport: port, ack: true, seq: clientIsn + 1, ackNo: serverIsn + 1 }));
    j.add(
      seg({ src: PEER, sport, dst: addr, dport: port, ack: true, seq: clientIsn + 1, ackNo: serverIsn + 1, len: 100 }),
    );
  }
  j.add(seg({ src: WAN, sport: 9443, dst: PEER, dport: sport, rst: true, seq: serverIsn + 1 }));
}

describe('CaptureJudge', () => {
  it('judges the two views of a forwarded connection (before and after the DNAT) as one connection of the server', () => {
    const j = new CaptureJudge();
    for (let n = 0; n < 3; n++) hijackedBothViews(j, 40000 + n, 1000 + n * 7919, 5000 + n * 104729);
    const r = j.finish();
    assert.deepEqual(r.connections, { hijacked: 3, healthy: 0, no_answer: 0, unclear: 0 });
    assert.equal(r.findings.length, 1);
    const [f] = r.findings;
    assert.equal(f?.server, `${SERVER}:443`);
    assert.equal(f?.forward, `${WAN}:9443`);
    assert.equal(f?.count, 3);
    assert.equal(f?.confidence, 'high');
    assert.deepEqual(f?.peers, [PEER]);
  });

  it('keeps two connections apart whose SYNs from the same client port carry different sequence numbers', () => {
    const j = new CaptureJudge();
    j.add(seg({ src: PEER, sport: 40000, dst: WAN, dport: 9443, syn: true, seq: 1 }));
    j.add(seg({ src: PEER, sport: 40000, dst: SERVER, dport: 443, syn: true, seq: 2 }));
    const r = j.finish();
    assert.equal(r.connections.no_answer, 2);
    assert.deepEqual(r.notes.map((n) => n.server).sort(), [`${SERVER}:443`, `${WAN}:9443`]);
  });

  it('bounds the servers it tallies, counting the connections to further servers', () => {
    const j = new CaptureJudge();
    for (let n = 0; n < 5000; n++)
      j.add(seg({ src: PEER, sport: 40000, dst: `10.${n >> 8}.${n & 255}.1`, dport: 443, syn: true, seq: n }));
    const r = j.finish();
    assert.equal(r.connections.no_answer + r.unlisted, 5000);
    assert.ok(r.unlisted > 0, 'some connections counted only');
    assert.ok(r.notes.length <= 4096, `${r.notes.length} servers listed`);
  });
});
