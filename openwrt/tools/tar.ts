// A minimal tar writer for OpenWrt packages: GNU-format headers (magic "ustar  "),
// never PAX, numeric owner 0:0 with empty user/group names, one fixed mtime.
// opkg-lede's tar reader accepts ustar and GNU headers but stops at PAX ones.

export interface TarEntry {
  /** Member name as stored, e.g. "./usr/sbin/replyguard" or "./etc/" (directories end in "/"). */
  name: string;
  /** File contents; absent for directories. */
  data?: Buffer;
  mode: number;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width includes the terminating NUL, as GNU tar writes them.
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new Error(`tar: ${value} does not fit in ${width - 1} octal digits`);
  return `${digits.padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number, mode: number, mtime: number, type: '0' | '5' | 'L'): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(octal(mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(mtime, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum placeholder: eight spaces
  h.write(type, 156, 'ascii');
  h.write('ustar  \0', 257, 'ascii'); // GNU magic + version
  // uname/gname stay empty (--numeric-owner); devmajor/devminor stay zero-filled as GNU tar leaves them.
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

function padded(data: Buffer): Buffer[] {
  const rest = data.length % BLOCK;
  return rest === 0 ? [data] : [data, Buffer.alloc(BLOCK - rest, 0)];
}

/** The tar archive of `entries` in the given order, ended by two zero blocks and padded to 10 KiB like GNU tar. */
export function makeTar(entries: readonly TarEntry[], mtime: number): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const isDir = e.name.endsWith('/');
    if (isDir && e.data !== undefined) throw new Error(`tar: directory ${e.name} has data`);
    const nameBytes = Buffer.from(e.name, 'utf8');
    if (nameBytes.length > 100) {
      // GNU long name: a "././@LongLink" member of type L holding the name + NUL.
      const long = Buffer.concat([nameBytes, Buffer.alloc(1, 0)]);
      parts.push(header('././@LongLink', long.length, 0o644, 0, 'L'), ...padded(long));
    }
    const data = e.data ?? Buffer.alloc(0);
    parts.push(header(e.name, data.length, e.mode, mtime, isDir ? '5' : '0'));
    if (data.length > 0) parts.push(...padded(data));
  }
  parts.push(Buffer.alloc(2 * BLOCK, 0));
  let tar = Buffer.concat(parts);
  const record = 20 * BLOCK;
  if (tar.length % record !== 0) tar = Buffer.concat([tar, Buffer.alloc(record - (tar.length % record), 0)]);
  return tar;
}

export interface TarMember {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
  magic: string;
  data: Buffer;
}

function field(h: Buffer, off: number, len: number): string {
  const raw = h.subarray(off, off + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

/** Reads a tar archive (for tests and checks): every header as stored, GNU long names resolved. */
export function readTar(tar: Buffer): TarMember[] {
  const out: TarMember[] = [];
  let off = 0;
  let longName: string | undefined;
  while (off + BLOCK <= tar.length) {
    const h = tar.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    const stored = Number.parseInt(field(h, 148, 8).trim(), 8);
    if (stored !== sum) throw new Error(`tar: bad checksum at offset ${off}`);
    const size = Number.parseInt(field(h, 124, 12) || '0', 8);
    const type = String.fromCharCode(h[156]!);
    const data = tar.subarray(off + BLOCK, off + BLOCK + size);
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    out.push({
      name: longName ?? field(h, 0, 100),
      type,
      mode: Number.parseInt(field(h, 100, 8), 8),
      uid: Number.parseInt(field(h, 108, 8), 8),
      gid: Number.parseInt(field(h, 116, 8), 8),
      uname: field(h, 265, 32),
      gname: field(h, 297, 32),
      mtime: Number.parseInt(field(h, 136, 12), 8),
      magic: h.subarray(257, 265).toString('latin1'),
      data: Buffer.from(data),
    });
    longName = undefined;
  }
  return out;
}
