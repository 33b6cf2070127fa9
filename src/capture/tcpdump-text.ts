// Pure parser for tcpdump's text output: `-n`/`-nn`, any `-v` level (the
// two-line form of -v, whose IP header line comes first), with or without
// `-e`, `-i any` (interface and direction), every timestamp form (-t … -ttttt),
// IPv4 and IPv6, VLAN tags. Only TCP segments are returned; other lines are
// skipped, and a line that looks like a TCP segment but cannot be read is an
// error naming what is wrong. Forum pastes replace addresses by tokens such as
// "<家公网IP>": any token without blanks is taken as a host.

import type { TcpPacket } from './tcp-packet';

export type TcpdumpLineResult = { packet: TcpPacket } | { error: string } | { skip: true };

const MAX_LINE = 8192;
/** "SRC.PORT > DST.PORT: Flags [...]" — the host is anything without blanks, the port the last dotted part. */
const SEGMENT = /(?:^|\s)(\S+)\.([A-Za-z0-9-]+) > (\S+)\.([A-Za-z0-9-]+): Flags \[([^\]]*)\](.*)$/;
const TIME_OF_DAY = /^(?:(\d{4})-(\d\d)-(\d\d) )?(\d{1,2}):(\d\d):(\d\d)(?:\.(\d{1,9}))?\s/;
const EPOCH = /^(\d{1,12})\.(\d{1,9})\s/;

/**
 * Reads tcpdump text line by line. Holds at most one line of state: the timestamp of a -v header line
 * whose segment follows on the next line.
 */
export class TcpdumpTextReader {
  private pendingAt: number | undefined;
  private pending = false;

  line(raw: string, lineNo: number): TcpdumpLineResult {
    if (raw.length > MAX_LINE) {
      this.pending = false;
      return { error: `line longer than ${MAX_LINE} characters` };
    }
    const line = raw.replace(/\s+$/, '');
    if (line.trim() === '') return { skip: true };
    const continuation = /^\s/.test(line);
    let at: number | undefined;
    let rest = line;
    if (!continuation) {
      const stamp = readStamp(line);
      at = stamp.at;
      rest = stamp.rest;
      this.pending = false;
    } else if (this.pending) {
      at = this.pendingAt;
    }
    const m = SEGMENT.exec(rest);
    if (!m) {
      // A -v IP header line ("IP (tos …, proto TCP (6), length 60)"): its segment is on the next line.
      if (!continuation && /\bproto TCP \(6\)/.test(rest)) {
        this.pending = true;
        this.pendingAt = at;
      }
      if (/Flags \[/.test(rest)) return { error: 'a TCP segment without "host.port > host.port:"' };
      return { skip: true };
    }
    this.pending = false;
    const [, src, sportText, dst, dportText, flags, tail] = m;
    const sport = portOf(sportText!);
    const dport = portOf(dportText!);
    if (sport === undefined || dport === undefined)
      return {
        error: `port ${JSON.stringify(sport === undefined ? sportText : dportText)} is not a number (take the capture with tcpdump -nn)`,
      };
    const packet: TcpPacket = {
      src: src!,
      sport,
      dst: dst!,
      dport,
      syn: flags!.includes('S'),
      ack: flags!.includes('.'),
      fin: flags!.includes('F'),
      rst: flags!.includes('R'),
      len: 0,
      where: `line ${lineNo}`,
    };
    if (at !== undefined) packet.at = at;
    const seq = /, seq (\d+)/.exec(tail!);
    if (seq) packet.seq = Number(seq[1]);
    const ackNo = /, ack (\d+)/.exec(tail!);
    if (ackNo && packet.ack) packet.ackNo = Number(ackNo[1]);
    const len = /, length (\d+)/.exec(tail!);
    if (len) packet.len = Number(len[1]);
    if (packet.seq !== undefined && packet.seq > 0xffffffff) return { error: 'seq beyond 32 bits' };
    return { packet };
  }
}

/** The leading timestamp, if any, in microseconds, and the text after it. */
function readStamp(line: string): { at?: number; rest: string } {
  const t = TIME_OF_DAY.exec(line);
  if (t) {
    const [, y, mo, d, h, mi, s, frac] = t;
    let sec = Number(h) * 3600 + Number(mi) * 60 + Number(s);
    if (y) sec += Date.UTC(Number(y), Number(mo) - 1, Number(d)) / 1000;
    return { at: sec * 1e6 + fracMicros(frac), rest: line.slice(t[0].length) };
  }
  const e = EPOCH.exec(line);
  if (e) return { at: Number(e[1]) * 1e6 + fracMicros(e[2]), rest: line.slice(e[0].length) };
  return { rest: line };
}

function fracMicros(frac: string | undefined): number {
  if (!frac) return 0;
  return Math.round(Number(`0.${frac}`) * 1e6);
}

function portOf(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}
