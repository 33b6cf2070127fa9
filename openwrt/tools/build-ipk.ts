// `make ipk`: builds the OpenWrt packages without the SDK, into dist/:
//   replyguard_<ver>-r<rel>_all.ipk                  the daemon, init script, UCI config
//   luci-app-replyguard_<ver>-r<rel>_all.ipk         the LuCI pages, menu, ACL
//   luci-i18n-replyguard-zh-cn_<ver>-r<rel>_all.ipk  the 简体中文 catalog (.lmo)
// Versions come from openwrt/Makefile and luci-app/Makefile (PKG_VERSION must
// equal package.json's); timestamps from SOURCE_DATE_EPOCH, else the last
// commit, so two builds of one tree are byte-identical.
//
//   node --import tsx openwrt/tools/build-ipk.ts [--out DIR] [--bundle FILE]

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { buildIpk, ipkFileName, type PackageFile, type PackageSpec } from './ipk';
import { compileLmo, parsePo } from './lmo';

export const ROOT = join(__dirname, '..', '..');
const OPENWRT = join(ROOT, 'openwrt');
const LUCI_APP = join(ROOT, 'luci-app');

const LICENSE = 'MIT';
const MAINTAINER = 'replyguard maintainers';
const LUCI_LANG_ZH_HANS = '简体中文 (Chinese Simplified)';

/** `VAR:=value` from an OpenWrt Makefile (the first one; indented ones inside define … endef count too). */
export function makeVar(makefile: string, name: string): string {
  const m = new RegExp(`^[ \\t]*${name}:=(.*)$`, 'm').exec(readFileSync(makefile, 'utf8'));
  if (!m) throw new Error(`${relative(ROOT, makefile)}: no ${name}:=`);
  return m[1]!.trim();
}

/** DEPENDS:=+a +b … of a Makefile's package, as control's Depends (libc comes first, as in OpenWrt's). */
export function makeDepends(makefile: string, variable = 'DEPENDS'): string[] {
  return makeVar(makefile, variable)
    .split(/\s+/)
    .filter((d) => d.startsWith('+'))
    .map((d) => d.slice(1));
}

function packageVersion(makefile: string): string {
  const version = makeVar(makefile, 'PKG_VERSION');
  const release = makeVar(makefile, 'PKG_RELEASE');
  const npm = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  if (version !== npm)
    throw new Error(`${relative(ROOT, makefile)}: PKG_VERSION ${version} differs from package.json ${npm}`);
  return `${version}-r${release}`;
}

/** define Package/<pkg>/description … endef, as a single text. */
function makeDescription(makefile: string, pkg: string): string {
  const m = new RegExp(`define Package/${pkg}/description\\n([\\s\\S]*?)\\nendef`).exec(readFileSync(makefile, 'utf8'));
  if (!m) throw new Error(`${relative(ROOT, makefile)}: no description of ${pkg}`);
  return m[1]!
    .split('\n')
    .map((l) => l.trim())
    .join(' ');
}

export function sourceDateEpoch(): number {
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env !== undefined && env !== '') {
    if (!/^\d+$/.test(env)) throw new Error(`SOURCE_DATE_EPOCH=${env} is not a number`);
    return Number(env);
  }
  try {
    return Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim()) || 0;
  } catch {
    return 0;
  }
}

/** Every file below `dir`, as package files under `prefix`, with the given mode. */
function tree(dir: string, prefix: string, mode: (path: string) => number): PackageFile[] {
  const out: PackageFile[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const path = `${prefix}/${relative(dir, p).split('\\').join('/')}`;
        out.push({ path, data: readFileSync(p), mode: mode(path) });
      }
    }
  };
  walk(dir);
  return out;
}

export function daemonPackage(bundlePath: string): PackageSpec {
  const makefile = join(OPENWRT, 'Makefile');
  const bundle = readFileSync(bundlePath);
  if (!bundle.subarray(0, 20).toString().startsWith('#!/usr/bin/env node')) {
    throw new Error(`${bundlePath} has no "#!/usr/bin/env node" line: run npm run build`);
  }
  return {
    name: 'replyguard',
    version: packageVersion(makefile),
    depends: ['libc', ...makeDepends(makefile)],
    source: 'feeds/replyguard/openwrt',
    license: LICENSE,
    section: 'net',
    maintainer: MAINTAINER,
    description: makeDescription(makefile, 'replyguard'),
    files: [
      { path: '/usr/sbin/replyguard', data: bundle, mode: 0o755 },
      { path: '/etc/init.d/replyguard', data: readFileSync(join(OPENWRT, 'files', 'replyguard.init')), mode: 0o755 },
      { path: '/etc/config/replyguard', data: readFileSync(join(OPENWRT, 'files', 'replyguard.config')), mode: 0o600 },
      {
        path: '/etc/uci-defaults/90_replyguard',
        data: readFileSync(join(OPENWRT, 'files', 'replyguard.uci-defaults')),
        mode: 0o755,
      },
    ],
    conffiles: ['/etc/config/replyguard'],
    prermPkg: DAEMON_PRERM,
  };
}

/** Uninstall leaves nothing in the firewall: the daemon stops first (guard = auto would put the guard back). */
export const DAEMON_PRERM = `[ -n "\${IPKG_INSTROOT}" ] || [ "\${PKG_UPGRADE}" = "1" ] || {
	/etc/init.d/replyguard stop 2>/dev/null
	/usr/sbin/replyguard guard remove >/dev/null 2>&1
	exit 0
}
`;

/** luci.mk's default postinst of an application (no uci-defaults of its own). */
const LUCI_POSTINST = `[ -n "\${IPKG_INSTROOT}" ] || {
	rm -f /tmp/luci-indexcache
	rm -rf /tmp/luci-modulecache/
	killall -HUP rpcd 2>/dev/null
	exit 0
}
`;

export function luciPackage(): PackageSpec {
  const makefile = join(LUCI_APP, 'Makefile');
  return {
    name: 'luci-app-replyguard',
    version: packageVersion(makefile),
    depends: ['libc', ...makeDepends(makefile, 'LUCI_DEPENDS')],
    source: 'feeds/replyguard/luci-app',
    license: LICENSE,
    section: 'luci',
    maintainer: MAINTAINER,
    description: makeVar(makefile, 'LUCI_DESCRIPTION'),
    files: [
      ...tree(join(LUCI_APP, 'htdocs'), '/www', () => 0o644),
      ...tree(join(LUCI_APP, 'root'), '', (p) => (p.startsWith('/etc/uci-defaults/') ? 0o755 : 0o644)),
    ],
    postinstPkg: LUCI_POSTINST,
  };
}

/** Checks a .po for msgids LuCI could never match (`_()` trims and collapses whitespace; po2lmo keeps escapes). */
export function checkPo(text: string, file: string): void {
  const problems: string[] = [];
  for (const m of parsePo(text)) {
    if (m.id === '') continue;
    if (m.id !== m.id.trim().replace(/[ \t\n]+/g, ' ')) problems.push(`line ${m.line}: msgid has extra whitespace`);
    if (/\\[^"\\]/.test(m.id)) problems.push(`line ${m.line}: msgid uses an escape po2lmo keeps literally`);
    for (const v of m.values)
      if (/\\[^"\\]/.test(v)) problems.push(`line ${m.line}: msgstr uses an escape po2lmo keeps literally`);
  }
  if (problems.length > 0) throw new Error(`${file}:\n${problems.join('\n')}`);
}

export function i18nPackage(lang: string, lc: string, title: string): PackageSpec {
  const makefile = join(LUCI_APP, 'Makefile');
  const poFile = join(LUCI_APP, 'po', lang, 'replyguard.po');
  const po = readFileSync(poFile, 'utf8');
  checkPo(po, relative(ROOT, poFile));
  const lmo = compileLmo(po);
  if (!lmo) throw new Error(`${relative(ROOT, poFile)} translates nothing`);
  const name = `luci-i18n-replyguard-${lc}`;
  return {
    name,
    version: packageVersion(makefile),
    depends: ['libc', 'luci-app-replyguard'],
    source: 'feeds/replyguard/luci-app',
    license: LICENSE,
    section: 'luci',
    maintainer: MAINTAINER,
    description: `Translation for luci-app-replyguard - ${title}`,
    files: [
      { path: `/usr/lib/lua/luci/i18n/replyguard.${lc}.lmo`, data: lmo, mode: 0o644 },
      {
        path: `/etc/uci-defaults/${name}`,
        data: Buffer.from(`uci set luci.languages.${lc.replace(/-/g, '_')}='${title}'; uci commit luci\n`),
        mode: 0o644,
      },
    ],
    postinstPkg: `[ -n "\${IPKG_INSTROOT}" ] || {
	(. /etc/uci-defaults/${name}) && rm -f /etc/uci-defaults/${name}
	exit 0
}
`,
  };
}

export function allPackages(bundlePath = join(ROOT, 'dist', 'replyguard.js')): PackageSpec[] {
  return [daemonPackage(bundlePath), luciPackage(), i18nPackage('zh_Hans', 'zh-cn', LUCI_LANG_ZH_HANS)];
}

/** One package format: how a package file is named and written. */
export interface PackageFormat {
  fileName(spec: PackageSpec): string;
  build(spec: PackageSpec, mtime: number): Buffer;
}

/** Writes every package in one format into outDir; the files written, in package order. */
export function writePackages(outDir: string, format: PackageFormat, bundlePath?: string): string[] {
  const mtime = sourceDateEpoch();
  mkdirSync(outDir, { recursive: true });
  return allPackages(bundlePath).map((spec) => {
    const file = join(outDir, format.fileName(spec));
    writeFileSync(file, format.build(spec, mtime));
    return file;
  });
}

export function buildAll(outDir: string, bundlePath?: string): string[] {
  return writePackages(outDir, { fileName: ipkFileName, build: buildIpk }, bundlePath);
}

/** The command line `make ipk` and `make apk` share: [--out DIR] [--bundle FILE]. */
export function packagesMain(tool: string, build: (outDir: string, bundlePath: string) => string[]): void {
  const argv = process.argv.slice(2);
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const bundle = opt('--bundle') ?? join(ROOT, 'dist', 'replyguard.js');
  if (!existsSync(bundle)) {
    process.stderr.write(`${tool}: ${bundle} is missing; run npm run build first\n`);
    process.exit(1);
  }
  for (const file of build(opt('--out') ?? join(ROOT, 'dist'), bundle)) {
    process.stdout.write(`${relative(process.cwd(), file)}\n`);
  }
}

if (require.main === module) packagesMain('build-ipk', buildAll);
