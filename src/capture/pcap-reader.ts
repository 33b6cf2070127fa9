// Pure push parser for pcap and pcapng files (tcpdump -w, Wireshark, dumpcap),
// told apart by their magic numbers: bytes in, in chunks of any size, TCP
// segments out. It holds at most one record, and no record may exceed
// MAX_RECORD: a file of any length is read in bounded memory. Broken input
// ends the reading with an error naming the byte offset.

import { isKnownLinkType, tcpOfFrame } from './link-frame';
import type { TcpPacket } from './tcp-packet';

const MAX_RECORD = 1 << 20;

export type CaptureFileKind = 'pcap' | 'pcapng';

/** pcap or pcapng by the first four bytes, or undefined. */
export function captureFileKind(head: Uint8Array): CaptureFileKind | undefined {
  if (head.length < 4) return undefined;
  const be = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  if (be === 0x0a0d0d0a) return 'pcapng';
  if (be === 0xa1b2c3d4 || be === 0xd4c3b2a1 || be === 0xa1b23c4d || be === 0x4d3cb2a1) return 'pcap';
  return undefined;
}

interface Iface {
  linkType: number;
  /** Timestamp units per second. */
  tsPerSec: number;
}

export class PcapReader {
  private buf: Buffer = Buffer.alloc(0);
  /** Byte offset in the file of buf[0]. */
  private offset = 0;
  private kind: CaptureFileKind | undefined;
  private little = true;
  private nanos = false;
  private linkType = 0;
  private readonly ifaces: Iface[] = [];
  private recordNo = 0;
  error: string | undefined;
  /** Frames read, frames holding no TCP, frames it could not read. */
  readonly counts = { records: 0, notTcp: 0, unreadable: 0 };
  readonly firstProblems: string[] = [];

  constructor(private readonly onPacket: (p: TcpPacket) => void) {}

  get format(): CaptureFileKind | undefined {
    return this.kind;
  }

  write(chunk: Buffer): void {
    if (this.error) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let pos = 0;
    for (;;) {
      const used = this.step(pos);
      if (used === 0 || this.error) break;
      pos += used;
    }
    // Keep only the unfinished record, copied: the chunk's memory may be reused by the caller.
    this.offset += pos;
    this.buf = Buffer.from(this.buf.subarray(pos));
  }

  end(): void {
    if (this.error) return;
    if (this.kind === undefined) this.fail(0, 'not a pcap or pcapng file (no magic number)');
    else if (this.buf.length > 0) this.fail(this.offset, `file ends inside a record (${this.buf.length} bytes left)`);
  }

  /** Consumes one header, block or record at buf[pos…]; returns its length, or 0 when more bytes are needed. */
  private step(pos: number): number {
    const b = this.buf;
    const left = b.length - pos;
    if (this.kind === undefined) {
      if (left < 4) return 0;
      this.kind = captureFileKind(b.subarray(pos, pos + 4));
      if (!this.kind) {
        this.fail(0, 'not a pcap or pcapng file (no magic number)');
        return 0;
      }
      if (this.kind === 'pcapng') return 0 + this.pcapngBlock(pos);
      if (left < 24) {
        this.kind = undefined;
        return 0;
      }
      const magic = b.readUInt32BE(pos);
      this.little = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
      this.nanos = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
      this.linkType = this.u32(pos + 20) & 0xffff;
      if (!isKnownLinkType(this.linkType)) this.fail(20, `link type ${this.linkType} is not supported`);
      return 24;
    }
    return this.kind === 'pcap' ? this.pcapRecord(pos) : this.pcapngBlock(pos);
  }

  private pcapRecord(pos: number): number {
    if (this.buf.length - pos < 16) return 0;
    const incl = this.u32(pos + 8);
    if (incl > MAX_RECORD) {
      this.fail(this.offset + pos + 8, `record length ${incl} is beyond ${MAX_RECORD} bytes: not a pcap record`);
      return 0;
    }
    if (this.buf.length - pos < 16 + incl) return 0;
    const sec = this.u32(pos);
    const frac = this.u32(pos + 4);
    const at = sec * 1e6 + (this.nanos ? Math.floor(frac / 1000) : frac);
    this.frame(this.linkType, this.buf.subarray(pos + 16, pos + 16 + incl), pos, at);
    return 16 + incl;
  }

  private pcapngBlock(pos: number): number {
    const b = this.buf;
    if (b.length - pos < 12) return 0;
    const typeBE = b.readUInt32BE(pos);
    if (typeBE === 0x0a0d0d0a) {
      // Section header: its byte-order magic tells how to read everything up to the next one.
      const bom = b.readUInt32BE(pos + 8);
      if (bom === 0x1a2b3c4d) this.little = false;
      else if (bom === 0x4d3c2b1a) this.little = true;
      else {
        this.fail(this.offset + pos + 8, 'pcapng section header without its byte-order magic');
        return 0;
      }
      this.ifaces.length = 0;
    }
    const len = this.u32(pos + 4);
    if (len < 12 || len % 4 !== 0 || len > MAX_RECORD) {
      this.fail(this.offset + pos + 4, `pcapng block length ${len} is not valid`);
      return 0;
    }
    if (b.length - pos < len) return 0;
    if (this.u32(pos + len - 4) !== len) {
      this.fail(this.offset + pos + len - 4, 'pcapng block lengths at its start and end differ');
      return 0;
    }
    const type = this.u32(pos);
    if (type === 1) this.interfaceBlock(pos, len);
    else if (type === 6 || type === 3) this.packetBlock(type, pos, len);
    return len;
  }

  private interfaceBlock(pos: number, len: number): void {
    const iface: Iface = { linkType: this.u16(pos + 8), tsPerSec: 1e6 };
    // Options: if_tsresol (code 9) changes the timestamp unit.
    for (let o = pos + 16; o + 4 <= pos + len - 4; ) {
      const code = this.u16(o);
      const olen = this.u16(o + 2);
      if (code === 0) break;
      if (code === 9 && olen >= 1) {
        const r = this.buf[o + 4]!;
        iface.tsPerSec = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
      }
      o += 4 + Math.ceil(olen / 4) * 4;
    }
    this.ifaces.push(iface);
  }

  private packetBlock(type: number, pos: number, len: number): void {
    let iface: Iface | undefined;
    let at: number | undefined;
    let data: number;
    let capLen: number;
    if (type === 6) {
      iface = this.ifaces[this.u32(pos + 8)];
      const ts = this.u32(pos + 12) * 2 ** 32 + this.u32(pos + 16);
      if (iface) at = Math.floor((ts / iface.tsPerSec) * 1e6);
      capLen = this.u32(pos + 20);
      data = pos + 28;
    } else {
      iface = this.ifaces[0];
      capLen = Math.min(this.u32(pos + 8), len - 16);
      data = pos + 12;
    }
    if (!iface) {
      this.problem(`packet block at byte ${this.offset + pos} names an interface the file never described`);
      return;
    }
    if (data + capLen > pos + len - 4) {
      this.problem(`packet block at byte ${this.offset + pos}: captured length ${capLen} exceeds the block`);
      return;
    }
    this.frame(iface.linkType, this.buf.subarray(data, data + capLen), pos, at);
  }

  private frame(linkType: number, frame: Buffer, pos: number, at: number | undefined): void {
    this.recordNo++;
    this.counts.records++;
    const where = `packet ${this.recordNo} (byte ${this.offset + pos})`;
    const r = tcpOfFrame(linkType, frame, where, at);
    if (r === undefined) this.counts.notTcp++;
    else if (typeof r === 'string') this.problem(`${where}: ${r}`);
    else this.onPacket(r);
  }

  private problem(text: string): void {
    this.counts.unreadable++;
    if (this.firstProblems.length < 20) this.firstProblems.push(text);
  }

  private fail(at: number, what: string): void {
    this.error = `byte ${at}: ${what}`;
  }

  private u32(i: number): number {
    return this.little ? this.buf.readUInt32LE(i) : this.buf.readUInt32BE(i);
  }

  private u16(i: number): number {
    return this.little ? this.buf.readUInt16LE(i) : this.buf.readUInt16BE(i);
  }
}
