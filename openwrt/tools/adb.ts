// apk-tools v3 "ADB" containers (apk-v3(5)): a tree of tagged 32-bit little-endian values, written
// bottom-up into one ADB block, then signature blocks, then data blocks. Written from the format's
// description and checked against the real `apk` (test/package/apk.test.ts, golden files in
// test/package/apk-golden); no apk-tools code is used.

import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/** Value tags: the high 4 bits of a value. */
export const T = {
  special: 0x0,
  int: 0x1,
  int32: 0x2,
  int64: 0x3,
  blob8: 0x8,
  blob16: 0x9,
  blob32: 0xa,
  array: 0xd,
  object: 0xe,
} as const;

export const NULL = 0;
const MAX_OFFSET = 0x0fffffff;

export const SCHEMA_PACKAGE = 0x676b6370; // "pckg"
export const SCHEMA_INDEX = 0x78646e69; // "indx"

export const BLOCK_ADB = 0;
export const BLOCK_SIG = 1;
export const BLOCK_DATA = 2;

/** The digest id apk-tools numbers SHA-512 with (signature header). */
const DIGEST_SHA512 = 4;

const tag = (type: number, value: number) => ((type << 28) | value) >>> 0;

/** The ADB block's payload: a header (compat version, version, reserved, root) followed by the values. */
export class AdbWriter {
  private buf = Buffer.alloc(4096);
  private len = 8;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  private write(parts: readonly Buffer[], align: number): number {
    const pad = (align - (this.len % align)) % align;
    const total = parts.reduce((n, p) => n + p.length, 0);
    this.reserve(pad + total);
    this.len += pad; // the buffer is zero-filled
    const off = this.len;
    if (off > MAX_OFFSET) throw new Error('adb: more than 256 MiB of metadata');
    for (const p of parts) {
      p.copy(this.buf, this.len);
      this.len += p.length;
    }
    return off;
  }

  blob(data: Buffer | string): number {
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (b.length === 0) return NULL;
    if (b.length <= 0xff) return tag(T.blob8, this.write([Buffer.of(b.length), b], 1));
    if (b.length <= 0xffff) {
      const h = Buffer.alloc(2);
      h.writeUInt16LE(b.length);
      return tag(T.blob16, this.write([h, b], 2));
    }
    const h = Buffer.alloc(4);
    h.writeUInt32LE(b.length);
    return tag(T.blob32, this.write([h, b], 4));
  }

  int(n: number): number {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`adb: ${n} is not a non-negative integer`);
    if (n < 0x10000000) return tag(T.int, n);
    if (n < 0x100000000) {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      return tag(T.int32, this.write([b], 4));
    }
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return tag(T.int64, this.write([b], 4));
  }

  /** An object from its fields, numbered from 1 (index 0 unused); trailing NULL fields are left out. */
  object(fields: readonly (number | undefined)[]): number {
    return this.slots(
      T.object,
      fields.slice(1).map((v) => v ?? NULL),
    );
  }

  /** An array; NULL items are left out, as apk-tools appends none. */
  array(items: readonly number[]): number {
    return this.slots(
      T.array,
      items.filter((v) => v !== NULL),
    );
  }

  private slots(type: number, values: number[]): number {
    let n = values.length;
    while (n > 0 && values[n - 1] === NULL) n--;
    if (n === 0) return NULL;
    const b = Buffer.alloc(4 * (n + 1));
    b.writeUInt32LE(n + 1, 0);
    for (let i = 0; i < n; i++) b.writeUInt32LE(values[i]!, 4 * (i + 1));
    return tag(type, this.write([b], 4));
  }

  /** The finished payload with `root` in its header. */
  finish(root: number): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.len));
    out.writeUInt32LE(root, 4);
    return out;
  }
}

/** One block: a 32-bit header (2 bits type, 30 bits size including the header), payload, zero padding to 8 bytes. */
export function block(type: number, payload: Buffer): Buffer {
  const raw = 4 + payload.length;
  if (raw > 0x3fffffff) throw new Error('adb: block too large for a short header');
  const h = Buffer.alloc(4);
  h.writeUInt32LE(((type << 30) | raw) >>> 0);
  const pad = (8 - (raw % 8)) % 8;
  return Buffer.concat([h, payload, Buffer.alloc(pad)]);
}

export function fileHeader(schema: number): Buffer {
  const b = Buffer.alloc(8);
  b.write('ADB.', 0, 'latin1');
  b.writeUInt32LE(schema, 4);
  return b;
}

/** apk-tools' default compression: "ADBd", then the whole uncompressed file (its own header too) as raw deflate, level 9. */
export function compress(file: Buffer): Buffer {
  if (file.subarray(0, 4).toString('latin1') !== 'ADB.') throw new Error('adb: not an uncompressed ADB file');
  return Buffer.concat([Buffer.from('ADBd', 'latin1'), deflateRawSync(file, { level: 9 })]);
}

export function decompress(file: Buffer): Buffer {
  const magic = file.subarray(0, 4).toString('latin1');
  if (magic === 'ADB.') return file;
  if (magic === 'ADBd') return decompress(inflateRawSync(file.subarray(4)));
  throw new Error(`adb: unknown file magic ${JSON.stringify(magic)}`);
}

// --- signing (the index): ECDSA P-256 or RSA keys in PEM, as apk-tools' OpenSSL backend takes them ---

/** apk-tools' key id: the first 16 bytes of SHA-512 over the public key in OpenSSL's i2d_PublicKey form. */
export function keyId(publicKey: KeyObject): Buffer {
  let raw: Buffer;
  if (publicKey.asymmetricKeyType === 'ec') {
    const jwk = publicKey.export({ format: 'jwk' });
    raw = Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  } else if (publicKey.asymmetricKeyType === 'rsa') {
    raw = publicKey.export({ format: 'der', type: 'pkcs1' });
  } else {
    throw new Error(`apk signatures need an EC or RSA key, not ${publicKey.asymmetricKeyType}`);
  }
  return createHash('sha512').update(raw).digest().subarray(0, 16);
}

/** A SIG block (version 0) over an ADB payload: the key signs schema, signature header and SHA-512 of the payload. */
export function signatureBlock(schema: number, adbPayload: Buffer, privateKeyPem: string | Buffer): Buffer {
  const priv = createPrivateKey(privateKeyPem);
  const id = keyId(createPublicKey(priv));
  const hdr = Buffer.concat([Buffer.of(0, DIGEST_SHA512), id]);
  const schemaLe = Buffer.alloc(4);
  schemaLe.writeUInt32LE(schema);
  const md = createHash('sha512').update(adbPayload).digest();
  const sig = cryptoSign('sha512', Buffer.concat([schemaLe, hdr, md]), priv);
  return block(BLOCK_SIG, Buffer.concat([hdr, sig]));
}

// --- reading (tests and checks) ---

export interface AdbBlock {
  type: number;
  payload: Buffer;
}

/** The blocks of an uncompressed ADB file after its 8-byte header. */
export function readBlocks(file: Buffer): { schema: number; blocks: AdbBlock[] } {
  const f = decompress(file);
  const schema = f.readUInt32LE(4);
  const blocks: AdbBlock[] = [];
  let off = 8;
  while (off < f.length) {
    if (off + 4 > f.length) throw new Error(`adb: truncated block header at ${off}`);
    const h = f.readUInt32LE(off);
    const type = h >>> 30;
    const raw = h & 0x3fffffff;
    if (type === 3) throw new Error('adb: extended blocks are not read here');
    if (raw < 4 || off + raw > f.length) throw new Error(`adb: bad block size at ${off}`);
    blocks.push({ type, payload: f.subarray(off + 4, off + raw) });
    off += raw + ((8 - (raw % 8)) % 8);
  }
  return { schema, blocks };
}

export type AdbValue = null | boolean | number | Buffer | AdbValue[] | { [field: number]: AdbValue };

/** Decodes a value of an ADB payload into plain data; objects become {fieldNumber: value}. */
export function readValue(adb: Buffer, v: number, depth = 0): AdbValue {
  if (depth > 32) throw new Error('adb: nesting too deep');
  const type = v >>> 28;
  const val = v & MAX_OFFSET;
  const at = (n: number) => {
    if (val + n > adb.length) throw new Error(`adb: value at ${val} beyond the block`);
    return val;
  };
  switch (type) {
    case T.special:
      return val === 0 ? null : val === 1;
    case T.int:
      return val;
    case T.int32:
      return adb.readUInt32LE(at(4));
    case T.int64:
      return Number(adb.readBigUInt64LE(at(8)));
    case T.blob8:
      return Buffer.from(adb.subarray(at(1) + 1, at(1 + adb[val]!) + 1 + adb[val]!));
    case T.blob16: {
      const n = adb.readUInt16LE(at(2));
      return Buffer.from(adb.subarray(at(2 + n) + 2, val + 2 + n));
    }
    case T.blob32: {
      const n = adb.readUInt32LE(at(4));
      return Buffer.from(adb.subarray(at(4 + n) + 4, val + 4 + n));
    }
    case T.array:
    case T.object: {
      const n = adb.readUInt32LE(at(4));
      at(4 * n);
      const items: number[] = [];
      for (let i = 1; i < n; i++) items.push(adb.readUInt32LE(val + 4 * i));
      if (type === T.array) return items.map((x) => readValue(adb, x, depth + 1));
      const o: { [field: number]: AdbValue } = {};
      items.forEach((x, i) => {
        if (x !== NULL) o[i + 1] = readValue(adb, x, depth + 1);
      });
      return o;
    }
    default:
      throw new Error(`adb: unknown value type ${type}`);
  }
}

export const rootOf = (adb: Buffer): AdbValue => readValue(adb, adb.readUInt32LE(4));
