// Assembles apk-tools v3 packages (OpenWrt 25.12) from the same package specs as the .ipk files, carrying
// what OpenWrt's include/package-pack.mk gives `apk mkpkg`: name, version, description, arch noarch,
// license, origin, url, maintainer, provides (<name>-any), depends; /lib/apk/packages/<name>.list,
// .conffiles and .conffiles_static (default_postinst reads them); post-install, post-upgrade and
// pre-deinstall scripts around default_postinst / default_prerm. Unsigned, as OpenWrt's packages are
// (the index is signed). Every directory is listed with its ACL, as `apk mkpkg` does by default.

import { createHash } from 'node:crypto';
import { AdbWriter, BLOCK_ADB, BLOCK_DATA, block, compress, decompress, fileHeader, NULL, SCHEMA_PACKAGE } from './adb';
import type { PackageFile, PackageSpec } from './ipk';

// Field numbers of apk-tools' schemas (apk-v3(5), apk-package(5)).
export const PI = {
  name: 1,
  version: 2,
  hashes: 3,
  description: 4,
  arch: 5,
  license: 6,
  origin: 7,
  maintainer: 8,
  url: 9,
  installedSize: 12,
  fileSize: 13,
  depends: 15,
  provides: 16,
} as const;
export const PKG = { info: 1, paths: 2, scripts: 3 } as const;
export const ACL = { mode: 1, user: 2, group: 3 } as const;
export const FI = { name: 1, acl: 2, size: 3, mtime: 4, hash: 5 } as const;
export const DI = { name: 1, acl: 2, files: 3 } as const;
export const SCRIPT = { postInstall: 3, preDeinstall: 4, postUpgrade: 7 } as const;
export const DEP = { name: 1 } as const;

const UNIQUE_ID_LEN = 20;
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** OpenWrt drops a package script's own "#!" lines before appending it to its generated script. */
const withoutShebang = (s: string) =>
  s
    .split('\n')
    .filter((l) => !/^\s*#!/.test(l))
    .join('\n');

export function apkScripts(spec: PackageSpec): { postInstall: string; postUpgrade: string; preDeinstall: string } {
  const postInstall = [
    '#!/bin/sh',
    `[ "\${IPKG_NO_SCRIPT}" = "1" ] && exit 0`,
    `[ -s \${IPKG_INSTROOT}/lib/functions.sh ] || exit 0`,
    `. \${IPKG_INSTROOT}/lib/functions.sh`,
    `export root="\${IPKG_INSTROOT}"`,
    `export pkgname="${spec.name}"`,
    'add_group_and_user',
    'default_postinst',
    '',
  ].join('\n');
  const postInstallFull = postInstall + (spec.postinstPkg ? withoutShebang(spec.postinstPkg) : '');
  const preDeinstall =
    [
      '#!/bin/sh',
      `[ -s \${IPKG_INSTROOT}/lib/functions.sh ] || exit 0`,
      `. \${IPKG_INSTROOT}/lib/functions.sh`,
      `export root="\${IPKG_INSTROOT}"`,
      `export pkgname="${spec.name}"`,
      'default_prerm',
      '',
    ].join('\n') + (spec.prermPkg ? withoutShebang(spec.prermPkg) : '');
  return {
    postInstall: postInstallFull,
    postUpgrade: `#!/bin/sh\nexport PKG_UPGRADE=1\n${withoutShebang(postInstallFull)}`,
    preDeinstall,
  };
}

/** The package's files plus the /lib/apk/packages/<name>.* files OpenWrt's build adds. */
export function apkFiles(spec: PackageSpec): PackageFile[] {
  const dir = '/lib/apk/packages';
  const list = [...spec.files.map((f) => f.path)].sort(byBytes);
  const out: PackageFile[] = [
    ...spec.files,
    { path: `${dir}/${spec.name}.list`, data: Buffer.from(list.map((p) => `${p}\n`).join('')), mode: 0o644 },
  ];
  const conffiles = spec.conffiles ?? [];
  if (conffiles.length > 0) {
    out.push({ path: `${dir}/${spec.name}.conffiles`, data: Buffer.from(`${conffiles.join('\n')}\n`), mode: 0o644 });
    const lines = conffiles.flatMap((c) => {
      const f = spec.files.find((x) => x.path === c);
      return f ? [`${c} ${createHash('sha256').update(f.data).digest('hex')}\n`] : [];
    });
    if (lines.length > 0)
      out.push({ path: `${dir}/${spec.name}.conffiles_static`, data: Buffer.from(lines.join('')), mode: 0o644 });
  }
  return out;
}

export const apkFileName = (spec: PackageSpec): string => `${spec.name}-${spec.version}.apk`;

/** package-pack.mk passes the description through `strip`: one line, runs of whitespace collapsed. */
export const apkDescription = (spec: PackageSpec): string => spec.description.trim().replace(/\s+/g, ' ');

/** OpenWrt 25.12 packages provide "<name>-any" (an unversioned, virtual name). */
export const apkProvides = (spec: PackageSpec): string[] => [`${spec.name}-any`];

interface Dir {
  name: string;
  files: PackageFile[];
}

/** Every directory of the tree (the root as ""), each with its files, sorted by name as apk-tools keeps them. */
function directories(files: readonly PackageFile[]): Dir[] {
  const dirs = new Map<string, Dir>([['', { name: '', files: [] }]]);
  for (const f of files) {
    if (!f.path.startsWith('/') || f.path.endsWith('/')) throw new Error(`bad package path ${f.path}`);
    const parts = f.path.slice(1).split('/');
    parts.pop();
    for (let i = 1; i <= parts.length; i++) {
      const name = parts.slice(0, i).join('/');
      if (!dirs.has(name)) dirs.set(name, { name, files: [] });
    }
    dirs.get(parts.join('/'))!.files.push(f);
  }
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  const out = [...dirs.values()].sort((a, b) => byBytes(a.name, b.name));
  for (const d of out) {
    d.files.sort((a, b) => byBytes(base(a.path), base(b.path)));
    for (let i = 1; i < d.files.length; i++)
      if (base(d.files[i]!.path) === base(d.files[i - 1]!.path)) throw new Error(`duplicate path ${d.files[i]!.path}`);
  }
  return out;
}

const depArray = (w: AdbWriter, names: readonly string[]) =>
  w.array([...new Set(names)].sort(byBytes).map((n) => w.object([undefined, w.blob(n)])));

/** The .apk bytes of one package; `mtime` is SOURCE_DATE_EPOCH. */
export function buildApk(spec: PackageSpec, mtime: number): Buffer {
  if (!/^[a-z0-9][a-z0-9_.+-]*$/.test(spec.name)) throw new Error(`illegal package name ${spec.name}`);
  if (!/^\d+\.\d+\.\d+-r\d+$/.test(spec.version)) throw new Error(`version ${spec.version} is not X.Y.Z-rN`);
  const files = apkFiles(spec);
  const dirs = directories(files);
  const w = new AdbWriter();
  const acl = (mode: number) => w.object([undefined, w.int(mode), w.blob('root'), w.blob('root')]);

  const paths = w.array(
    dirs.map((d) => {
      const fileVals = d.files.map((f) => {
        const name = f.path.slice(f.path.lastIndexOf('/') + 1);
        const fields: (number | undefined)[] = [];
        fields[FI.name] = w.blob(name);
        fields[FI.acl] = acl(f.mode & 0o7777);
        fields[FI.size] = w.int(f.data.length);
        fields[FI.mtime] = w.int(mtime);
        fields[FI.hash] = w.blob(createHash('sha256').update(f.data).digest());
        return w.object(fields);
      });
      return w.object([undefined, w.blob(d.name), acl(0o755), w.array(fileVals)]);
    }),
  );

  const scripts = apkScripts(spec);
  const scriptFields: (number | undefined)[] = [];
  scriptFields[SCRIPT.postInstall] = w.blob(scripts.postInstall);
  scriptFields[SCRIPT.preDeinstall] = w.blob(scripts.preDeinstall);
  scriptFields[SCRIPT.postUpgrade] = w.blob(scripts.postUpgrade);

  const installed = Math.max(
    1,
    files.reduce((n, f) => n + f.data.length, 0),
  );
  const uniqueId = w.blob(Buffer.alloc(UNIQUE_ID_LEN));
  const info: (number | undefined)[] = [];
  info[PI.name] = w.blob(spec.name);
  info[PI.version] = w.blob(spec.version);
  info[PI.hashes] = uniqueId;
  info[PI.description] = w.blob(apkDescription(spec));
  info[PI.arch] = w.blob('noarch');
  info[PI.license] = w.blob(spec.license);
  info[PI.origin] = w.blob(spec.source);
  info[PI.maintainer] = w.blob(spec.maintainer);
  info[PI.url] = spec.url ? w.blob(spec.url) : NULL;
  info[PI.installedSize] = w.int(installed);
  info[PI.depends] = depArray(w, spec.depends);
  info[PI.provides] = depArray(w, apkProvides(spec));

  const root: (number | undefined)[] = [];
  root[PKG.info] = w.object(info);
  root[PKG.paths] = paths;
  root[PKG.scripts] = w.object(scriptFields);
  const adb = w.finish(w.object(root));

  // The unique id: the first 20 bytes of SHA-256 over the metadata with the id zeroed, as apk mkpkg fills it.
  const idAt = (uniqueId & 0x0fffffff) + 1;
  createHash('sha256').update(adb).digest().copy(adb, idAt, 0, UNIQUE_ID_LEN);

  const parts: Buffer[] = [fileHeader(SCHEMA_PACKAGE), block(BLOCK_ADB, adb)];
  dirs.forEach((d, i) => {
    d.files.forEach((f, j) => {
      if (f.data.length === 0) return;
      const hdr = Buffer.alloc(8);
      hdr.writeUInt32LE(i + 1, 0);
      hdr.writeUInt32LE(j + 1, 4);
      parts.push(block(BLOCK_DATA, Buffer.concat([hdr, f.data])));
    });
  });
  return compress(Buffer.concat(parts));
}

/** The ADB payload (metadata) of a package file, whose SHA-256 is the package's identity in an index. */
export function apkMetadata(apk: Buffer): Buffer {
  const f = decompress(apk);
  const raw = f.readUInt32LE(8) & 0x3fffffff;
  return f.subarray(12, 8 + raw);
}
