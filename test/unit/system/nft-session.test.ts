// NftSession against the real nft, in a network namespace of the test's own.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NftSession } from '../../../src/system/nft-session';

const ns = `rgnft-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'rg-nft-session-'));
const wrapper = join(dir, 'nft');
const PATH = `${process.env.PATH}:/usr/sbin:/sbin`;

before(() => {
  execFileSync('ip', ['netns', 'add', ns], { env: { PATH } });
  execFileSync('ip', ['netns', 'exec', ns, 'nft', 'add', 'table', 'inet', 'probe_t'], { env: { PATH } });
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} nft "$@"\n`);
  chmodSync(wrapper, 0o755);
});
after(() => {
  execFileSync('ip', ['netns', 'del', ns], { env: { PATH } });
  rmSync(dir, { recursive: true, force: true });
});

describe('NftSession', () => {
  it('answers commands one line at a time, from one nft process', async () => {
    const s = new NftSession(wrapper);
    try {
      const a = await s.request('list table inet probe_t');
      assert.ok(a.ok);
      assert.match(a.stdout, /"name": "probe_t"/);
      const pid = s.pid;
      const [b, c] = await Promise.all([s.request('list table inet nosuch'), s.request('list table inet probe_t')]);
      assert.equal(b.ok, false);
      assert.match(!b.ok ? b.error : '', /No such file or directory/);
      assert.ok(c.ok, 'an error does not break the next answer');
      assert.equal(s.pid, pid, 'the same process');
    } finally {
      s.close();
    }
  });

  it('replaces a process that does not answer, and reports a missing nft', async () => {
    const silent = join(dir, 'silent-nft');
    writeFileSync(silent, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(silent, 0o755);
    const s = new NftSession(silent);
    const first = s.request('list tables', 200);
    await new Promise((r) => setTimeout(r, 50));
    const pid = s.pid;
    assert.ok(pid);
    assert.equal((await first).ok, false);
    const again = await s.request('list tables', 200);
    assert.equal(again.ok, false);
    assert.notEqual(s.pid, pid);
    s.close();
    const missing = await new NftSession(join(dir, 'no-such-nft')).request('list tables');
    assert.equal(missing.ok, false);
    assert.match(!missing.ok ? missing.error : '', /ENOENT|exited/);
  });

  it('falls back to one nft per request where nft has no interactive CLI (as OpenWrt builds it)', async () => {
    // A stand-in for OpenWrt's nft: the real nft, but -i answers as OpenWrt's build does.
    const noCli = join(dir, 'nft-no-cli');
    writeFileSync(
      noCli,
      `#!/bin/sh\nfor a in "$@"; do [ "$a" = -i ] && { echo 'nft: interactive CLI not supported in this build' >&2; exit 1; }; done\nexec ip netns exec ${ns} nft "$@"\n`,
    );
    chmodSync(noCli, 0o755);
    const s = new NftSession(noCli);
    try {
      const a = await s.request('list table inet probe_t');
      assert.ok(a.ok, !a.ok ? a.error : '');
      assert.match(a.stdout, /"name": "probe_t"/);
      assert.equal(s.way, 'per-request');
      const b = await s.request('list table inet nosuch');
      assert.equal(b.ok, false);
      assert.match(!b.ok ? b.error : '', /No such file or directory/);
      const c = await s.request('list table inet probe_t');
      assert.ok(c.ok, 'still answering after an error');
      assert.equal(s.pid, undefined, 'no long-running nft');
    } finally {
      s.close();
    }
  });
});
