// `replyguard analyze` of a packet capture: tcpdump's text output or a
// pcap/pcapng file, fed as bytes in chunks of any size, judged per server
// ip:port (capture-judge.ts). Pure: bytes in, report out; the caller reads the
// file. Which kind of capture a file is comes from its first bytes.

import { captureFileKind, PcapReader } from '../capture/pcap-reader';
import { TcpdumpTextReader } from '../capture/tcpdump-text';
import { type CaptureFinding, CaptureJudge, type CaptureNote, type ConnectionVerdict } from './capture-judge';

export type CaptureFormat = 'conntrack' | 'tcpdump-text' | 'pcap' | 'pcapng';

export interface PacketCaptureReport {
  schema: 1;
  source: string;
  format: Exclude<CaptureFormat, 'conntrack'>;
  /** Text lines read (tcpdump text) or records read (pcap, pcapng). */
  records: number;
  tcp_packets: number;
  parse_errors: number;
  first_errors: Array<{ where: string; error: string; text?: string }>;
  /** A pcap/pcapng file that could not be read on: the byte offset and what was wrong. */
  fatal_error?: string;
  connections: Record<ConnectionVerdict, number>;
  /** Connections to servers past the number judged one by one (a scan, say): counted only. */
  unlisted_connections: number;
  findings: CaptureFinding[];
  notes: CaptureNote[];
  /** What a packet capture can and cannot show, whatever it holds. */
  limits: string[];
}

const MAX_ERRORS_SHOWN = 20;
const MAX_LINE_BYTES = 8192;

const LIMITS = [
  'A capture shows what passed where it was taken: the signature points at a transparent proxy on the server’s reply path, not at a rule or a proxy by name (replyguard on that router names them).',
  'One failed connection is not a pattern; a firewall that drops the SYN shows no SYN-ACK at all.',
];

/** What the first bytes of a capture say it is. */
export function sniffCaptureFormat(head: Buffer): CaptureFormat {
  const binary = captureFileKind(head);
  if (binary) return binary;
  const text = head.toString('utf8', 0, Math.min(head.length, 65536));
  let tcpdump = 0;
  let conntrack = 0;
  for (const line of text.split('\n').slice(0, 200)) {
    if (/Flags \[|^tcpdump: |^listening on |\bIP6? \(tos |\bIP6? \S+ > /.test(line)) tcpdump++;
    else if (/\bsrc=|^<flow|^<\?xml|^-[ADIU] /.test(line)) conntrack++;
  }
  return tcpdump > conntrack ? 'tcpdump-text' : 'conntrack';
}

export class PacketCaptureAnalysis {
  private readonly judge = new CaptureJudge();
  private readonly report: PacketCaptureReport;
  private readonly pcap?: PcapReader;
  /** tcpdump text: the unfinished last line of the previous chunk (copied), or 'drop' inside an overlong line. */
  private carry: Buffer | 'drop' | undefined;
  private readonly text = new TcpdumpTextReader();
  private lineNo = 0;

  constructor(source: string, format: 'tcpdump-text' | 'pcap' | 'pcapng') {
    this.report = {
      schema: 1,
      source,
      format,
      records: 0,
      tcp_packets: 0,
      parse_errors: 0,
      first_errors: [],
      connections: { hijacked: 0, healthy: 0, no_answer: 0, unclear: 0 },
      unlisted_connections: 0,
      findings: [],
      notes: [],
      limits: LIMITS,
    };
    if (format !== 'tcpdump-text') this.pcap = new PcapReader((p) => this.judge.add(p));
  }

  /** The next bytes of the capture. */
  write(chunk: Buffer): void {
    if (this.pcap) this.pcap.write(chunk);
    else this.textChunk(chunk);
  }

  private textChunk(chunk: Buffer): void {
    let start = 0;
    let nl = chunk.indexOf(10);
    if (this.carry !== undefined) {
      if (nl < 0) {
        if (this.carry !== 'drop') this.carry = Buffer.concat([this.carry, chunk]);
        if (this.carry !== 'drop' && this.carry.length > MAX_LINE_BYTES) this.carry = 'drop';
        return;
      }
      if (this.carry === 'drop') this.overlong();
      else {
        const line = Buffer.concat([this.carry, chunk.subarray(0, nl)]);
        this.line(line, 0, line.length);
      }
      this.carry = undefined;
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    for (; nl >= 0; nl = chunk.indexOf(10, start)) {
      if (nl - start > MAX_LINE_BYTES) this.overlong();
      else this.line(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length)
      this.carry = chunk.length - start > MAX_LINE_BYTES ? 'drop' : Buffer.from(chunk.subarray(start));
  }

  private overlong(): void {
    this.lineNo++;
    this.report.records++;
    this.noteError(`line ${this.lineNo}`, `longer than ${MAX_LINE_BYTES} bytes`);
  }

  private noteError(where: string, error: string, text?: string): void {
    this.report.parse_errors++;
    if (this.report.first_errors.length < MAX_ERRORS_SHOWN)
      this.report.first_errors.push(text === undefined ? { where, error } : { where, error, text });
  }

  finish(): PacketCaptureReport {
    const r = this.report;
    if (this.pcap) {
      this.pcap.end();
      r.records = this.pcap.counts.records;
      r.parse_errors = this.pcap.counts.unreadable;
      for (const p of this.pcap.firstProblems) r.first_errors.push({ where: p.slice(0, p.indexOf(':')), error: p });
      if (this.pcap.error) r.fatal_error = this.pcap.error;
      if (this.pcap.format) r.format = this.pcap.format;
    } else {
      if (this.carry === 'drop') this.overlong();
      else if (this.carry) this.line(this.carry, 0, this.carry.length);
      this.carry = undefined;
    }
    const judged = this.judge.finish();
    r.tcp_packets = this.judge.packets;
    r.connections = judged.connections;
    r.unlisted_connections = judged.unlisted;
    r.findings = judged.findings;
    r.notes = judged.notes;
    return r;
  }

  private line(buf: Buffer, start: number, end: number): void {
    this.lineNo++;
    this.report.records++;
    const text = buf.toString('utf8', start, end);
    const res = this.text.line(text, this.lineNo);
    if ('packet' in res) this.judge.add(res.packet);
    else if ('error' in res) this.noteError(`line ${this.lineNo}`, res.error, text.slice(0, 200));
  }
}
