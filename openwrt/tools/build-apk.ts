// `make apk`: the OpenWrt 25.12 packages (apk-tools v3) into dist/, from the same package specs as `make ipk`:
//   replyguard-<ver>-r<rel>.apk, luci-app-replyguard-<ver>-r<rel>.apk, luci-i18n-replyguard-zh-cn-<ver>-r<rel>.apk
// Reproducible as the .ipk files: every timestamp is SOURCE_DATE_EPOCH, else the last commit's time.
//
//   node --import tsx openwrt/tools/build-apk.ts [--out DIR] [--bundle FILE]

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { apkFileName, buildApk } from './apk';
import { allPackages, ROOT, sourceDateEpoch } from './build-ipk';

export function buildAllApk(outDir: string, bundlePath?: string): string[] {
  const mtime = sourceDateEpoch();
  mkdirSync(outDir, { recursive: true });
  return allPackages(bundlePath).map((spec) => {
    const file = join(outDir, apkFileName(spec));
    writeFileSync(file, buildApk(spec, mtime));
    return file;
  });
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const bundle = opt('--bundle') ?? join(ROOT, 'dist', 'replyguard.js');
  if (!existsSync(bundle)) {
    process.stderr.write(`build-apk: ${bundle} is missing; run npm run build first\n`);
    process.exit(1);
  }
  for (const file of buildAllApk(opt('--out') ?? join(ROOT, 'dist'), bundle)) {
    process.stdout.write(`${relative(process.cwd(), file)}\n`);
  }
}
