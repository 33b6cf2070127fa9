// `make feed`: local package feeds in dist/feed/ (see feed.ts), signed with the keys in --keys
// (default dist/feed-keys/, made on the first run; keep that folder to keep the key routers trust).
//
//   node --import tsx openwrt/tools/build-feed.ts [--out DIR] [--keys DIR] [--bundle FILE]

import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { apkFileName, buildApk } from './apk';
import { allPackages, ROOT, sourceDateEpoch } from './build-ipk';
import { type BuiltPackage, loadOrCreateKeys, writeFeeds } from './feed';
import { buildIpk, ipkFileName } from './ipk';
import { readTar } from './tar';

/** ./control of an .ipk (gzip'd tar holding control.tar.gz). */
export function ipkControl(ipk: Buffer): string {
  const outer = readTar(gunzipSync(ipk));
  const ctl = outer.find((m) => m.name === './control.tar.gz');
  if (!ctl) throw new Error('ipk without control.tar.gz');
  const control = readTar(gunzipSync(ctl.data)).find((m) => m.name === './control');
  if (!control) throw new Error('ipk without ./control');
  return control.data.toString('utf8');
}

export function buildFeed(outDir: string, keyDir: string, bundlePath?: string, mtime = sourceDateEpoch()): string[] {
  const specs = allPackages(bundlePath);
  const apks: BuiltPackage[] = specs.map((s) => ({ fileName: apkFileName(s), data: buildApk(s, mtime) }));
  const ipks = specs.map((s) => {
    const data = buildIpk(s, mtime);
    return { fileName: ipkFileName(s), data, control: ipkControl(data) };
  });
  return writeFeeds(outDir, loadOrCreateKeys(keyDir), apks, ipks, `replyguard ${specs[0]!.version}`);
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const bundle = opt('--bundle') ?? join(ROOT, 'dist', 'replyguard.js');
  if (!existsSync(bundle)) {
    process.stderr.write(`build-feed: ${bundle} is missing; run npm run build first\n`);
    process.exit(1);
  }
  const files = buildFeed(
    opt('--out') ?? join(ROOT, 'dist', 'feed'),
    opt('--keys') ?? join(ROOT, 'dist', 'feed-keys'),
    bundle,
  );
  for (const file of files) process.stdout.write(`${relative(process.cwd(), file)}\n`);
}
