// analyze on real packet captures (test/golden/tcpdump, made in the namespace
// lab by capture-lab.ts, and the incident's own tcpdump text): the reply-hijack
// signature found from every place a user can capture, per proxy mode; none on
// healthy forwards; tcpdump's text at every -v level and -e, and the pcapng
// Wireshark's editcap made of each pcap, saying what the pcap says (and a
// stand-in pcapng written by this test).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  PacketCaptureAnalysis,
  type PacketCaptureReport,
  sniffCaptureFormat,
} from '../../../src/analyze/packet-capture-analysis';
import { FIX_PROOF_MODES, MODE_TRAITS, PROXY_MODES, type ProxyMode } from '../../lab/lab';

const DIR = join(__dirname, '..', '..', 'golden', 'tcpdump');
const PCAPS = readdirSync(DIR).filter((f) => f.endsWith('.pcap'));
const TEXT_KINDS = ['n', 'nn-v', 'nn-vvv', 'e-nn'];

function analyze(buf: Buffer, name: string, chunk = 4096): PacketCaptureReport {
  const format = sniffCaptureFormat(buf);
  assert.notEqual(format, 'conntrack', `${name} taken for a conntrack capture`);
  const a = new PacketCaptureAnalysis(name, format as 'pcap');
  for (let i = 0; i < buf.length; i += chunk) a.write(buf.subarray(i, i + chunk));
  return a.finish();
}

/** What each capture must show, from what the lab's mode does to the forward's TCP replies. */
function expected(name: string): { server?: string; confidence?: string; forward?: string } {
  const [mode, place] = [name.replace(/-(wan|any|sidelan|server)$/, ''), name.replace(/^.*-/, '')];
  if (mode.endsWith('-guard')) return {};
  const tcp = MODE_TRAITS[mode as ProxyMode].tcp;
  if (tcp === null) return {};
  const lan = '192.168.50.10:443';
  const wan = '203.0.113.1:9443';
  if (tcp === 'reset') {
    if (place === 'wan') return { server: wan, confidence: 'high' };
    if (place === 'any') return { server: lan, confidence: 'high', forward: wan };
    return { server: lan, confidence: 'high' };
  }
  // TPROXY and TUN swallow the SYN-ACK: from outside nothing answers; on the LAN it is seen leaving the server.
  if (place === 'wan') return {};
  return place === 'any' ? { server: lan, confidence: 'medium', forward: wan } : { server: lan, confidence: 'medium' };
}

function summary(r: PacketCaptureReport) {
  return {
    connections: r.connections,
    findings: r.findings.map((f) => [f.server, f.count, f.confidence]).sort(),
  };
}

describe('analyze on real packet captures from the lab', () => {
  it('has captures of every place for every lab mode, and guarded forwards', () => {
    for (const mode of [...PROXY_MODES, ...FIX_PROOF_MODES, 'iptables-redirect-guard', 'nft-tproxy-guard'])
      for (const place of ['wan', 'any', 'sidelan', 'server'])
        assert.ok(PCAPS.includes(`${mode}-${place}.pcap`), `${mode}-${place}`);
  });

  for (const file of PCAPS) {
    const name = file.replace(/\.pcap$/, '');
    it(`${name}: ${JSON.stringify(expected(name))}`, () => {
      const r = analyze(readFileSync(join(DIR, file)), file);
      assert.equal(r.format, 'pcap');
      assert.equal(r.fatal_error, undefined);
      assert.equal(r.parse_errors, 0);
      assert.ok(r.tcp_packets > 10, 'the capture is not empty');
      const want = expected(name);
      const servers = r.findings.map((f) => f.server);
      if (!want.server) {
        assert.deepEqual(servers, [], 'no hijack finding');
        // Healthy through the forward: each of the three connections counted once, on whichever side it was seen.
        if (MODE_TRAITS[name.replace(/-(wan|any|sidelan|server)$/, '').replace(/-guard$/, '') as ProxyMode]) {
          if (!name.endsWith('-wan') || !MODE_TRAITS[name.replace(/-wan$/, '') as ProxyMode]?.tcp)
            assert.equal(r.connections.healthy, 3, JSON.stringify(r.connections));
        }
        if (name.endsWith('-wan') && MODE_TRAITS[name.replace(/-wan$/, '') as ProxyMode]?.tcp === 'timeout')
          assert.ok(r.notes.some((n) => n.verdict === 'no_answer' && /TPROXY or TUN/.test(n.text)));
        return;
      }
      const f = r.findings.find((x) => x.server === want.server);
      assert.ok(f, `a finding for ${want.server}, got ${servers.join(', ')}`);
      assert.equal(f.kind, 'reply_hijacked');
      assert.equal(f.count, 3);
      assert.equal(f.confidence, want.confidence);
      assert.deepEqual(f.peers, ['203.0.113.50']);
      assert.equal(r.connections.healthy, 0);
      // Both sides of the DNAT (-i any) are one connection: one finding, the outside address as its forward.
      assert.deepEqual(servers, [want.server]);
      assert.equal(f.forward, want.forward);
      if (want.forward) assert.ok(f.summary.includes(`reached as ${want.forward}`), f.summary);
      assert.ok(f.fix.some((x) => x.includes('replyguard diagnose')));
      // On the side router's LAN a REDIRECT proxy lets the SYN-ACK pass in and out and keeps the server's ACK.
      if (name.endsWith('-sidelan') && want.confidence === 'high')
        assert.ok(
          f.evidence.some((e) => /arrived here and did not leave/.test(e)),
          f.evidence.join('\n'),
        );
    });

    it(`${name}: tcpdump's text at every -v level and with -e says what the pcap says`, () => {
      const fromPcap = summary(analyze(readFileSync(join(DIR, file)), file));
      for (const kind of TEXT_KINDS) {
        const text = readFileSync(join(DIR, `${name}.${kind}.txt`));
        const r = analyze(text, kind, 333);
        assert.equal(r.format, 'tcpdump-text', kind);
        assert.equal(r.parse_errors, 0, `${kind}: ${JSON.stringify(r.first_errors)}`);
        assert.deepEqual(summary(r), fromPcap, kind);
      }
    });

    it(`${name}: the pcapng Wireshark's editcap made of it says what the pcap says`, () => {
      const ng = analyze(readFileSync(join(DIR, `${name}.pcapng`)), 'pcapng', 777);
      assert.equal(ng.format, 'pcapng');
      assert.equal(ng.parse_errors, 0);
      assert.deepEqual(summary(ng), summary(analyze(readFileSync(join(DIR, file)), file)));
    });
  }

  it('pcapng (stand-in: the same records rewritten as pcapng blocks by this test) reads as the pcap', () => {
    for (const file of ['iptables-redirect-wan.pcap', 'nft-tproxy-server.pcap', 'none-any.pcap']) {
      const pcap = readFileSync(join(DIR, file));
      const r = analyze(toPcapng(pcap), file, 100);
      assert.equal(r.format, 'pcapng');
      assert.deepEqual(summary(r), summary(analyze(pcap, file)), file);
    }
  });
});

describe('analyze on the incident’s own capture (tcpdump -i pppoe0 -vvv, anonymised)', () => {
  const text = readFileSync(join(DIR, 'incident-zh-pppoe0.txt'));

  it('finds the signature on all three connections, with the anonymised addresses as hosts', () => {
    const r = analyze(text, 'incident');
    assert.equal(r.parse_errors, 0);
    assert.equal(r.tcp_packets, 14);
    assert.deepEqual(r.connections, { hijacked: 3, healthy: 0, no_answer: 0, unclear: 0 });
    const [f] = r.findings;
    assert.equal(f?.server, '<家公网IP>:9443');
    assert.deepEqual(f?.peers, ['<外部机器IP>']);
    assert.equal(f?.confidence, 'high');
    assert.ok(f?.evidence.some((e) => /ISN\+1 \(line 10\)/.test(e)));
    // The third connection: the server's FIN at seq 8 with 7 bytes never seen.
    assert.ok(f?.evidence.some((e) => /bytes missing before line 28/.test(e)));
  });

  it('one connection alone is a low-confidence finding that says it is no pattern', () => {
    const first = text.toString().split('\n').slice(0, 10).join('\n');
    const r = analyze(Buffer.from(first), 'one');
    assert.equal(r.findings[0]?.count, 1);
    assert.equal(r.findings[0]?.confidence, 'low');
    assert.match(r.findings[0]!.cannot_conclude[0]!, /One connection is not a pattern/);
  });
});

/** Rewrites a little-endian microsecond pcap as pcapng: a section header, one interface, enhanced packet blocks. */
function toPcapng(pcap: Buffer): Buffer {
  assert.equal(pcap.readUInt32LE(0), 0xa1b2c3d4);
  const linkType = pcap.readUInt32LE(20) & 0xffff;
  const blocks: Buffer[] = [];
  const block = (type: number, body: Buffer) => {
    const pad = Buffer.alloc((4 - (body.length % 4)) % 4);
    const len = 12 + body.length + pad.length;
    const head = Buffer.alloc(8);
    head.writeUInt32LE(type, 0);
    head.writeUInt32LE(len, 4);
    const tail = Buffer.alloc(4);
    tail.writeUInt32LE(len, 0);
    blocks.push(head, body, pad, tail);
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  blocks.push(Buffer.from([0x0a, 0x0d, 0x0d, 0x0a]), Buffer.alloc(4), shb, Buffer.alloc(4));
  blocks[1]!.writeUInt32LE(28, 0);
  blocks[3]!.writeUInt32LE(28, 0);
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(linkType, 0);
  idb.writeUInt32LE(262144, 4);
  block(1, idb);
  for (let off = 24; off + 16 <= pcap.length; ) {
    const sec = pcap.readUInt32LE(off);
    const usec = pcap.readUInt32LE(off + 4);
    const incl = pcap.readUInt32LE(off + 8);
    const orig = pcap.readUInt32LE(off + 12);
    const ts = BigInt(sec) * 1_000_000n + BigInt(usec);
    const epb = Buffer.alloc(20);
    epb.writeUInt32LE(0, 0);
    epb.writeUInt32LE(Number(ts >> 32n), 4);
    epb.writeUInt32LE(Number(ts & 0xffffffffn), 8);
    epb.writeUInt32LE(incl, 12);
    epb.writeUInt32LE(orig, 16);
    block(6, Buffer.concat([epb, pcap.subarray(off + 16, off + 16 + incl)]));
    off += 16 + incl;
  }
  return Buffer.concat(blocks);
}
