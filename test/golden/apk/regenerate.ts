// Regenerates the golden files of test/package/apk.test.ts with the real apk-tools v3 (`RG_APK`, else
// `apk` on PATH; build it from github.com/alpinelinux/apk-tools with meson, never commit it):
//   <pkg>.mkpkg.adbdump  `apk adbdump` of what `apk mkpkg` makes from the same staged tree with the
//                        arguments OpenWrt 25.12's include/package-pack.mk passes (no SDK involved)
//   <pkg>.adbdump        `apk adbdump` of openwrt/tools/apk.ts's package
//   verify.txt, install.txt  `apk verify`, an install into an offline root and `apk del` (see below)
// The unique id ("hashes" of info) depends on the metadata's byte layout, which differs between the two
// writers; the test masks it. Run: node --import tsx test/golden/apk/regenerate.ts

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { apkDescription, apkFileName, apkFiles, apkProvides, apkScripts, buildApk } from '../../../openwrt/tools/apk';
import { allPackages } from '../../../openwrt/tools/build-ipk';
import type { PackageSpec } from '../../../openwrt/tools/ipk';

export const GOLDEN = __dirname;
export const MTIME = 1_700_000_000;
export const APK = process.env.RG_APK || 'apk';

/** The tree OpenWrt's build hands to `apk mkpkg --files`, with the scripts beside it. */
function stage(spec: PackageSpec, dir: string): { files: string; args: string[] } {
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

if (require.main === module) {
  const work = mkdtempSync(join(tmpdir(), 'rg-apk-golden-'));
  try {
    for (const spec of allPackages()) {
      const dir = join(work, spec.name);
      const { args } = stage(spec, dir);
      const ref = join(dir, 'ref.apk');
      apk([...args, '--output', ref]);
      writeFileSync(join(GOLDEN, `${spec.name}.mkpkg.adbdump`), apk(['adbdump', ref]));
      const ours = join(dir, apkFileName(spec));
      writeFileSync(ours, buildApk(spec, MTIME));
      writeFileSync(join(GOLDEN, `${spec.name}.adbdump`), apk(['adbdump', ours]));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
