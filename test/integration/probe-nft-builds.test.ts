// The probe on the nft builds routers have: OpenWrt's nft has no interactive CLI (`nft -i` exits 1), and a
// probe whose readings fail must say so. The nft here is Debian's behind a wrapper (a stand-in for OpenWrt's
// build, which test/openwrt/ runs for real): -i answers as OpenWrt's does; with RG_FAIL_LIST set, `list`
// fails after the table went in, as a broken nft or a seccomp'd one would.

import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDaemon } from '../helpers/daemon';
import { createLab, type Lab } from '../lab/lab';
import { activeHijacks, probeConfig } from '../lab/probe-helpers';

const TLS_SERVER = '192.168.50.10:443';

/** A PATH whose nft refuses -i (and, with failList, every `list`); the other tools are the host's. */
function standInNft(lab: Lab, failList: boolean): { env: NodeJS.ProcessEnv; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), `rg-nftbuild-${lab.id}-`));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const nft = [
    '#!/bin/sh',
    'for a in "$@"; do',
    `  [ "$a" = -i ] && { echo 'nft: interactive CLI not supported in this build' >&2; exit 1; }`,
    failList
      ? `  [ "$a" = list ] && { echo 'Error: Could not process rule: Operation not permitted' >&2; exit 1; }`
      : '',
    'done',
    'exec /usr/sbin/nft "$@"',
    '',
  ].join('\n');
  writeFileSync(join(bin, 'nft'), nft);
  chmodSync(join(bin, 'nft'), 0o755);
  return { env: { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: dir }, dir };
}

describe('probe on an nft without the interactive CLI (tun lab)', () => {
  let lab: Lab;
  before(async () => {
    lab = await createLab({ mode: 'tun', tag: 'nftcli' });
  });
  after(async () => {
    await lab?.destroy();
  });

  it('reads its counters and catches the TUN hijack', async () => {
    const daemon = await startDaemon(lab, probeConfig(lab, { intervalS: 1 }), standInNft(lab, false));
    try {
      await daemon.waitFor('the probe to run', (s) => s.sensors.probe.state === 'running', 5000);
      const res = await lab.tlsThroughForward({ timeoutMs: 3000 });
      assert.equal(res.ok, false, 'the TUN mode swallows the SYN-ACK');
      const s = await daemon.waitFor('the hijack', (st) => activeHijacks(st, TLS_SERVER).length > 0, 6000);
      assert.equal(s.sensors.probe.state, 'running');
      assert.equal(s.sensors.probe.last_error, undefined);
      assert.equal(s.health, 'problem');
    } finally {
      await daemon.stop();
    }
  });

  it('readings that fail make the probe failed and health degraded, with the reason (probe = auto)', async () => {
    const daemon = await startDaemon(lab, probeConfig(lab, { intervalS: 1, probe: 'auto' }), standInNft(lab, true));
    try {
      const s = await daemon.waitFor('the probe to fail', (st) => st.sensors.probe.state === 'failed', 6000);
      assert.match(s.sensors.probe.last_error ?? '', /reading the counters failed: .*Operation not permitted/);
      assert.equal(s.health, 'degraded');
      assert.match(s.headline, /probe failed/);
    } finally {
      await daemon.stop();
    }
  });
});
