// The OpenWrt 25.12 packages (`make apk`) and the local feeds (`make feed`). Golden files in test/package/apk-golden
// were made by the real apk-tools v3 (regenerate.ts says how): the metadata this writer produces is compared
// with what `apk mkpkg` makes from the same staged tree, without the tool; where an apk-tools v3 binary is
// present (RG_APK, else `apk` on PATH) it also dumps, verifies, installs and removes the packages here and
// its output must equal the golden files. The feeds' signatures are checked with Node's crypto.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  type AdbValue,
  BLOCK_ADB,
  BLOCK_DATA,
  BLOCK_SIG,
  keyId,
  readBlocks,
  readValue,
  rootOf,
  SCHEMA_INDEX,
  SCHEMA_PACKAGE,
} from '../../openwrt/tools/adb';
import { ACL, apkFileName, apkMetadata, buildApk, DI, FI, PI, PKG, SCRIPT } from '../../openwrt/tools/apk';
import { buildAllApk } from '../../openwrt/tools/build-apk';
import { buildFeed } from '../../openwrt/tools/build-feed';
import { loadOrCreateKeys, USIGN_PUBLIC_KEY_NAME, usignKeyName } from '../../openwrt/tools/feed';
import { FIXTURE_MTIME, FIXTURES } from './apk-golden/fixture';

const ROOT = join(__dirname, '..', '..');
const GOLDEN = join(__dirname, 'apk-golden');
const BUNDLE = join(ROOT, 'dist', 'replyguard.js');
const tmp = mkdtempSync(join(tmpdir(), 'rg-apk-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

type Obj = Record<number, AdbValue>;
const str = (v: AdbValue | undefined) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
const obj = (v: AdbValue | undefined) => (v ?? {}) as Obj;
const arr = (v: AdbValue | undefined) => (v ?? []) as AdbValue[];

/** The "key: value" and list-item lines of an `apk adbdump`, in order, without the layout-dependent ones. */
export function dumpFacts(dump: string): string[] {
  const out: string[] = [];
  let blockIndent = -1; // inside a block scalar ("key: |") while lines are indented deeper than its key
  for (const line of dump.split('\n')) {
    const indent = line.length - line.trimStart().length;
    if (blockIndent >= 0 && (indent > blockIndent || line.trim() === '')) continue;
    blockIndent = -1;
    if (line.startsWith('#')) continue;
    const kv = /^\s*(?:- )?([a-z-]+): (.*)$/.exec(line);
    if (kv) {
      if (kv[2] === '|') blockIndent = indent;
      else if (kv[1] !== 'hashes' && !kv[2]!.startsWith('#')) out.push(`${kv[1]}: ${kv[2]}`);
      continue;
    }
    const item = /^\s*- ([^:]+)$/.exec(line);
    if (item) out.push(`- ${item[1]}`);
  }
  return out;
}

/** A block scalar of an `apk adbdump` (descriptions, scripts) by its key, or the key's inline value. */
function dumpText(dump: string, key: string): string | undefined {
  const lines = dump.split('\n');
  const i = lines.findIndex((l) => new RegExp(`^\\s*${key}: `).test(l));
  if (i < 0) return undefined;
  const value = lines[i]!.replace(/^\s*[a-z-]+: /, '');
  if (value !== '|') return value;
  const indent = /^\s*/.exec(lines[i]!)![0].length + 2;
  const text: string[] = [];
  for (const l of lines.slice(i + 1)) {
    if (l.length - l.trimStart().length < indent && l.trim() !== '') break;
    text.push(l.slice(indent));
  }
  while (text.length > 0 && text[text.length - 1] === '') text.pop();
  return `${text.join('\n')}\n`;
}

/** The same facts from a package this writer made, decoded by its own reader. */
export function packageFacts(pkg: Obj): string[] {
  const info = obj(pkg[PKG.info]);
  const out: string[] = [];
  const scalar = (key: string, v: AdbValue | undefined) => {
    if (v !== undefined) out.push(`${key}: ${str(v)}`);
  };
  scalar('name', info[PI.name]);
  scalar('version', info[PI.version]);
  const desc = str(info[PI.description]);
  if (desc.length < 80) scalar('description', info[PI.description]);
  for (const [k, key] of [
    [PI.arch, 'arch'],
    [PI.license, 'license'],
    [PI.origin, 'origin'],
    [PI.maintainer, 'maintainer'],
    [PI.url, 'url'],
    [PI.installedSize, 'installed-size'],
  ] as const)
    scalar(key, info[k]);
  for (const d of arr(info[PI.depends])) out.push(`- ${str(obj(d)[1])}`);
  for (const d of arr(info[PI.provides])) out.push(`- ${str(obj(d)[1])}`);
  const acl = (a: Obj) => {
    out.push(
      `mode: 0${(a[ACL.mode] as number).toString(8)}`,
      `user: ${str(a[ACL.user])}`,
      `group: ${str(a[ACL.group])}`,
    );
  };
  for (const d of arr(pkg[PKG.paths])) {
    const dir = obj(d);
    if (dir[DI.name] !== undefined) out.push(`name: ${str(dir[DI.name])}`);
    acl(obj(dir[DI.acl]));
    for (const f of arr(dir[DI.files])) {
      const file = obj(f);
      out.push(`name: ${str(file[FI.name])}`);
      acl(obj(file[FI.acl]));
      out.push(`size: ${file[FI.size]}`, `mtime: ${file[FI.mtime]}`);
      if (file[FI.hash]) out.push(`hash: ${(file[FI.hash] as Buffer).toString('hex')}`);
    }
  }
  return out;
}

function decodePackage(apk: Buffer): { pkg: Obj; data: Array<{ path: number; file: number; bytes: Buffer }> } {
  const { schema, blocks } = readBlocks(apk);
  assert.equal(schema, SCHEMA_PACKAGE);
  assert.equal(blocks[0]!.type, BLOCK_ADB, 'the ADB block comes first');
  const pkg = rootOf(blocks[0]!.payload) as Obj;
  const data = blocks.slice(1).map((b) => {
    assert.equal(b.type, BLOCK_DATA, 'then only data blocks (packages are unsigned, as OpenWrt builds them)');
    return { path: b.payload.readUInt32LE(0), file: b.payload.readUInt32LE(4), bytes: b.payload.subarray(8) };
  });
  return { pkg, data };
}

function apkTool(): { bin: string } | { skip: string } {
  const bin = process.env.RG_APK || 'apk';
  try {
    const v = execFileSync(bin, ['--version'], { encoding: 'utf8' });
    return /apk-tools 3\./.test(v) ? { bin } : { skip: `${bin} is not apk-tools v3 (${v.trim()})` };
  } catch {
    return {
      skip: 'no apk-tools v3 binary (set RG_APK, or build github.com/alpinelinux/apk-tools with meson; see test/package/apk-golden/regenerate.ts)',
    };
  }
}

describe('apk writer against apk mkpkg (golden files, no tool needed)', () => {
  for (const spec of FIXTURES) {
    it(`${spec.name}: metadata as apk mkpkg writes it from the same tree`, () => {
      const golden = readFileSync(join(GOLDEN, `${spec.name}.mkpkg.adbdump`), 'utf8');
      const { pkg, data } = decodePackage(buildApk(spec, FIXTURE_MTIME));
      const facts = packageFacts(pkg);
      const want = dumpFacts(golden);
      assert.deepEqual(facts, want, `${facts.join('|')}\n!=\n${want.join('|')}`);
      const info = obj(pkg[PKG.info]);
      assert.equal(str(info[PI.description]), dumpText(golden, 'description')!.trimEnd());
      const scripts = obj(pkg[PKG.scripts]);
      for (const [n, key] of [
        [SCRIPT.postInstall, 'post-install'],
        [SCRIPT.preDeinstall, 'pre-deinstall'],
        [SCRIPT.postUpgrade, 'post-upgrade'],
      ] as const)
        assert.equal(str(scripts[n]), dumpText(golden, key), key);
      // One data block per non-empty file, in the order of the paths, whose bytes hash to the metadata's hash.
      const expected = arr(pkg[PKG.paths]).flatMap((d, i) =>
        arr(obj(d)[DI.files]).flatMap((f, j) =>
          (obj(f)[FI.size] as number) > 0 ? [{ i: i + 1, j: j + 1, f: obj(f) }] : [],
        ),
      );
      assert.deepEqual(
        data.map((b) => [b.path, b.file]),
        expected.map((e) => [e.i, e.j]),
      );
      data.forEach((b, k) => {
        assert.deepEqual(createHash('sha256').update(b.bytes).digest(), expected[k]!.f[FI.hash]);
      });
    });
  }

  it('the unique id is SHA-256 over the metadata with the id zeroed (first 20 bytes)', () => {
    const meta = Buffer.from(apkMetadata(buildApk(FIXTURES[0]!, FIXTURE_MTIME)));
    const id = obj(obj(rootOf(meta))[PKG.info])[PI.hashes] as Buffer;
    assert.equal(id.length, 20);
    const at = meta.indexOf(id);
    meta.fill(0, at, at + 20);
    assert.deepEqual(createHash('sha256').update(meta).digest().subarray(0, 20), id);
  });

  it('a broken file is refused by the reader, not misread', () => {
    const apk = buildApk(FIXTURES[1]!, FIXTURE_MTIME);
    assert.throws(() => readBlocks(Buffer.from('ADBx0000')), /unknown file magic/);
    const { blocks } = readBlocks(apk);
    const meta = blocks[0]!.payload;
    assert.throws(() => readValue(meta.subarray(0, 16), meta.readUInt32LE(4)), /beyond the block/);
  });
});

describe('make apk', {
  skip: existsSync(BUNDLE) ? undefined : 'dist/replyguard.js is missing: run npm run build',
}, () => {
  const EPOCH = 1764028800;
  let files: string[] = [];
  it('builds the three packages under their OpenWrt names', () => {
    process.env.SOURCE_DATE_EPOCH = String(EPOCH);
    try {
      files = buildAllApk(join(tmp, 'a'), BUNDLE);
      const again = buildAllApk(join(tmp, 'b'), BUNDLE);
      const version = `${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}-r1`;
      assert.deepEqual(readdirSync(join(tmp, 'a')).sort(), [
        `luci-app-replyguard-${version}.apk`,
        `luci-i18n-replyguard-zh-cn-${version}.apk`,
        `replyguard-${version}.apk`,
      ]);
      for (const [i, f] of files.entries())
        assert.deepEqual(readFileSync(f), readFileSync(again[i]!), `${f} is reproducible`);
      process.env.SOURCE_DATE_EPOCH = String(EPOCH + 60);
      const later = buildAllApk(join(tmp, 'c'), BUNDLE);
      assert.notDeepEqual(readFileSync(later[0]!), readFileSync(files[0]!), 'SOURCE_DATE_EPOCH reaches the package');
    } finally {
      delete process.env.SOURCE_DATE_EPOCH;
    }
  });

  it('replyguard carries what OpenWrt 25.12 packages carry', () => {
    const { pkg } = decodePackage(readFileSync(files.find((f) => f.includes('/replyguard-'))!));
    const info = obj(pkg[PKG.info]);
    assert.equal(str(info[PI.arch]), 'noarch');
    assert.equal(str(info[PI.origin]), 'feeds/replyguard/openwrt');
    assert.deepEqual(
      arr(info[PI.depends]).map((d) => str(obj(d)[1])),
      ['conntrack', 'ip-full', 'kmod-nf-conntrack-netlink', 'libc', 'node'],
    );
    assert.deepEqual(
      arr(info[PI.provides]).map((d) => str(obj(d)[1])),
      ['replyguard-any'],
    );
    const byPath = new Map<string, Obj>();
    for (const d of arr(pkg[PKG.paths]))
      for (const f of arr(obj(d)[DI.files])) byPath.set(`/${str(obj(d)[DI.name])}/${str(obj(f)[FI.name])}`, obj(f));
    assert.equal(obj(byPath.get('/usr/sbin/replyguard')![FI.acl])[ACL.mode], 0o755);
    assert.equal(obj(byPath.get('/etc/config/replyguard')![FI.acl])[ACL.mode], 0o600);
    assert.ok(byPath.has('/lib/apk/packages/replyguard.list'));
    assert.ok(byPath.has('/lib/apk/packages/replyguard.conffiles'));
    assert.ok(byPath.has('/lib/apk/packages/replyguard.conffiles_static'));
    const scripts = obj(pkg[PKG.scripts]);
    assert.match(
      str(scripts[SCRIPT.postInstall]),
      /export pkgname="replyguard"\nadd_group_and_user\ndefault_postinst\n/,
    );
    assert.match(str(scripts[SCRIPT.postUpgrade]), /^#!\/bin\/sh\nexport PKG_UPGRADE=1\n/);
    assert.match(str(scripts[SCRIPT.preDeinstall]), /default_prerm\n[\s\S]*replyguard guard remove/);
  });
});

describe('make feed', {
  skip: existsSync(BUNDLE) ? undefined : 'dist/replyguard.js is missing: run npm run build',
}, () => {
  const out = join(tmp, 'feed');
  const keys = join(tmp, 'keys');
  it('packages.adb: each package by its identity hash and size, signed by the feed key', () => {
    buildFeed(out, keys, BUNDLE, 1_700_000_000);
    const index = readFileSync(join(out, 'apk', 'packages.adb'));
    const { schema, blocks } = readBlocks(index);
    assert.equal(schema, SCHEMA_INDEX);
    assert.deepEqual(
      blocks.map((b) => b.type),
      [BLOCK_ADB, BLOCK_SIG],
    );
    const root = obj(rootOf(blocks[0]!.payload));
    const pkgs = arr(root[2]).map(obj);
    assert.deepEqual(
      pkgs.map((p) => str(p[PI.name])),
      ['luci-app-replyguard', 'luci-i18n-replyguard-zh-cn', 'replyguard'],
    );
    for (const p of pkgs) {
      const file = readFileSync(join(out, 'apk', `${str(p[PI.name])}-${str(p[PI.version])}.apk`));
      assert.equal(p[PI.fileSize], file.length);
      assert.deepEqual(p[PI.hashes], createHash('sha256').update(apkMetadata(file)).digest());
    }
    // The signature: schema, header and SHA-512 of the ADB payload, by the key /etc/apk/keys/ gets.
    const pub = createPublicKey(readFileSync(join(out, 'apk', 'replyguard-feed.pem')));
    const sig = blocks[1]!.payload;
    assert.deepEqual([sig[0], sig[1]], [0, 4], 'signature v0, SHA-512');
    assert.deepEqual(sig.subarray(2, 18), keyId(pub));
    const schemaLe = Buffer.alloc(4);
    schemaLe.writeUInt32LE(SCHEMA_INDEX);
    const signed = Buffer.concat([
      schemaLe,
      sig.subarray(0, 18),
      createHash('sha512').update(blocks[0]!.payload).digest(),
    ]);
    assert.ok(verify('sha512', signed, pub, sig.subarray(18)), 'signature verifies');
    signed[10] = signed[10]! ^ 1;
    assert.ok(!verify('sha512', signed, pub, sig.subarray(18)), 'a changed index does not');
  });

  it('opkg: Packages(.gz) list every ipk with its hash; Packages.sig is usign over Packages', () => {
    const dir = join(out, 'opkg');
    const packages = readFileSync(join(dir, 'Packages'));
    assert.deepEqual(gunzipSync(readFileSync(join(dir, 'Packages.gz'))), packages);
    const stanzas = packages.toString('utf8').trimEnd().split('\n\n');
    assert.equal(stanzas.length, 3);
    for (const s of stanzas) {
      const file = /^Filename: (.*)$/m.exec(s)![1]!;
      const ipk = readFileSync(join(dir, file));
      assert.match(
        s,
        new RegExp(
          `^Size: ${ipk.length}\\nSHA256sum: ${createHash('sha256').update(ipk).digest('hex')}\\nDescription: `,
          'm',
        ),
      );
    }
    const key = loadOrCreateKeys(keys);
    const pubFile = readFileSync(join(dir, USIGN_PUBLIC_KEY_NAME), 'utf8').split('\n');
    const pubBytes = Buffer.from(pubFile[1]!, 'base64');
    const sigFile = readFileSync(join(dir, 'Packages.sig'), 'utf8').split('\n');
    assert.equal(sigFile[0], `untrusted comment: signed by key ${usignKeyName(key.usignPrivate)}`);
    const sigBytes = Buffer.from(sigFile[1]!, 'base64');
    assert.equal(pubBytes.subarray(0, 2).toString(), 'Ed');
    assert.deepEqual(sigBytes.subarray(2, 10), pubBytes.subarray(2, 10), 'one fingerprint');
    const ed = createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pubBytes.subarray(10)]),
      format: 'der',
      type: 'spki',
    });
    assert.ok(verify(null, packages, ed, sigBytes.subarray(10)), 'Ed25519 over Packages verifies');
    assert.ok(!verify(null, Buffer.concat([packages, Buffer.from('\n')]), ed, sigBytes.subarray(10)));
  });

  it('a second build keeps the key', () => {
    const first = readFileSync(join(out, 'apk', 'replyguard-feed.pem'), 'utf8');
    buildFeed(join(tmp, 'feed2'), keys, BUNDLE, 1_700_000_000);
    assert.equal(readFileSync(join(tmp, 'feed2', 'apk', 'replyguard-feed.pem'), 'utf8'), first);
    assert.deepEqual(
      readFileSync(join(tmp, 'feed2', 'apk', apkFileName({ name: 'replyguard', version: '0.1.0-r1' } as never))),
      readFileSync(join(out, 'apk', apkFileName({ name: 'replyguard', version: '0.1.0-r1' } as never))),
      'packages are reproducible',
    );
  });
});

const tool = apkTool();
describe('the real apk-tools v3', { skip: 'skip' in tool ? tool.skip : undefined }, () => {
  it('dumps, verifies, installs and removes the fixtures as the golden files say', async () => {
    if ('skip' in tool) return;
    process.env.RG_APK = tool.bin;
    const g = await import('./apk-golden/regenerate');
    const dir = join(tmp, 'real');
    const { files, index, keysDir } = g.buildFixtureFeed(dir);
    FIXTURES.forEach((spec, i) => {
      const ours = g.adbdump(files[i]!);
      assert.equal(ours, readFileSync(join(GOLDEN, `${spec.name}.adbdump`), 'utf8'), spec.name);
      const mask = (s: string) =>
        s
          .replace(/^# ADB block, size: \d+/m, '# ADB block')
          .replace(/^ {2}hashes: [0-9a-f]+$/m, '  hashes: <unique id>');
      assert.equal(
        mask(ours),
        mask(readFileSync(join(GOLDEN, `${spec.name}.mkpkg.adbdump`), 'utf8')),
        `${spec.name} vs mkpkg`,
      );
    });
    assert.equal(g.adbdump(index), readFileSync(join(GOLDEN, 'index.adbdump'), 'utf8'));
    const verifyOut =
      `$ apk verify --keys-dir trusted packages.adb\n${g.apk(['verify', '--keys-dir', keysDir, index])}` +
      `$ apk verify --allow-untrusted *.apk\n${g.apk(['verify', '--allow-untrusted', ...files])}`;
    assert.equal(g.untemp(verifyOut, dir), readFileSync(join(GOLDEN, 'verify.txt'), 'utf8'));
    assert.equal(
      g.installAndRemove(join(tmp, 'install'), index, keysDir),
      readFileSync(join(GOLDEN, 'install.txt'), 'utf8'),
    );
  });
});
