// Assembles OpenWrt .ipk files as scripts/ipkg-build does, without the SDK:
// a gzip'd tar (not `ar`) of ./debian-binary, ./data.tar.gz and ./control.tar.gz,
// each inner tar in GNU format, owner 0:0, sorted names, one fixed mtime.

import { gzipSync } from 'node:zlib';
import { makeTar, type TarEntry } from './tar';

export interface PackageFile {
  /** Absolute path on the router, e.g. "/usr/sbin/replyguard". */
  path: string;
  data: Buffer;
  mode: number;
}

export interface PackageSpec {
  name: string;
  version: string;
  depends: string[];
  source: string;
  license: string;
  section: string;
  maintainer: string;
  url?: string;
  /** First line is the summary; further lines become continuation lines. */
  description: string;
  files: PackageFile[];
  conffiles?: string[];
  /** The package's own postinst/prerm, run by default_postinst/default_prerm as "<pkg>.postinst-pkg"/"prerm-pkg". */
  postinstPkg?: string;
  prermPkg?: string;
}

export const POSTINST = `#!/bin/sh
[ "\${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s \${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. \${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
`;

export const PRERM = `#!/bin/sh
[ -s \${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. \${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
`;

const DIR_MODE = 0o755;

/** Byte order of names, as `tar --sort=name` (LC_ALL=C) walks a directory. */
const byName = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The entries `tar -c .` would write for these files: "./" first, then a depth-first walk, each directory sorted by name. */
export function treeEntries(files: readonly PackageFile[]): TarEntry[] {
  interface Dir {
    dirs: Map<string, Dir>;
    files: Map<string, PackageFile>;
  }
  const root: Dir = { dirs: new Map(), files: new Map() };
  for (const f of files) {
    if (!f.path.startsWith('/') || f.path.endsWith('/')) throw new Error(`bad package path ${f.path}`);
    const parts = f.path.slice(1).split('/');
    const base = parts.pop()!;
    let d = root;
    for (const p of parts) {
      if (!d.dirs.has(p)) d.dirs.set(p, { dirs: new Map(), files: new Map() });
      d = d.dirs.get(p)!;
    }
    if (d.files.has(base) || d.dirs.has(base)) throw new Error(`duplicate package path ${f.path}`);
    d.files.set(base, f);
  }
  const out: TarEntry[] = [{ name: './', mode: DIR_MODE }];
  const walk = (d: Dir, prefix: string) => {
    const names = [...d.dirs.keys(), ...d.files.keys()].sort(byName);
    for (const n of names) {
      const sub = d.dirs.get(n);
      if (sub) {
        out.push({ name: `${prefix}${n}/`, mode: DIR_MODE });
        walk(sub, `${prefix}${n}/`);
      } else {
        const f = d.files.get(n)!;
        out.push({ name: `${prefix}${n}`, data: f.data, mode: f.mode });
      }
    }
  };
  walk(root, './');
  return out;
}

const gzip = (b: Buffer) => gzipSync(b, { level: 9 });

export function controlText(spec: PackageSpec, installedSize: number): string {
  const [summary, ...more] = spec.description.trim().split('\n');
  const lines = [
    `Package: ${spec.name}`,
    `Version: ${spec.version}`,
    `Depends: ${spec.depends.join(', ')}`,
    `Source: ${spec.source}`,
    ...(spec.url ? [`URL: ${spec.url}`] : []),
    `License: ${spec.license}`,
    `Section: ${spec.section}`,
    `Maintainer: ${spec.maintainer}`,
    'Architecture: all',
    `Installed-Size: ${installedSize}`,
    `Description: ${summary!.trim()}`,
    ...more.map((l) => ` ${l.trim() === '' ? '.' : l.trim()}`),
  ];
  return `${lines.join('\n')}\n`;
}

export function ipkFileName(spec: PackageSpec): string {
  return `${spec.name}_${spec.version}_all.ipk`;
}

/** The .ipk bytes of one package; `mtime` is SOURCE_DATE_EPOCH. */
export function buildIpk(spec: PackageSpec, mtime: number): Buffer {
  if (!/^[a-z0-9][a-z0-9_.+-]*$/.test(spec.name)) throw new Error(`illegal package name ${spec.name}`);
  if (!/^\d+\.\d+\.\d+-r\d+$/.test(spec.version)) throw new Error(`version ${spec.version} is not X.Y.Z-rN`);
  const dataTar = makeTar(treeEntries(spec.files), mtime);
  const dataGz = gzip(dataTar);

  const conffiles = (spec.conffiles ?? []).filter((c) => spec.files.some((f) => f.path === c)).sort(byName);
  const control: PackageFile[] = [
    { path: '/control', data: Buffer.from(controlText(spec, dataTar.length)), mode: 0o644 },
    { path: '/postinst', data: Buffer.from(POSTINST), mode: 0o755 },
    { path: '/prerm', data: Buffer.from(PRERM), mode: 0o755 },
  ];
  if (conffiles.length > 0)
    control.push({ path: '/conffiles', data: Buffer.from(`${conffiles.join('\n')}\n`), mode: 0o644 });
  if (spec.postinstPkg) control.push({ path: '/postinst-pkg', data: Buffer.from(spec.postinstPkg), mode: 0o755 });
  if (spec.prermPkg) control.push({ path: '/prerm-pkg', data: Buffer.from(spec.prermPkg), mode: 0o755 });
  const controlGz = gzip(makeTar(treeEntries(control), mtime));

  // ipkg-build names the members explicitly, in this order.
  const outer = makeTar(
    [
      { name: './debian-binary', data: Buffer.from('2.0\n'), mode: 0o644 },
      { name: './data.tar.gz', data: dataGz, mode: 0o644 },
      { name: './control.tar.gz', data: controlGz, mode: 0o644 },
    ],
    mtime,
  );
  return gzip(outer);
}
