// `make apk`: the OpenWrt 25.12 packages (apk-tools v3) into dist/, from the same package specs as `make ipk`:
//   replyguard-<ver>-r<rel>.apk, luci-app-replyguard-<ver>-r<rel>.apk, luci-i18n-replyguard-zh-cn-<ver>-r<rel>.apk
// Reproducible as the .ipk files: every timestamp is SOURCE_DATE_EPOCH, else the last commit's time.
//
//   node --import tsx openwrt/tools/build-apk.ts [--out DIR] [--bundle FILE]

import { apkFileName, buildApk } from './apk';
import { packagesMain, writePackages } from './build-ipk';

export function buildAllApk(outDir: string, bundlePath?: string): string[] {
  return writePackages(outDir, { fileName: apkFileName, build: buildApk }, bundlePath);
}

if (require.main === module) packagesMain('build-apk', buildAllApk);
