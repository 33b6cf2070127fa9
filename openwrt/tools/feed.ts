// Package feeds a router can install from by name, each signed with a key made on the first build:
//   apk (OpenWrt 25.12): the .apk files and packages.adb, an apk-tools v3 index signed with an ECDSA
//     P-256 key (its public half goes to /etc/apk/keys/ on the router);
//   opkg (23.05, 24.10): the .ipk files, Packages, Packages.gz and Packages.sig, an Ed25519 signature in
//     usign's format (its public key goes to /etc/opkg/keys/<fingerprint>, as `opkg-key add` puts it).

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  AdbWriter,
  BLOCK_ADB,
  block,
  compress,
  fileHeader,
  NULL,
  readValue,
  SCHEMA_INDEX,
  signatureBlock,
} from './adb';
import { apkMetadata, PI, PKG } from './apk';

// --- keys ---

export interface FeedKeys {
  /** ECDSA P-256 private key (PKCS#8 PEM) signing packages.adb. */
  apkPrivate: string;
  /** Its public key (SPKI PEM), as /etc/apk/keys/ holds them. */
  apkPublic: string;
  /** Ed25519 private key (PKCS#8 PEM) signing Packages. */
  usignPrivate: string;
}

const APK_KEY = 'apk-key.pem';
const USIGN_KEY = 'usign-key.pem';

/** The feed keys in `dir`, made there (mode 0600) when missing: a feed keeps its key across builds. */
export function loadOrCreateKeys(dir: string): FeedKeys {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const make = (file: string, gen: () => string) => {
    const p = join(dir, file);
    if (!existsSync(p)) writeFileSync(p, gen(), { mode: 0o600 });
    return readFileSync(p, 'utf8');
  };
  const pkcs8 = { format: 'pem', type: 'pkcs8' } as const;
  const apkPrivate = make(APK_KEY, () =>
    generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export(pkcs8).toString(),
  );
  const usignPrivate = make(USIGN_KEY, () => generateKeyPairSync('ed25519').privateKey.export(pkcs8).toString());
  const apkPublic = createPublicKey(apkPrivate).export({ format: 'pem', type: 'spki' }).toString();
  return { apkPrivate, apkPublic, usignPrivate };
}

// --- usign (OpenWrt's signify) ---

/** usign's key fingerprint: any 8 bytes that key and signature share; here the first 8 of SHA-512 over the public key. */
function usignParts(privatePem: string): { fingerprint: Buffer; publicKey: Buffer } {
  const jwk = createPublicKey(createPrivateKey(privatePem)).export({ format: 'jwk' });
  const publicKey = Buffer.from(jwk.x!, 'base64url');
  return { fingerprint: createHash('sha512').update(publicKey).digest().subarray(0, 8), publicKey };
}

/** The name usign -P looks the key up by: the fingerprint as one hex number (printf %PRIx64, no leading zeros). */
export const usignKeyName = (privatePem: string): string =>
  BigInt(`0x${usignParts(privatePem).fingerprint.toString('hex')}`).toString(16);

/** A public key file as `usign -G` writes it: a comment line, then base64 of "Ed", fingerprint, key. */
export function usignPublicKey(privatePem: string, comment: string): string {
  const { fingerprint, publicKey } = usignParts(privatePem);
  return `untrusted comment: ${comment}\n${Buffer.concat([Buffer.from('Ed'), fingerprint, publicKey]).toString('base64')}\n`;
}

/** A signature file as `usign -S` writes it: Ed25519 over the message itself. */
export function usignSign(privatePem: string, message: Buffer): string {
  const { fingerprint } = usignParts(privatePem);
  const sig = sign(null, message, createPrivateKey(privatePem));
  const name = usignKeyName(privatePem);
  return `untrusted comment: signed by key ${name}\n${Buffer.concat([Buffer.from('Ed'), fingerprint, sig]).toString('base64')}\n`;
}

// --- opkg index ---

/** One Packages stanza as OpenWrt's ipkg-make-index.sh writes it: control, with Filename, Size and SHA256sum before Description. */
export function packagesStanza(control: string, fileName: string, ipk: Buffer): string {
  const extra = `Filename: ${fileName}\nSize: ${ipk.length}\nSHA256sum: ${createHash('sha256').update(ipk).digest('hex')}\n`;
  const at = control.search(/^Description:/m);
  if (at < 0) throw new Error(`${fileName}: control has no Description`);
  return `${control.slice(0, at)}${extra}${control.slice(at)}\n`;
}

// --- apk index ---

/** packages.adb: every package's info (depends and provides as in the package) with file-size and its identity hash. */
export function apkIndex(packages: readonly Buffer[], description: string, privateKeyPem: string): Buffer {
  const w = new AdbWriter();
  const entries = packages.map((apk) => {
    const meta = apkMetadata(apk);
    const root = readValue(meta, meta.readUInt32LE(4)) as Record<number, unknown>;
    const info = root[PKG.info] as Record<number, Buffer | number | Record<number, Buffer>[]>;
    return { apk, meta, info, name: info[PI.name] as Buffer };
  });
  entries.sort((a, b) => Buffer.compare(a.name, b.name));
  const copy = (v: unknown): number => {
    if (Buffer.isBuffer(v)) return w.blob(v);
    if (typeof v === 'number') return w.int(v);
    if (Array.isArray(v)) return w.array(v.map(copy));
    if (v && typeof v === 'object') {
      const fields: (number | undefined)[] = [];
      for (const [k, x] of Object.entries(v)) fields[Number(k)] = copy(x);
      return w.object(fields);
    }
    return NULL;
  };
  const pkgs = entries.map(({ apk, meta, info }) => {
    const fields: (number | undefined)[] = [];
    for (const [k, v] of Object.entries(info)) fields[Number(k)] = copy(v);
    fields[PI.hashes] = w.blob(createHash('sha256').update(meta).digest());
    fields[PI.fileSize] = w.int(apk.length);
    return w.object(fields);
  });
  const adb = w.finish(w.object([undefined, w.blob(description), w.array(pkgs)]));
  return compress(
    Buffer.concat([fileHeader(SCHEMA_INDEX), block(BLOCK_ADB, adb), signatureBlock(SCHEMA_INDEX, adb, privateKeyPem)]),
  );
}

export interface BuiltPackage {
  fileName: string;
  data: Buffer;
}

export const APK_PUBLIC_KEY_NAME = 'replyguard-feed.pem';
export const USIGN_PUBLIC_KEY_NAME = 'replyguard-feed.pub';

/** Writes <out>/apk and <out>/opkg; returns the files written. */
export function writeFeeds(
  out: string,
  keys: FeedKeys,
  apks: readonly BuiltPackage[],
  ipks: ReadonlyArray<BuiltPackage & { control: string }>,
  description: string,
): string[] {
  const written: string[] = [];
  const put = (dir: string, name: string, data: Buffer | string) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), data);
    written.push(join(dir, name));
  };
  const apkDir = join(out, 'apk');
  for (const p of apks) put(apkDir, p.fileName, p.data);
  put(
    apkDir,
    'packages.adb',
    apkIndex(
      apks.map((p) => p.data),
      description,
      keys.apkPrivate,
    ),
  );
  put(apkDir, APK_PUBLIC_KEY_NAME, keys.apkPublic);

  const opkgDir = join(out, 'opkg');
  for (const p of ipks) put(opkgDir, p.fileName, p.data);
  const packages = Buffer.from(
    [...ipks]
      .sort((a, b) => Buffer.compare(Buffer.from(a.fileName), Buffer.from(b.fileName)))
      .map((p) => packagesStanza(p.control, p.fileName, p.data))
      .join(''),
  );
  put(opkgDir, 'Packages', packages);
  put(opkgDir, 'Packages.gz', gzipSync(packages, { level: 9 }));
  put(opkgDir, 'Packages.sig', usignSign(keys.usignPrivate, packages));
  put(
    opkgDir,
    USIGN_PUBLIC_KEY_NAME,
    usignPublicKey(keys.usignPrivate, `replyguard feed ${usignKeyName(keys.usignPrivate)}`),
  );
  return written;
}
