// What `analyze` needs from a `conntrack -E` text line that the detector would
// ignore — its event kind, its timestamp and which flow it belongs to — read
// from the bytes without decoding or parsing the line. Most lines of a capture
// are such lines; a line this cannot read is left to the parser.

/** The line's event: a `-L` line has no tag and counts as a sighting like NEW. */
export const GLANCE_NEW = 0;
export const GLANCE_UPDATE = 1;
export const GLANCE_DESTROY = 2;

/** Filled by glanceLine; one object reused for every line, so that reading a line allocates nothing. */
export interface Glance {
  kind: number;
  /**
   * Two 30-bit hashes of the protocol and the original tuple's addresses and ports: `flow` to look a
   * flow up by, `check` to tell two flows apart whose `flow` collides. Small integers, so that a Map
   * keyed by them neither allocates nor hashes a double.
   */
  flow: number;
  check: number;
  /** `[sec.frac]` at the start, or sec = -1. frac is scaled to nanoseconds; fracDigits as printed. */
  sec: number;
  frac: number;
  fracDigits: number;
}

const SP = 32;
const TAB = 9;
const CR = 13;
const OPEN = 91; // [
const CLOSE = 93; // ]
const EQ = 61;
/** The parser's own limit: a longer line is its to reject. */
const MAX_LINE = 4096;

/**
 * Reads buf[start, end) into `out`; false when the line is not a plain text event line this can read
 * with certainty that the parser would read it as an entry (then the caller parses it).
 */
export function glanceLine(buf: Uint8Array, start: number, end: number, out: Glance): boolean {
  if (end - start > MAX_LINE) return false;
  let i = skipBlank(buf, start, end);
  out.sec = -1;
  if (buf[i] === OPEN && isDigit(buf[i + 1]!)) {
    let sec = 0;
    let j = i + 1;
    for (; j < end && isDigit(buf[j]!); j++) sec = sec * 10 + (buf[j]! - 48);
    if (j - i - 1 > 15 || buf[j] !== 46 /* . */) return false;
    let frac = 0;
    let digits = 0;
    for (j++; j < end && isDigit(buf[j]!); j++, digits++) frac = frac * 10 + (buf[j]! - 48);
    if (digits === 0 || digits > 9 || buf[j] !== CLOSE || !endsWord(buf, j + 1, end)) return false;
    out.sec = sec;
    out.frac = frac * POW10[9 - digits]!;
    out.fracDigits = digits;
    i = skipBlank(buf, j + 1, end);
  }
  out.kind = GLANCE_NEW;
  if (buf[i] === OPEN) {
    const c = buf[i + 1];
    let len: number;
    if (c === 78 /* N */ && buf[i + 2] === 69 && buf[i + 3] === 87)
      len = 5; // [NEW]
    else if (c === 85 /* U */ && matches(buf, i + 1, 'UPDATE')) len = 8;
    else if (c === 68 /* D */ && matches(buf, i + 1, 'DESTROY')) len = 9;
    else return false;
    if (buf[i + len - 1] !== CLOSE || !endsWord(buf, i + len, end)) return false;
    out.kind = c === 78 ? GLANCE_NEW : c === 85 ? GLANCE_UPDATE : GLANCE_DESTROY;
    i = skipBlank(buf, i + len, end);
  }
  // "ipv4 2" / "ipv6 10" (-o extended)
  if (matches(buf, i, 'ipv') && (buf[i + 3] === 52 || buf[i + 3] === 54) && endsWord(buf, i + 4, end))
    i = skipWord(buf, skipWord(buf, i, end), end);
  // The protocol name, [a-z][a-z0-9-]*, starts the flow's hash.
  if (!(i < end && isLower(buf[i]!))) return false;
  let h1 = FNV_BASIS;
  let h2 = ALT_BASIS;
  for (; i < end && !isBlank(buf[i]); i++) {
    const b = buf[i]!;
    if (!(isLower(b) || isDigit(b) || b === 45)) return false;
    h1 = Math.imul(h1 ^ b, FNV_PRIME);
    h2 = Math.imul(h2 ^ b, ALT_PRIME);
  }
  i = skipBlank(buf, i, end);
  // Protocol number (≤ 255), then an optional timeout and an optional state.
  let proto = 0;
  const protoAt = i;
  for (; i < end && isDigit(buf[i]!); i++) proto = proto * 10 + (buf[i]! - 48);
  if (i === protoAt || i - protoAt > 3 || proto > 255 || !endsWord(buf, i, end)) return false;
  i = skipBlank(buf, i, end);
  if (isDigit(buf[i]!)) {
    const at = i;
    while (i < end && isDigit(buf[i]!)) i++;
    if (i - at > 15 || !endsWord(buf, i, end)) return false;
    i = skipBlank(buf, i, end);
  }
  if (buf[i]! >= 65 && buf[i]! <= 90) {
    // A state, [A-Z][A-Z0-9_]*
    for (; i < end && !isBlank(buf[i]); i++) {
      const b = buf[i]!;
      if (!((b >= 65 && b <= 90) || isDigit(b) || b === 95)) return false;
    }
    i = skipBlank(buf, i, end);
  }
  // The original tuple: its src, dst, sport and dport go into the hash, in the order printed.
  if (!isKey(buf, i, 115, 114, 99)) return false; // src=
  let srcs = 0;
  let dsts = 0;
  let ports = 0;
  for (;;) {
    const at = i;
    let valueAt = -1;
    let port = false;
    if (isKey(buf, at, 115, 114, 99)) {
      if (++srcs === 2) break; // the reply tuple begins
      valueAt = at + 4;
    } else if (isKey(buf, at, 100, 115, 116)) {
      dsts++;
      valueAt = at + 4;
    } else if ((buf[at] === 115 || buf[at] === 100) && buf[at + 1] === 112 && isKey(buf, at + 2, 111, 114, 116)) {
      valueAt = at + 6; // sport=, dport=
      port = true;
      // Said twice, the parser keeps the last: that one is its to read.
      const bit = buf[at] === 115 ? 1 : 2;
      if (ports & bit) return false;
      ports |= bit;
    }
    if (valueAt >= 0) {
      h1 = Math.imul(h1 ^ SP, FNV_PRIME);
      h2 = Math.imul(h2 ^ SP, ALT_PRIME);
      for (i = valueAt; i < end; i++) {
        const b = buf[i]!;
        if (b === SP || b === TAB || b === CR) break;
        if (b < 33 || b > 126) return false;
        h1 = Math.imul(h1 ^ b, FNV_PRIME);
        h2 = Math.imul(h2 ^ b, ALT_PRIME);
      }
      // A port the parser would read differently (not plain decimal) is its to handle.
      if (port && !plainNumber(buf, valueAt, i)) return false;
    } else {
      for (; i < end; i++) {
        const b = buf[i]!;
        if (b === SP || b === TAB || b === CR) break;
        if (b < 33 || b > 126) return false;
      }
    }
    i = skipBlank(buf, i, end);
    if (i >= end) return false; // no reply tuple
  }
  if (dsts !== 1) return false;
  // The reply tuple needs its dst= (as the parser does), and no third src= may follow (the parser rejects it).
  let replyDst = false;
  for (;;) {
    i = skipWord(buf, i, end);
    if (i >= end) break;
    if (isKey(buf, i, 100, 115, 116)) replyDst = true;
    else if (isKey(buf, i, 115, 114, 99)) return false;
  }
  if (!replyDst) return false;
  out.flow = h1 & HASH_MASK;
  out.check = h2 & HASH_MASK;
  return true;
}

/** The same hashes as glanceLine's, of a parsed entry's fields, into out: both ways of reading a line agree. */
export function flowHash(out: Glance, proto: string, src: string, dst: string, sport?: number, dport?: number): void {
  let h1 = FNV_BASIS;
  let h2 = ALT_BASIS;
  const parts = [proto, src, dst];
  if (sport !== undefined) parts.push(String(sport));
  if (dport !== undefined) parts.push(String(dport));
  for (let p = 0; p < parts.length; p++) {
    const s = parts[p]!;
    if (p > 0) {
      h1 = Math.imul(h1 ^ SP, FNV_PRIME);
      h2 = Math.imul(h2 ^ SP, ALT_PRIME);
    }
    for (let j = 0; j < s.length; j++) {
      const c = s.charCodeAt(j) & 0xff;
      h1 = Math.imul(h1 ^ c, FNV_PRIME);
      h2 = Math.imul(h2 ^ c, ALT_PRIME);
    }
  }
  out.flow = h1 & HASH_MASK;
  out.check = h2 & HASH_MASK;
}

/** A glanced timestamp in milliseconds, computed as the parser does (Number of the printed text). */
export function glanceMs(sec: number, frac: number, fracDigits: number): number {
  const printed = String(Math.round(frac / POW10[9 - fracDigits]!)).padStart(fracDigits, '0');
  return Number(`${sec}.${printed}`) * 1000;
}

// Two FNV-1a lanes with different primes; 60 bits together make two flows taken for one (which
// would only miscount a flow as seen before) some 1e-7 likely among a million.
const FNV_BASIS = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
const ALT_BASIS = 0x3a8f05c5 | 0;
const ALT_PRIME = 0x5bd1e995;

const HASH_MASK = 0x3fffffff;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/** buf[i…] starts with the three letters a, b, c and "=". */
function isKey(buf: Uint8Array, i: number, a: number, b: number, c: number): boolean {
  return buf[i] === a && buf[i + 1] === b && buf[i + 2] === c && buf[i + 3] === EQ;
}

function matches(buf: Uint8Array, at: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if (buf[at + k] !== word.charCodeAt(k)) return false;
  return true;
}

function isBlank(c: number | undefined): boolean {
  return c === SP || c === TAB || c === CR;
}

/** buf[i] is a blank or past the line. */
function endsWord(buf: Uint8Array, i: number, end: number): boolean {
  return i >= end || isBlank(buf[i]);
}

function plainNumber(buf: Uint8Array, from: number, to: number): boolean {
  if (to === from || to - from > 5 || (buf[from] === 48 && to - from > 1)) return false;
  for (let j = from; j < to; j++) if (!isDigit(buf[j]!)) return false;
  return true;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}

function skipBlank(buf: Uint8Array, i: number, end: number): number {
  let j = i;
  while (j < end && (buf[j] === SP || buf[j] === TAB || buf[j] === CR)) j++;
  return j;
}

function skipWord(buf: Uint8Array, i: number, end: number): number {
  let j = i;
  while (j < end && !isBlank(buf[j])) j++;
  return skipBlank(buf, j, end);
}
