// The MQTT incoming size limit on byte streams: packets up to the limit pass unchanged
// however the bytes are cut into chunks; a longer one is skipped as it arrives, reported
// once with its topic and size, and a QoS 1 PUBLISH is acknowledged to the broker.

import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { generate, parser } from 'mqtt-packet';
import { type DroppedPacket, IncomingLimit } from '../../../src/outputs/incoming-limit';

const MAX = 1024;

function fakeSocket(): { socket: Duplex; written: Buffer[]; batches: number[] } {
  const written: Buffer[] = [];
  /** How many chunks each write to the socket carried (a net.Socket sends a batch with one writev). */
  const batches: number[] = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk);
      batches.push(1);
      cb();
    },
    writev(chunks, cb) {
      for (const c of chunks) written.push(c.chunk as Buffer);
      batches.push(chunks.length);
      cb();
    },
  });
  return { socket, written, batches };
}

const publish = (topic: string, size: number, qos: 0 | 1, messageId = 1) =>
  generate({ cmd: 'publish', topic, payload: Buffer.alloc(size, 0x61), qos, messageId, retain: false, dup: false });

/** Feeds `bytes` cut at `cuts` and returns what passed. */
function run(bytes: Buffer, cuts: number[]): { out: Buffer; drops: DroppedPacket[]; written: Buffer[] } {
  const { socket, written } = fakeSocket();
  const drops: DroppedPacket[] = [];
  const limit = new IncomingLimit(socket, MAX, (d) => drops.push(d));
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    out.push(limit.admit(bytes.subarray(from, p)));
    from = p;
  }
  socket.destroy();
  return { out: Buffer.concat(out), drops, written };
}

describe('IncomingLimit', () => {
  const small1 = publish('replyguard/r1/guard/set', 2, 1, 5);
  const big = publish('replyguard/r1/guard/set', 50_000, 1, 0x1234);
  const small2 = generate({ cmd: 'pingresp' });
  const bigQos0 = publish('homeassistant/status', 3000, 0);
  const atLimit = publish('x', MAX - 6, 0); // 1 type byte, 2 length bytes, 2 + 1 topic

  it('a packet MQTT.js writes field by field while corked reaches the socket as one batch, in order', async () => {
    const { socket, written, batches } = fakeSocket();
    const limit = new IncomingLimit(socket, MAX, () => {});
    const fields = ['3', '\x1e', '\x00\x18', 'replyguard/bench/problem', 'ON'].map((f) => Buffer.from(f, 'latin1'));
    limit.cork();
    for (const f of fields) limit.write(f);
    await new Promise<void>((resolve) => {
      limit.write(Buffer.from('last'), () => resolve());
      limit.uncork();
    });
    assert.deepEqual(batches, [fields.length + 1]);
    assert.equal(Buffer.concat(written).toString('latin1'), `3\x1e\x00\x18replyguard/bench/problemONlast`);
    // Uncorked, a single write stays a single write.
    await new Promise<void>((resolve) => limit.write(Buffer.from('x'), () => resolve()));
    assert.deepEqual(batches, [fields.length + 1, 1]);
  });

  it('passes packets up to the limit unchanged and skips longer ones, whatever the chunking', () => {
    assert.equal(atLimit.length, MAX);
    const input = Buffer.concat([small1, big, small2, bigQos0, atLimit]);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
        const { out, drops, written } = run(input, cuts);
        assert.deepEqual(out, Buffer.concat([small1, small2, atLimit]));
        assert.deepEqual(drops, [
          { type: 3, bytes: big.length, topic: 'replyguard/r1/guard/set' },
          { type: 3, bytes: bigQos0.length, topic: 'homeassistant/status' },
        ]);
        // One PUBACK, for the QoS 1 message, with its packet id.
        assert.deepEqual(Buffer.concat(written), Buffer.from([0x40, 0x02, 0x12, 0x34]));
      }),
      { numRuns: 300 },
    );
  });

  it('what passes still parses as MQTT (the stream stays in step)', () => {
    const input = Buffer.concat([big, small1, big, small1]);
    const { out } = run(input, [1, 2, 3, 500, 50_003]);
    const p = parser();
    const got: string[] = [];
    p.on('packet', (pk) => got.push(`${pk.cmd} ${'messageId' in pk ? pk.messageId : ''}`));
    p.parse(out);
    assert.deepEqual(got, ['publish 5', 'publish 5']);
  });

  it('a 50 MB message is never held: only the header bytes are kept while it streams past', () => {
    const { socket } = fakeSocket();
    const drops: DroppedPacket[] = [];
    const limit = new IncomingLimit(socket, MAX, (d) => drops.push(d));
    const header = publish('t', 0, 0).subarray(0, 1);
    // Remaining length 50 MB as a variable-length integer, then the topic, then 64 KiB chunks.
    let n = 50 * 1024 * 1024 + 3;
    const len: number[] = [];
    do {
      let b = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) b |= 0x80;
      len.push(b);
    } while (n > 0);
    assert.equal(limit.admit(Buffer.from([header[0]!, ...len, 0, 1, 0x74])).length, 0);
    const chunk = Buffer.alloc(65536, 0x41);
    for (let i = 0; i < 800; i++) assert.equal(limit.admit(chunk).length, 0);
    assert.equal(drops.length, 1);
    socket.destroy();
  });
});
