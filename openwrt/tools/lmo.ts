// A .po → .lmo compiler producing what LuCI's po2lmo (modules/luci-base/src/po2lmo.c)
// produces, and a reader that looks strings up the way LuCI does.
//
// The .lmo format: the translated strings, each padded with NULs to a multiple of
// 4 bytes, then an index of 16-byte entries sorted by key (big-endian uint32s:
// key_id, val_id, offset, length), then one big-endian uint32: where the index
// starts. key_id is sfh_hash (Paul Hsieh's SuperFastHash, seeded with the
// length) of the msgid — "ctxt\x01msgid" with a context, "msgid\x02N" for plural
// form N. val_id is the plural form + 1. The Plural-Forms header is stored under
// key 0. A translation equal to its msgid (same hash) is left out. LuCI's ucode
// runtime serves the index to the browser as TR[hex(key_id)] and `_()` hashes
// the trimmed, whitespace-collapsed msgid to look it up.

/** sfh_hash(data, len, len) over UTF-8 bytes, with the (signed char) casts of LuCI's lmo.c. */
export function sfhHash(bytes: Uint8Array): number {
  let len = bytes.length;
  if (len === 0) return 0;
  let hash = len >>> 0;
  const rem = len & 3;
  len >>>= 2;
  let off = 0;
  const get16 = (i: number) => ((bytes[i + 1]! << 8) + bytes[i]!) >>> 0;
  const s8 = (i: number) => (bytes[i]! > 0x7f ? bytes[i]! - 256 : bytes[i]!);
  for (; len > 0; len--) {
    hash = (hash + get16(off)) >>> 0;
    const tmp = ((get16(off + 2) << 11) ^ hash) >>> 0;
    hash = ((hash << 16) ^ tmp) >>> 0;
    off += 4;
    hash = (hash + (hash >>> 11)) >>> 0;
  }
  switch (rem) {
    case 3:
      hash = (hash + get16(off)) >>> 0;
      hash = (hash ^ (hash << 16)) >>> 0;
      hash = (hash ^ (s8(off + 2) << 18)) >>> 0;
      hash = (hash + (hash >>> 11)) >>> 0;
      break;
    case 2:
      hash = (hash + get16(off)) >>> 0;
      hash = (hash ^ (hash << 11)) >>> 0;
      hash = (hash + (hash >>> 17)) >>> 0;
      break;
    case 1:
      hash = (hash + s8(off)) >>> 0;
      hash = (hash ^ (hash << 10)) >>> 0;
      hash = (hash + (hash >>> 1)) >>> 0;
      break;
  }
  hash = (hash ^ (hash << 3)) >>> 0;
  hash = (hash + (hash >>> 5)) >>> 0;
  hash = (hash ^ (hash << 4)) >>> 0;
  hash = (hash + (hash >>> 17)) >>> 0;
  hash = (hash ^ (hash << 25)) >>> 0;
  hash = (hash + (hash >>> 6)) >>> 0;
  return hash;
}

export const sfhString = (s: string): number => sfhHash(Buffer.from(s, 'utf8'));

/** The key LuCI's `_()`/lmo_canon_hash computes for a msgid: trimmed, runs of whitespace as one space. */
export function canonicalKey(msgid: string, ctxt?: string): string {
  const canon = (s: string) => s.trim().replace(/[ \t\n]+/g, ' ');
  return (ctxt !== undefined ? `${canon(ctxt)}\u0001` : '') + canon(msgid);
}

export interface PoMessage {
  ctxt?: string;
  id: string;
  idPlural?: string;
  /** msgstr, or msgstr[0..n] */
  values: string[];
  line: number;
}

/**
 * A PO string as po2lmo's extract_string() takes it: the text between the first
 * and the closing quote, with \" and \\ unescaped and every other escape kept as
 * written (po2lmo keeps "\n" as backslash + n).
 */
function extractString(line: string): string | undefined {
  if (line.startsWith('#')) return undefined;
  const open = line.indexOf('"');
  if (open < 0) return undefined;
  let out = '';
  for (let i = open + 1; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      const next = line[i + 1]!;
      out += next === '"' || next === '\\' ? next : `\\${next}`;
      i++;
    } else if (c === '"') {
      return out;
    } else {
      out += c;
    }
  }
  return out;
}

/** Parses a .po file into messages (the header is the message with id ""). */
export function parsePo(text: string): PoMessage[] {
  const out: PoMessage[] = [];
  let cur: { ctxt?: string; id?: string; idPlural?: string; values: string[]; line: number } | undefined;
  let target: { kind: 'ctxt' | 'id' | 'plural' | 'value'; index: number } | undefined;
  const flush = () => {
    if (cur && cur.id !== undefined) {
      const m: PoMessage = { id: cur.id, values: cur.values, line: cur.line };
      if (cur.ctxt !== undefined) m.ctxt = cur.ctxt;
      if (cur.idPlural !== undefined) m.idPlural = cur.idPlural;
      out.push(m);
    }
    cur = undefined;
    target = undefined;
  };
  const append = (s: string) => {
    if (!cur || !target) return;
    if (target.kind === 'ctxt') cur.ctxt = (cur.ctxt ?? '') + s;
    else if (target.kind === 'id') cur.id = (cur.id ?? '') + s;
    else if (target.kind === 'plural') cur.idPlural = (cur.idPlural ?? '') + s;
    else cur.values[target.index] = (cur.values[target.index] ?? '') + s;
  };
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const lineNo = i + 1;
    if (line.startsWith('msgctxt "')) {
      flush();
      cur = { values: [], line: lineNo, ctxt: '' };
      target = { kind: 'ctxt', index: 0 };
    } else if (line.startsWith('msgid "')) {
      if (!cur || cur.id !== undefined) {
        flush();
        cur = { values: [], line: lineNo };
      }
      cur.id = '';
      target = { kind: 'id', index: 0 };
    } else if (line.startsWith('msgid_plural "')) {
      if (cur) cur.idPlural = '';
      target = { kind: 'plural', index: 0 };
    } else if (line.startsWith('msgstr "') || line.startsWith('msgstr[')) {
      const index = line[6] === '[' ? Number.parseInt(line.slice(7), 10) : 0;
      if (!(index >= 0 && index < 10)) throw new Error(`po line ${lineNo}: too many plural forms`);
      if (cur) cur.values[index] = '';
      target = { kind: 'value', index };
    } else if (line.startsWith('"')) {
      // continuation of the current string
    } else {
      return;
    }
    const s = extractString(line);
    if (s !== undefined) append(s);
  });
  flush();
  return out;
}

interface Entry {
  keyId: number;
  valId: number;
  offset: number;
  length: number;
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** Compiles .po text to .lmo bytes, byte for byte as po2lmo does. Returns undefined when nothing is translated (po2lmo writes no file). */
export function compileLmo(poText: string): Buffer | undefined {
  const strings: Buffer[] = [];
  const entries: Entry[] = [];
  let offset = 0;
  const store = (keyId: number, valId: number, value: string) => {
    const bytes = Buffer.from(value, 'utf8');
    entries.push({ keyId, valId, offset, length: bytes.length });
    strings.push(bytes, Buffer.alloc(pad4(bytes.length), 0));
    offset += bytes.length + pad4(bytes.length);
  };
  for (const msg of parsePo(poText)) {
    const first = msg.values[0];
    if (msg.id !== '' && first) {
      const pluralNum = msg.values.length - 1;
      msg.values.forEach((value, i) => {
        if (!value) return;
        let key: string;
        if (msg.ctxt !== undefined && msg.idPlural !== undefined) key = `${msg.ctxt}\u0001${msg.id}\u0002${i}`;
        else if (msg.ctxt !== undefined) key = `${msg.ctxt}\u0001${msg.id}`;
        else if (msg.idPlural !== undefined) key = `${msg.id}\u0002${i}`;
        else key = msg.id;
        const keyId = sfhString(key);
        if (keyId !== sfhString(value)) store(keyId, pluralNum + 1, value);
      });
    } else if (msg.id === '' && first) {
      // The header: only Plural-Forms is kept, under key 0.
      for (const field of first.split('\\n')) {
        if (field.slice(0, 14).toLowerCase() === 'plural-forms: ') {
          store(0, 0, field.slice(14));
          break;
        }
      }
    }
  }
  if (offset === 0) return undefined;
  const sorted = entries.map((e, i) => ({ e, i })).sort((a, b) => a.e.keyId - b.e.keyId || a.i - b.i);
  const index = Buffer.alloc(16 * sorted.length + 4);
  sorted.forEach(({ e }, i) => {
    index.writeUInt32BE(e.keyId, 16 * i);
    index.writeUInt32BE(e.valId, 16 * i + 4);
    index.writeUInt32BE(e.offset, 16 * i + 8);
    index.writeUInt32BE(e.length, 16 * i + 12);
  });
  index.writeUInt32BE(offset, 16 * sorted.length);
  return Buffer.concat([...strings, index]);
}

export interface LmoEntry {
  keyId: number;
  valId: number;
  value: string;
}

/** Reads an .lmo file's index, as lmo_open() does (the last uint32 is the index offset). */
export function readLmo(lmo: Buffer): LmoEntry[] {
  if (lmo.length < 4) throw new Error('lmo: too short');
  const indexAt = lmo.readUInt32BE(lmo.length - 4);
  if (indexAt >= lmo.length) throw new Error('lmo: index offset out of range');
  const n = Math.floor((lmo.length - indexAt - 4) / 16);
  const out: LmoEntry[] = [];
  for (let i = 0; i < n; i++) {
    const at = indexAt + 16 * i;
    const offset = lmo.readUInt32BE(at + 8);
    const length = lmo.readUInt32BE(at + 12);
    out.push({
      keyId: lmo.readUInt32BE(at),
      valId: lmo.readUInt32BE(at + 4),
      value: lmo.subarray(offset, offset + length).toString('utf8'),
    });
  }
  return out;
}

/** lmo_translate(): binary search for the canonical key's hash; undefined when not translated. */
export function lmoTranslate(lmo: Buffer, msgid: string, ctxt?: string): string | undefined {
  const index = readLmo(lmo);
  const hash = sfhString(canonicalKey(msgid, ctxt));
  let l = 0;
  let r = index.length - 1;
  while (l <= r) {
    const m = l + ((r - l) >> 1);
    const k = index[m]!.keyId;
    if (k === hash) return index[m]!.value;
    if (k > hash) r = m - 1;
    else l = m + 1;
  }
  return undefined;
}

/** What LuCI hands the browser: { hex8(key_id): translation } (the TR table `_()` reads). */
export function lmoToTr(lmo: Buffer): Record<string, string> {
  const tr: Record<string, string> = {};
  for (const e of readLmo(lmo)) tr[e.keyId.toString(16).padStart(8, '0')] = e.value;
  return tr;
}
