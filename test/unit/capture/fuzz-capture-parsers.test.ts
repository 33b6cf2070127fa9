// Fuzz: the packet capture parsers and analyze over them. tcpdump text (the
// golden lab captures at every -v level and the incident's paste, mutated) and
// pcap/pcapng bytes (real captures with bytes flipped, cut and spliced) never
// throw, finish within the time bound, and report bad input by line or byte
// offset. Round trip: a TCP segment printed as tcpdump prints it reads back
// with its fields.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PacketCaptureAnalysis } from '../../../src/analyze/packet-capture-analysis';
import { PcapReader } from '../../../src/capture/pcap-reader';
import { TcpdumpTextReader } from '../../../src/capture/tcpdump-text';
import { check, GOLDEN, mutatedText, randomText, timed } from '../../helpers/fuzz-kit';

const DIR = join(GOLDEN, 'tcpdump');
const TEXTS = readdirSync(DIR)
  .filter(
    (f) =>
      f.endsWith('.txt') &&
      (f.startsWith('iptables-redirect-wan') || f.startsWith('nft-tproxy-server') || f.startsWith('incident')),
  )
  .map((f) => readFileSync(join(DIR, f), 'utf8'));
const PCAPS = ['iptables-redirect-wan.pcap', 'nft-tproxy-any.pcap', 'none-sidelan.pcap'].map((f) =>
  readFileSync(join(DIR, f)),
);

function textReport(text: string) {
  const a = new PacketCaptureAnalysis('fuzz', 'tcpdump-text');
  a.write(Buffer.from(text));
  return a.finish();
}

describe('fuzz: tcpdump text', () => {
  it('mutated captures: 300 inputs, a well-formed report each, errors named by line', () => {
    check(
      fc.property(mutatedText(TEXTS, 6), (text) => {
        const r = timed('tcpdump text', () => textReport(text));
        assert.ok(r.tcp_packets + r.parse_errors <= r.records);
        for (const e of r.first_errors) assert.match(e.where, /^line \d+$/);
        for (const f of r.findings) assert.ok(['high', 'medium', 'low'].includes(f.confidence));
      }),
      300,
    );
  });

  it('random text: 300 inputs, never a throw', () => {
    check(
      fc.property(randomText(), (text) => {
        timed('tcpdump text', () => textReport(text));
      }),
      300,
    );
  });

  it('a segment printed as tcpdump prints it reads back', () => {
    check(
      fc.property(
        fc.record({
          a: fc.ipV4(),
          b: fc.oneof(fc.ipV6(), fc.constant('<家公网IP>')),
          sport: fc.integer({ min: 0, max: 65535 }),
          dport: fc.integer({ min: 0, max: 65535 }),
          flags: fc.subarray(['S', 'F', 'R', 'P', '.']),
          seq: fc.nat(),
          len: fc.nat(9000),
          verbose: fc.boolean(),
        }),
        (p) => {
          const seg = `${p.a}.${p.sport} > ${p.b}.${p.dport}: Flags [${p.flags.join('')}], seq ${p.seq}, win 502, length ${p.len}`;
          const lines = p.verbose
            ? [
                '12:00:01.000002 IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 52)',
                `    ${seg}`,
              ]
            : [`12:00:01.000002 IP ${seg}`];
          const reader = new TcpdumpTextReader();
          const results = lines.map((l, i) => reader.line(l, i + 1));
          const last = results[results.length - 1]!;
          assert.ok('packet' in last, JSON.stringify(last));
          const q = last.packet;
          assert.deepEqual(
            [q.src, q.sport, q.dst, q.dport, q.seq, q.len, q.at],
            [p.a, p.sport, p.b, p.dport, p.seq, p.len, 12 * 3600e6 + 1e6 + 2],
          );
          assert.deepEqual(
            [q.syn, q.fin, q.rst, q.ack],
            ['S', 'F', 'R', '.'].map((f) => p.flags.includes(f)),
          );
        },
      ),
      300,
    );
  });
});

describe('fuzz: pcap and pcapng bytes', () => {
  const mutated = fc
    .record({
      file: fc.constantFrom(...PCAPS),
      flips: fc.array(fc.record({ at: fc.nat(), value: fc.nat(255) }), { maxLength: 8 }),
      cut: fc.option(fc.nat()),
      chunk: fc.integer({ min: 1, max: 5000 }),
    })
    .map(({ file, flips, cut, chunk }) => {
      const b = Buffer.from(file);
      for (const f of flips) b[f.at % b.length] = f.value;
      return { bytes: cut === null ? b : b.subarray(0, cut % (b.length + 1)), chunk };
    });

  it('flipped and cut captures: 400 inputs, errors named by byte offset, memory bounded', () => {
    check(
      fc.property(mutated, ({ bytes, chunk }) => {
        let packets = 0;
        const r = new PcapReader(() => packets++);
        timed('pcap', () => {
          for (let i = 0; i < bytes.length; i += chunk) r.write(bytes.subarray(i, i + chunk));
          r.end();
        });
        if (r.error) assert.match(r.error, /^byte \d+: /);
        for (const p of r.firstProblems) assert.match(p, /^(packet \d+ \(byte \d+\)|packet block at byte \d+)/);
        assert.ok(packets <= r.counts.records);
      }),
      400,
    );
  });

  it('a record claiming more than a megabyte stops the reading with its offset', () => {
    const b = Buffer.from(PCAPS[0]!);
    b.writeUInt32LE(50_000_000, 24 + 8);
    const r = new PcapReader(() => {});
    r.write(b);
    r.end();
    assert.equal(r.error, 'byte 32: record length 50000000 is beyond 1048576 bytes: not a pcap record');
  });

  it('a file that is neither says so', () => {
    const r = new PcapReader(() => {});
    r.write(Buffer.from('GIF89a…'));
    r.end();
    assert.equal(r.error, 'byte 0: not a pcap or pcapng file (no magic number)');
  });
});
