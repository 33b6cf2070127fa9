// openwrt/Makefile as a feed recipe builds from a clean checkout: the repository's tracked sources only
// (no dist/, no node_modules/), driven by a stand-in of the buildroot's make includes
// (test/package/buildroot-stand-in: Build/Prepare, Build/Compile, Package/replyguard/install in order).
// The SDK itself is not here; what this proves is that the recipe needs nothing a checkout lacks.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(__dirname, '..', '..');
const STAND_IN = join(__dirname, 'buildroot-stand-in');

describe('openwrt/Makefile as a feed recipe', () => {
  it('builds /usr/sbin/replyguard from a clean checkout (no dist/ committed)', { timeout: 300_000 }, () => {
    const tmp = mkdtempSync(join(tmpdir(), 'rg-feed-'));
    try {
      const repo = join(tmp, 'replyguard');
      // What a checkout holds: the tracked files the recipe reads (nothing built, nothing installed).
      for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'src', 'openwrt']) {
        cpSync(join(ROOT, f), join(repo, f), { recursive: true });
      }
      assert.equal(existsSync(join(repo, 'dist')), false);
      const build = join(tmp, 'buildroot');
      cpSync(STAND_IN, build, { recursive: true });
      execFileSync('make', ['-s', '-C', join(repo, 'openwrt'), `TOPDIR=${build}`], { stdio: 'pipe', timeout: 280_000 });
      const bin = join(build, 'build', 'root-replyguard', 'usr', 'sbin', 'replyguard');
      assert.equal(statSync(bin).mode & 0o777, 0o755);
      assert.match(readFileSync(bin, 'utf8').slice(0, 30), /^#!\/usr\/bin\/env node\n/);
      const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
      assert.equal(
        execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim(),
        `replyguard ${version}`,
      );
      for (const f of ['etc/init.d/replyguard', 'etc/config/replyguard', 'etc/uci-defaults/90_replyguard']) {
        assert.ok(existsSync(join(build, 'build', 'root-replyguard', f)), f);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
