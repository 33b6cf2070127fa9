// What `analyze` needs from a `conntrack -E` text line that the detector would
// ignore — its event kind, its timestamp and which flow it belongs to — read
// from the bytes without decoding or parsing the line. Most lines of a capture
// are such lines; a line this cannot read is left to the parser.

import { PROTO_OTHER, PROTO_TCP, PROTO_UDP } from '../conntrack/line-prefilter';

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
  /** What the line pre-filter reads from the head (see tupleMayMatter): where "src=" starts, the protocol, SYN_SENT. */
  srcAt: number;
  proto: number;
  synSent: boolean;
  /** Where the line ends: its newline. */
  end: number;
}

const SP = 32;
const TAB = 9;
const CR = 13;
const OPEN = 91; // [
const CLOSE = 93; // ]
const EQ = 61;
const NL = 10;
const DOT = 46;
/** The parser's own limit: a longer line is its to reject. */
const MAX_LINE = 4096;

/**
 * Reads the line that starts at buf[start] into `out`; false when it is not a plain text event line this
 * can read with certainty that the parser would read it as an entry (then the caller parses it). The line
 * ends at its newline, which must lie in buf: false for a buffer that does not end with one. Every line of
 * a capture comes here, so it looks at each byte once at most, with no calls in its loops; of the reply
 * tuple it reads only the words around each `=`.
 */
export function glanceLine(buf: Buffer, start: number, out: Glance): boolean {
  // No loop below checks a bound: none accepts a newline, so each stops at the line's end at the latest, and
  // buf ends with one.
  if (buf[buf.length - 1] !== NL) return false;
  // Four parts, each compiled on its own: the optimizing compiler takes a small function up sooner, and
  // the first tens of thousands of lines of a capture are read before one the size of all four is ready.
  const at = readStamp(buf, start, out);
  if (at < 0) return false;
  const nameAt = readHead(buf, at, out);
  if (nameAt < 0) return false;
  const replyAt = readOriginal(buf, nameAt, out);
  if (replyAt < 0) return false;
  const end = replyEnd(buf, replyAt);
  if (end < 0 || end - start > MAX_LINE) return false;
  out.end = end;
  return true;
}

/** Timestamp and event: fills out.sec/frac/fracDigits and kind; returns where the next word starts, or -1. */
function readStamp(buf: Buffer, start: number, out: Glance): number {
  let i = start;
  while (CLASS[buf[i]!] === BLANK) i++;
  out.sec = -1;
  if (buf[i] === OPEN && CLASS[buf[i + 1]!] === DIGIT) {
    // [seconds.fraction]
    let sec = 0;
    let j = i + 1;
    for (; CLASS[buf[j]!] === DIGIT; j++) sec = sec * 10 + (buf[j]! - 48);
    if (j - i - 1 > 15 || buf[j] !== DOT) return -1;
    const fracAt = ++j;
    let frac = 0;
    for (; CLASS[buf[j]!] === DIGIT; j++) frac = frac * 10 + (buf[j]! - 48);
    const digits = j - fracAt;
    if (digits === 0 || digits > 9 || buf[j] !== CLOSE) return -1;
    out.sec = sec;
    out.frac = frac * POW10[9 - digits]!;
    out.fracDigits = digits;
    i = j + 1;
    if (CLASS[buf[i]!] !== BLANK) return -1;
    while (CLASS[buf[i]!] === BLANK) i++;
  }
  out.kind = GLANCE_NEW;
  if (buf[i] === OPEN) {
    // [NEW], [UPDATE], [DESTROY]
    const k = buf[i + 1];
    let len = 0;
    if (k === 78 /* N */ && matches(buf, i + 1, NEW)) {
      len = 5;
      out.kind = GLANCE_NEW;
    } else if (k === 85 /* U */ && matches(buf, i + 1, UPDATE)) {
      len = 8;
      out.kind = GLANCE_UPDATE;
    } else if (k === 68 /* D */ && matches(buf, i + 1, DESTROY)) {
      len = 9;
      out.kind = GLANCE_DESTROY;
    } else return -1;
    i += len;
    if (CLASS[buf[i]!] !== BLANK) return -1;
    while (CLASS[buf[i]!] === BLANK) i++;
  }
  return i;
}

/**
 * Family, protocol, timeout and state, from `at`: fills out.proto, synSent and srcAt (the original tuple's
 * "src="); returns where the protocol name starts, or -1.
 */
function readHead(buf: Buffer, at: number, out: Glance): number {
  let i = at;
  // "ipv4 2" / "ipv6 10" (-o extended): the parser skips this word and the next, whatever it is.
  if (
    buf[i] === 105 /* i */ &&
    buf[i + 1] === 112 /* p */ &&
    buf[i + 2] === 118 /* v */ &&
    (buf[i + 3] === 52 || buf[i + 3] === 54) &&
    CLASS[buf[i + 4]!] === BLANK
  ) {
    i += 4;
    while (CLASS[buf[i]!] === BLANK) i++;
    i = wordEnd(buf, i);
    if (i < 0) return -1;
    while (CLASS[buf[i]!] === BLANK) i++;
  }
  // The protocol name, [a-z][a-z0-9-]*
  if (CLASS[buf[i]!] !== LOWER) return -1;
  const nameAt = i;
  for (; CLASS[buf[i]!] !== BLANK; i++) {
    const c = buf[i]!;
    const k = CLASS[c];
    if (k !== LOWER && k !== DIGIT && c !== 45) return -1;
  }
  const threeP = i - nameAt === 3 && buf[nameAt + 2] === 112;
  if (threeP && buf[nameAt] === 116 && buf[nameAt + 1] === 99) out.proto = PROTO_TCP;
  else if (threeP && buf[nameAt] === 117 && buf[nameAt + 1] === 100) out.proto = PROTO_UDP;
  else out.proto = PROTO_OTHER;
  while (CLASS[buf[i]!] === BLANK) i++;
  // Protocol number (≤ 255), then an optional timeout and an optional state.
  let proto = 0;
  const protoAt = i;
  for (; CLASS[buf[i]!] === DIGIT; i++) proto = proto * 10 + (buf[i]! - 48);
  if (i === protoAt || i - protoAt > 3 || proto > 255 || CLASS[buf[i]!] !== BLANK) return -1;
  while (CLASS[buf[i]!] === BLANK) i++;
  if (CLASS[buf[i]!] === DIGIT) {
    const at = i;
    while (CLASS[buf[i]!] === DIGIT) i++;
    if (i - at > 15 || CLASS[buf[i]!] !== BLANK) return -1;
    while (CLASS[buf[i]!] === BLANK) i++;
  }
  out.synSent = false;
  if (CLASS[buf[i]!] === UPPER) {
    // A state, [A-Z][A-Z0-9_]*
    const stateAt = i;
    for (let k = CLASS[buf[i]!]!; k !== BLANK; k = CLASS[buf[++i]!]!)
      if (k !== UPPER && k !== DIGIT && buf[i] !== 95) return -1;
    out.synSent = i - stateAt === SYN_SENT.length && matches(buf, stateAt, SYN_SENT);
    while (CLASS[buf[i]!] === BLANK) i++;
  }
  if (!isKey(buf, i, 115, 114, 99)) return -1; // src=
  out.srcAt = i;
  return nameAt;
}

/**
 * The original tuple, from out.srcAt: the protocol name at nameAt and its src, dst, sport and dport go into
 * the hash, in the order printed (out.flow, out.check). Its other words are printable ASCII, so that the
 * parser cuts its words where this does. Returns where the reply tuple's "src=" starts, or -1.
 */
function readOriginal(buf: Buffer, nameAt: number, out: Glance): number {
  let h1 = FNV_BASIS;
  let h2 = ALT_BASIS;
  for (let c = buf[nameAt]!, n = nameAt; CLASS[c] !== BLANK; c = buf[++n]!) {
    h1 = Math.imul(h1 ^ c, FNV_PRIME);
    h2 = Math.imul(h2 ^ c, ALT_PRIME);
  }
  let i = out.srcAt;
  let srcs = 0;
  let dsts = 0;
  let ports = 0;
  for (;;) {
    // The word's key, told apart by its first two bytes: src=, dst=, sport=, dport= or another.
    const c0 = buf[i];
    const c1 = buf[i + 1];
    let valueAt = -1;
    let port = false;
    if (c1 === 112 /* p */ && (c0 === 115 || c0 === 100) && isKey(buf, i + 2, 111, 114, 116)) {
      valueAt = i + 6; // sport=, dport=
      port = true;
      // Said twice, the parser keeps the last: that one is its to read.
      const bit = c0 === 115 ? 1 : 2;
      if (ports & bit) return -1;
      ports |= bit;
    } else if (c0 === 115 && c1 === 114 && buf[i + 2] === 99 && buf[i + 3] === EQ) {
      if (++srcs === 2) break; // the reply tuple begins
      valueAt = i + 4;
    } else if (c0 === 100 && c1 === 115 && buf[i + 2] === 116 && buf[i + 3] === EQ) {
      dsts++;
      valueAt = i + 4;
    }
    if (valueAt >= 0) {
      h1 = Math.imul(h1 ^ SP, FNV_PRIME);
      h2 = Math.imul(h2 ^ SP, ALT_PRIME);
      // Printable bytes up to a blank; any other byte leaves the line to the parser.
      let c = buf[valueAt]!;
      for (i = valueAt; c >= 33 && c <= 126; c = buf[++i]!) {
        h1 = Math.imul(h1 ^ c, FNV_PRIME);
        h2 = Math.imul(h2 ^ c, ALT_PRIME);
      }
      if (CLASS[c] !== BLANK) return -1;
      // A port the parser would read differently (not plain decimal) is its to handle.
      if (port && !plainNumber(buf, valueAt, i)) return -1;
    } else {
      i = wordEnd(buf, i);
      if (i < 0) return -1;
    }
    while (CLASS[buf[i]!] === BLANK) i++;
  }
  if (dsts !== 1) return -1;
  out.flow = h1 & HASH_MASK;
  out.check = h2 & HASH_MASK;
  return i;
}

/**
 * The reply tuple, from its "src=" at `at`, to the line's newline (returned; -1 when the parser would
 * not read the line). It matters to the parser only where a word starts with src= (a third: it rejects
 * the line) or dst= (the reply tuple needs one). Each such word has an `=` four bytes in.
 */
function replyEnd(buf: Buffer, at: number): number {
  let replyDst = false;
  // A byte loop: cheaper here than a native indexOf call per `=` (six or more per line).
  for (let eq = at + 4; ; eq++) {
    const c = buf[eq];
    if (c === NL) return replyDst ? eq : -1;
    if (c !== EQ) continue;
    const a = buf[eq - 3];
    const src = a === 115 && buf[eq - 2] === 114 && buf[eq - 1] === 99;
    if (!src && !(a === 100 && buf[eq - 2] === 115 && buf[eq - 1] === 116)) continue;
    const before = buf[eq - 4]!;
    if (before === SP || before === TAB || before === CR) {
      if (src) return -1;
      replyDst = true;
    } else if (before < 33 || before > 126) return -1; // a byte the parser may cut at (\v, \f, a Unicode space)
  }
}

/** The end of the printable word at i (the blank after it), or -1 at any other byte. */
function wordEnd(buf: Buffer, i: number): number {
  let c = buf[i]!;
  while (c >= 33 && c <= 126) c = buf[++i]!;
  return CLASS[c] === BLANK ? i : -1;
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

/**
 * Each byte's class, so that testing a byte is one table lookup rather than a call and a few comparisons
 * (the first lines of a capture run before the compiler has inlined anything). BLANK is what the parser
 * cuts words at within ASCII; PRINT and the classes after it are printable ASCII; 0 is any other byte.
 */
const BLANK = 1;
const PRINT = 2;
const DIGIT = 3;
const UPPER = 4;
const LOWER = 5;
const CLASS = new Uint8Array(256);
for (let c = 33; c <= 126; c++)
  CLASS[c] = c >= 48 && c <= 57 ? DIGIT : c >= 65 && c <= 90 ? UPPER : c >= 97 && c <= 122 ? LOWER : PRINT;
CLASS[SP] = BLANK;
CLASS[TAB] = BLANK;
CLASS[CR] = BLANK;

const NEW = Buffer.from('NEW]');
const UPDATE = Buffer.from('UPDATE]');
const DESTROY = Buffer.from('DESTROY]');
const SYN_SENT = Buffer.from('SYN_SENT');

/** buf[i…] starts with the three letters a, b, c and "=". */
function isKey(buf: Uint8Array, i: number, a: number, b: number, c: number): boolean {
  return buf[i] === a && buf[i + 1] === b && buf[i + 2] === c && buf[i + 3] === EQ;
}

/** buf[at…] starts with `word` (a mismatch at the line's newline at the latest). */
function matches(buf: Uint8Array, at: number, word: Uint8Array): boolean {
  for (let k = 0; k < word.length; k++) if (buf[at + k] !== word[k]) return false;
  return true;
}

function plainNumber(buf: Uint8Array, from: number, to: number): boolean {
  if (to === from || to - from > 5 || (buf[from] === 48 && to - from > 1)) return false;
  for (let j = from; j < to; j++) if (CLASS[buf[j]!] !== DIGIT) return false;
  return true;
}
