// `replyguard analyze` (the bundle) on packet captures: it tells pcap, pcapng,
// tcpdump text and conntrack text apart by the first bytes, exits 2 on the
// signature, 0 without, and 65 with the byte offset on a broken pcap.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BUNDLE } from '../../helpers/daemon';

const GOLDEN = join(__dirname, '..', '..', 'golden');
const dir = mkdtempSync(join(tmpdir(), 'rg-cli-capture-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function rg(args: string[], input?: Buffer) {
  const r = spawnSync(process.execPath, [BUNDLE, 'analyze', ...args], { input, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('replyguard analyze on packet captures', () => {
  it('a pcap from the main router (REDIRECT proxy): the signature, exit 2', () => {
    const r = rg([join(GOLDEN, 'tcpdump', 'iptables-redirect-wan.pcap'), '--json']);
    assert.equal(r.code, 2, r.err);
    const report = JSON.parse(r.out);
    assert.equal(report.format, 'pcap');
    assert.equal(report.findings[0].server, '203.0.113.1:9443');
    assert.equal(report.findings[0].confidence, 'high');
  });

  it('the incident’s tcpdump text on stdin, as text: the signature, the next step, exit 2', () => {
    const r = rg(['-'], readFileSync(join(GOLDEN, 'tcpdump', 'incident-zh-pppoe0.txt')));
    assert.equal(r.code, 2, r.err);
    assert.match(r.out, /tcpdump-text, \d+ lines, 14 TCP segments/);
    assert.match(r.out, /BROKEN \(confidence high\): TCP <家公网IP>:9443/);
    assert.match(r.out, /replyguard diagnose/);
    assert.match(r.out, /Cannot tell from this capture/);
  });

  it('a healthy forward: no finding, exit 0', () => {
    const r = rg([join(GOLDEN, 'tcpdump', 'none-server.nn-vvv.txt')]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /No connection shows the reply-hijack signature/);
  });

  it('a conntrack capture still goes to the conntrack analysis', () => {
    const r = rg([join(GOLDEN, 'conntrack', 'incident-nft-redirect-extended-id-timestamp.txt'), '--json']);
    assert.equal(r.code, 2, r.err);
    assert.equal(JSON.parse(r.out).events, 11);
  });

  it('a pcap cut in a record: exit 65, the byte offset named', () => {
    const pcap = readFileSync(join(GOLDEN, 'tcpdump', 'iptables-redirect-wan.pcap'));
    const file = join(dir, 'cut.pcap');
    writeFileSync(file, pcap.subarray(0, 100));
    const r = rg([file]);
    assert.equal(r.code, 65);
    assert.match(r.err, /cut\.pcap: byte \d+: file ends inside a record/);
  });
});
