// Regenerates the golden files of test/package/apk.test.ts with the real apk-tools v3 (`RG_APK`, else
// `apk` on PATH; build it from github.com/alpinelinux/apk-tools with meson, never commit it), from the
// fixed packages of fixture.ts:
//   <pkg>.mkpkg.adbdump  `apk adbdump` of what `apk mkpkg` makes from the same staged tree with the
//                        arguments OpenWrt 25.12's include/package-pack.mk passes (no SDK involved)
//   <pkg>.adbdump        `apk adbdump` of openwrt/tools/apk.ts's package
//   index.adbdump        `apk adbdump` of feed.ts's packages.adb (signature line: key and signature vary)
//   verify.txt           `apk verify` of the index with the feed's public key in --keys-dir, and of each
//                        (unsigned) package with --allow-untrusted
//   install.txt          `apk add rg-fixture` by name into an empty offline root from that signed index,
//                        the files then in the root, `apk del rg-fixture`, and the files left
// The unique id ("hashes" of info) and the ADB block's size depend on the metadata's byte layout (apk-tools
// shares equal values, this writer does not); the test masks them.
// Run: RG_APK=/path/to/apk node --import tsx test/package/apk-golden/regenerate.ts

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { apkDescription, apkFileName, apkFiles, apkProvides, apkScripts, buildApk } from '../../../openwrt/tools/apk';
import { apkIndex, loadOrCreateKeys } from '../../../openwrt/tools/feed';
import type { PackageSpec } from '../../../openwrt/tools/ipk';
import { FIXTURE_MTIME, FIXTURES } from './fixture';

export const GOLDEN = __dirname;
export const MTIME = FIXTURE_MTIME;
export const APK = process.env.RG_APK || 'apk';

/** The tree OpenWrt's build hands to `apk mkpkg --files`, with the scripts beside it. */
export function stage(spec: PackageSpec, dir: string): { files: string; args: string[] } {
  const files = join(dir, 'files');
  mkdirSync(files, { recursive: true });
  for (const f of apkFiles(spec)) {
    const p = join(files, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.data);
    chmodSync(p, f.mode);
    utimesSync(p, MTIME, MTIME);
  }
  const scripts = apkScripts(spec);
  const script = (name: string, text: string) => {
    writeFileSync(join(dir, name), text, { mode: 0o755 });
    return ['--script', `${name}:${join(dir, name)}`];
  };
  return {
    files,
    args: [
      'mkpkg',
      '--info',
      `name:${spec.name}`,
      '--info',
      `version:${spec.version}`,
      '--info',
      `description:${apkDescription(spec)}`,
      '--info',
      'arch:noarch',
      '--info',
      `license:${spec.license}`,
      '--info',
      `origin:${spec.source}`,
      '--info',
      `url:${spec.url ?? ''}`,
      '--info',
      `maintainer:${spec.maintainer}`,
      '--info',
      `provides:${apkProvides(spec).join(' ')}`,
      ...script('post-install', scripts.postInstall),
      ...script('post-upgrade', scripts.postUpgrade),
      ...script('pre-deinstall', scripts.preDeinstall),
      '--info',
      `depends:${spec.depends.join(' ')}`,
      '--files',
      files,
    ],
  };
}

export const apk = (args: string[]): string =>
  execFileSync(APK, args, { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: String(MTIME) } });

/** Every file below root, as "/path", sorted (the root's apk database included). */
export function filesUnder(root: string): string {
  return `${execFileSync('find', [root, '-type', 'f', '-printf', '/%P\\n'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .sort()
    .join('\n')}\n`;
}

/** apk's output with the temporary folder's name replaced by <tmp>. */
export const untemp = (text: string, dir: string): string => text.split(dir).join('<tmp>');

/** Offline: the signed index trusted through --keys-dir, `apk add` by name, then `apk del`; scripts not run (no OpenWrt in the root). */
export function installAndRemove(dir: string, index: string, keysDir: string): string {
  const root = join(dir, 'root');
  mkdirSync(root, { recursive: true });
  const common = ['--root', root, '--no-cache', '--no-network', '--keys-dir', keysDir, '--repository', index];
  let out = `$ apk add --initdb --no-scripts rg-fixture\n${apk([...common, '--initdb', 'add', '--no-scripts', 'rg-fixture'])}`;
  out += `$ find root -type f\n${filesUnder(root)}`;
  out += `$ apk del --no-scripts rg-fixture\n${apk([...common, 'del', '--no-scripts', 'rg-fixture'])}`;
  out += `$ find root -type f\n${filesUnder(root)}`;
  return untemp(out, dir);
}

/** Builds the fixtures, their index and keys into dir; returns the paths. */
export function buildFixtureFeed(dir: string): { files: string[]; index: string; keysDir: string } {
  const feed = join(dir, 'feed');
  mkdirSync(feed, { recursive: true });
  const keys = loadOrCreateKeys(join(dir, 'keys'));
  const keysDir = join(dir, 'trusted');
  mkdirSync(keysDir, { recursive: true });
  writeFileSync(join(keysDir, 'fixture.pem'), keys.apkPublic);
  const files = FIXTURES.map((spec) => {
    const p = join(feed, apkFileName(spec));
    writeFileSync(p, buildApk(spec, MTIME));
    return p;
  });
  const index = join(feed, 'packages.adb');
  writeFileSync(
    index,
    apkIndex(
      files.map((f) => readFileSync(f)),
      'fixtures',
      keys.apkPrivate,
    ),
  );
  return { files, index, keysDir };
}

/** `apk adbdump` with the signature line's key id and signature replaced. */
export const adbdump = (file: string): string =>
  apk(['adbdump', file]).replace(/^# sig v00 h04 [0-9a-f.]+:/gm, '# sig v00 h04 <key id and signature>:');

if (require.main === module) {
  const work = mkdtempSync(join(tmpdir(), 'rg-apk-golden-'));
  try {
    for (const spec of FIXTURES) {
      const dir = join(work, spec.name);
      const { args } = stage(spec, dir);
      const ref = join(dir, 'ref.apk');
      apk([...args, '--output', ref]);
      writeFileSync(join(GOLDEN, `${spec.name}.mkpkg.adbdump`), adbdump(ref));
    }
    const feedDir = join(work, 'fixture-feed');
    const { files, index, keysDir } = buildFixtureFeed(feedDir);
    for (const [i, spec] of FIXTURES.entries()) writeFileSync(join(GOLDEN, `${spec.name}.adbdump`), adbdump(files[i]!));
    writeFileSync(join(GOLDEN, 'index.adbdump'), adbdump(index));
    // The index is signed; packages are not (as OpenWrt's): apk trusts them through the index's hashes.
    const verify =
      `$ apk verify --keys-dir trusted packages.adb\n${apk(['verify', '--keys-dir', keysDir, index])}` +
      `$ apk verify --allow-untrusted *.apk\n${apk(['verify', '--allow-untrusted', ...files])}`;
    writeFileSync(join(GOLDEN, 'verify.txt'), untemp(verify, feedDir));
    writeFileSync(join(GOLDEN, 'install.txt'), installAndRemove(join(work, 'install'), index, keysDir));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
