// A cap on what the broker may make the daemon hold: MQTT.js buffers a whole packet
// before it parses it, so a 100 MB message on a subscribed topic (a command topic,
// homeassistant/status) would sit in memory whole. This stream sits between the
// socket and MQTT.js, reads only the fixed header of each packet (type byte and
// remaining length) and lets through packets up to `maxBytes`; a longer one is
// skipped as it arrives (never stored), reported once, and — a QoS 1 PUBLISH — acknowledged
// so that the broker does not hold it in flight. Works with MQTT 3.1.1 and 5.

import { Duplex } from 'node:stream';

export interface DroppedPacket {
  /** MQTT control packet type (3 = PUBLISH). */
  type: number;
  /** Bytes of the whole packet. */
  bytes: number;
  /** The first bytes of a PUBLISH's topic (raw; escape before showing). */
  topic?: string;
}

const PUBLISH = 3;
const PUBACK_HEADER = 0x40;
/** How much of a dropped PUBLISH's topic is kept for the log line. */
const TOPIC_KEPT = 128;

type Mode = 'header' | 'pass' | 'skip';

/**
 * Wraps a connected socket (net or tls) for MQTT.js: writes go to the socket; reads are the broker's
 * packets without those longer than maxBytes.
 */
export class IncomingLimit extends Duplex {
  private mode: Mode = 'header';
  private header: number[] = [];
  /** Bytes of the current packet's body still to pass or skip. */
  private left = 0;
  // The packet being skipped.
  private skipType = 0;
  private skipQos = 0;
  private skipTotal = 0;
  private skipOffset = 0;
  private topicLength = -1;
  private topic: number[] = [];
  private packetId = -1;

  /**
   * `fedByCaller`: the socket was made with `onread` (one reused buffer, no allocation per read: a
   * skipped 50 MB message then leaves no garbage behind) and its callback calls feed(); otherwise
   * the socket's 'data' events are read.
   */
  constructor(
    private readonly socket: Duplex,
    private readonly maxBytes: number,
    private readonly onDrop: (d: DroppedPacket) => void,
    fedByCaller = false,
  ) {
    super();
    if (!fedByCaller) {
      socket.on('data', (chunk: Buffer) => {
        if (!this.feed(chunk)) socket.pause();
      });
    }
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, cb);
  }

  /**
   * MQTT.js corks while it writes a packet field by field; the batch must reach the socket as one
   * write too: field by field, Nagle holds all but the first small segment until the broker's
   * delayed ACK, ~40 ms a message.
   */
  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this.socket.cork();
    for (let i = 0; i < chunks.length - 1; i++) this.socket.write(chunks[i]!.chunk);
    this.socket.write(chunks[chunks.length - 1]!.chunk, cb);
    this.socket.uncork();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }

  /** Takes bytes read from the socket (they may be reused afterwards); false: stop reading for now. */
  feed(chunk: Buffer): boolean {
    const out = this.admit(chunk);
    return out.length === 0 || this.push(out);
  }

  /** The bytes of `chunk` that belong to packets let through (a copy). */
  admit(chunk: Buffer): Buffer {
    const pieces: Buffer[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.mode === 'header') {
        const b = chunk[i++]!;
        this.header.push(b);
        // Byte 0 is the type; then the remaining length, 7 bits a byte, up to 4 bytes.
        if (this.header.length === 1) continue;
        if ((b & 0x80) !== 0 && this.header.length < 5) continue;
        let length = 0;
        for (let k = this.header.length - 1; k >= 1; k--) length = length * 128 + (this.header[k]! & 0x7f);
        const total = this.header.length + length;
        if (total <= this.maxBytes) {
          pieces.push(Buffer.from(this.header));
          this.mode = 'pass';
        } else {
          this.startSkip(this.header[0]!, total);
          this.mode = 'skip';
        }
        this.left = length;
        this.header = [];
        if (this.left === 0) this.endPacket();
        continue;
      }
      const n = Math.min(this.left, chunk.length - i);
      if (this.mode === 'pass') pieces.push(chunk.subarray(i, i + n));
      else this.noteSkipped(chunk, i, n);
      i += n;
      this.left -= n;
      if (this.left === 0) this.endPacket();
    }
    return Buffer.concat(pieces);
  }

  private startSkip(first: number, total: number): void {
    this.skipType = first >> 4;
    this.skipQos = (first >> 1) & 3;
    this.skipTotal = total;
    this.skipOffset = 0;
    this.topicLength = -1;
    this.topic = [];
    this.packetId = -1;
  }

  /** Keeps what the log line and the PUBACK need of a skipped PUBLISH: topic length, topic head, packet id. */
  private noteSkipped(chunk: Buffer, from: number, n: number): void {
    if (this.skipType !== PUBLISH) return;
    for (let k = 0; k < n; k++) {
      const off = this.skipOffset + k;
      const tl = this.topicLength;
      if (off >= 2 && off >= 4 + tl) break;
      const b = chunk[from + k]!;
      if (off === 0) this.topicLength = b << 8;
      else if (off === 1) this.topicLength |= b;
      else if (off < 2 + tl && this.topic.length < TOPIC_KEPT) this.topic.push(b);
      else if (off === 2 + tl) this.packetId = b << 8;
      else if (off === 3 + tl) this.packetId |= b;
    }
    this.skipOffset += n;
  }

  private endPacket(): void {
    if (this.mode === 'skip') {
      const d: DroppedPacket = { type: this.skipType, bytes: this.skipTotal };
      if (this.skipType === PUBLISH) d.topic = Buffer.from(this.topic).toString('utf8');
      // QoS 1: acknowledged, or the broker keeps it in flight (and counts it against its window).
      if (this.skipType === PUBLISH && this.skipQos === 1 && this.packetId >= 0 && !this.socket.destroyed)
        this.socket.write(Buffer.from([PUBACK_HEADER, 2, this.packetId >> 8, this.packetId & 0xff]));
      this.onDrop(d);
    }
    this.mode = 'header';
  }
}
