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
  /** Where the line ends: its newline, or `end` when buf[start, end) holds no newline. */
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
 * Reads buf[start, end) into `out`; false when the line is not a plain text event line this can read
 * with certainty that the parser would read it as an entry (then the caller parses it). Every line of
 * a capture comes here, so it looks at each byte once at most, with no calls in its loops; of the
 * reply tuple it reads only the words around each `=`.
 */
export function glanceLine(buf: Buffer, start: number, end: number, out: Glance): boolean {
  // `end` may lie past the line (a chunk's end): the line then ends at its newline, which no part before the
  // reply tuple accepts, and which the reply tuple's walk stops at.
  let i = start;
  while (i < end && isBlank(buf[i]!)) i++;
  if (i >= end) return false;
  out.sec = -1;
  if (buf[i] === OPEN && i + 1 < end && isDigit(buf[i + 1]!)) {
    // [seconds.fraction]
    let sec = 0;
    let j = i + 1;
    for (; j < end && isDigit(buf[j]!); j++) sec = sec * 10 + (buf[j]! - 48);
    if (j - i - 1 > 15 || j >= end || buf[j] !== DOT) return false;
    const fracAt = ++j;
    let frac = 0;
    for (; j < end && isDigit(buf[j]!); j++) frac = frac * 10 + (buf[j]! - 48);
    const digits = j - fracAt;
    if (digits === 0 || digits > 9 || j >= end || buf[j] !== CLOSE) return false;
    out.sec = sec;
    out.frac = frac * POW10[9 - digits]!;
    out.fracDigits = digits;
    i = j + 1;
    if (i < end && !isBlank(buf[i]!)) return false;
    while (i < end && isBlank(buf[i]!)) i++;
  }
  out.kind = GLANCE_NEW;
  if (i < end && buf[i] === OPEN) {
    // [NEW], [UPDATE], [DESTROY]
    const k = i + 1 < end ? buf[i + 1]! : 0;
    let len = 0;
    if (k === 78 /* N */ && matches(buf, i + 1, end, NEW)) {
      len = 5;
      out.kind = GLANCE_NEW;
    } else if (k === 85 /* U */ && matches(buf, i + 1, end, UPDATE)) {
      len = 8;
      out.kind = GLANCE_UPDATE;
    } else if (k === 68 /* D */ && matches(buf, i + 1, end, DESTROY)) {
      len = 9;
      out.kind = GLANCE_DESTROY;
    } else return false;
    i += len;
    if (i < end && !isBlank(buf[i]!)) return false;
    while (i < end && isBlank(buf[i]!)) i++;
  }
  // "ipv4 2" / "ipv6 10" (-o extended): the parser skips this word and the next, whatever it is.
  if (
    i + 3 < end &&
    buf[i] === 105 /* i */ &&
    buf[i + 1] === 112 /* p */ &&
    buf[i + 2] === 118 /* v */ &&
    (buf[i + 3] === 52 || buf[i + 3] === 54) &&
    (i + 4 === end || isBlank(buf[i + 4]!))
  ) {
    i += 4;
    while (i < end && isBlank(buf[i]!)) i++;
    for (; i < end && !isBlank(buf[i]!); i++) if (!isPrintable(buf[i]!)) return false;
    while (i < end && isBlank(buf[i]!)) i++;
  }
  // The protocol name, [a-z][a-z0-9-]*, starts the flow's hash.
  if (!(i < end && isLower(buf[i]!))) return false;
  const nameAt = i;
  let h1 = FNV_BASIS;
  let h2 = ALT_BASIS;
  for (; i < end && !isBlank(buf[i]!); i++) {
    const c = buf[i]!;
    if (!(isLower(c) || isDigit(c) || c === 45)) return false;
    h1 = Math.imul(h1 ^ c, FNV_PRIME);
    h2 = Math.imul(h2 ^ c, ALT_PRIME);
  }
  const threeP = i - nameAt === 3 && buf[nameAt + 2] === 112;
  if (threeP && buf[nameAt] === 116 && buf[nameAt + 1] === 99) out.proto = PROTO_TCP;
  else if (threeP && buf[nameAt] === 117 && buf[nameAt + 1] === 100) out.proto = PROTO_UDP;
  else out.proto = PROTO_OTHER;
  while (i < end && isBlank(buf[i]!)) i++;
  // Protocol number (≤ 255), then an optional timeout and an optional state.
  let proto = 0;
  const protoAt = i;
  for (; i < end && isDigit(buf[i]!); i++) proto = proto * 10 + (buf[i]! - 48);
  if (i === protoAt || i - protoAt > 3 || proto > 255 || (i < end && !isBlank(buf[i]!))) return false;
  while (i < end && isBlank(buf[i]!)) i++;
  if (i < end && isDigit(buf[i]!)) {
    const at = i;
    while (i < end && isDigit(buf[i]!)) i++;
    if (i - at > 15 || (i < end && !isBlank(buf[i]!))) return false;
    while (i < end && isBlank(buf[i]!)) i++;
  }
  out.synSent = false;
  if (i < end && isUpper(buf[i]!)) {
    // A state, [A-Z][A-Z0-9_]*
    const stateAt = i;
    for (; i < end && !isBlank(buf[i]!); i++)
      if (!(isUpper(buf[i]!) || isDigit(buf[i]!) || buf[i] === 95)) return false;
    out.synSent = i - stateAt === SYN_SENT.length && matches(buf, stateAt, end, SYN_SENT);
    while (i < end && isBlank(buf[i]!)) i++;
  }
  // The original tuple: its src, dst, sport and dport go into the hash, in the order printed. Its other
  // words are printable ASCII, so that the parser cuts its words where this does.
  if (!isKey(buf, i, end, 115, 114, 99)) return false; // src=
  out.srcAt = i;
  let srcs = 0;
  let dsts = 0;
  let ports = 0;
  for (;;) {
    let valueAt = -1;
    let port = false;
    if (isKey(buf, i, end, 115, 114, 99)) {
      if (++srcs === 2) break; // the reply tuple begins
      valueAt = i + 4;
    } else if (isKey(buf, i, end, 100, 115, 116)) {
      dsts++;
      valueAt = i + 4;
    } else if ((buf[i] === 115 || buf[i] === 100) && buf[i + 1] === 112 && isKey(buf, i + 2, end, 111, 114, 116)) {
      valueAt = i + 6; // sport=, dport=
      port = true;
      // Said twice, the parser keeps the last: that one is its to read.
      const bit = buf[i] === 115 ? 1 : 2;
      if (ports & bit) return false;
      ports |= bit;
    }
    if (valueAt >= 0) {
      h1 = Math.imul(h1 ^ SP, FNV_PRIME);
      h2 = Math.imul(h2 ^ SP, ALT_PRIME);
      for (i = valueAt; i < end && !isBlank(buf[i]!); i++) {
        const c = buf[i]!;
        if (!isPrintable(c)) return false;
        h1 = Math.imul(h1 ^ c, FNV_PRIME);
        h2 = Math.imul(h2 ^ c, ALT_PRIME);
      }
      // A port the parser would read differently (not plain decimal) is its to handle.
      if (port && !plainNumber(buf, valueAt, i)) return false;
    } else {
      for (; i < end && !isBlank(buf[i]!); i++) if (!isPrintable(buf[i]!)) return false;
    }
    while (i < end && isBlank(buf[i]!)) i++;
    if (i >= end) return false; // no reply tuple
  }
  if (dsts !== 1) return false;
  // The rest matters to the parser only where a word starts with src= (a third: it rejects the line)
  // or dst= (the reply tuple needs one). Each such word has an `=` four bytes in.
  let replyDst = false;
  // A byte loop: cheaper here than a native indexOf call per `=` (six or more per line).
  let lineEnd = end;
  for (let eq = i + 4; eq < end; eq++) {
    const c = buf[eq];
    if (c === NL) {
      lineEnd = eq;
      break;
    }
    if (c !== EQ) continue;
    const a = buf[eq - 3];
    const src = a === 115 && buf[eq - 2] === 114 && buf[eq - 1] === 99;
    if (!src && !(a === 100 && buf[eq - 2] === 115 && buf[eq - 1] === 116)) continue;
    const before = buf[eq - 4]!;
    if (before === SP || before === TAB || before === CR) {
      if (src) return false;
      replyDst = true;
    } else if (before < 33 || before > 126) return false; // a byte the parser may cut at (\v, \f, a Unicode space)
  }
  if (!replyDst || lineEnd - start > MAX_LINE) return false;
  out.end = lineEnd;
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

const NEW = Buffer.from('NEW]');
const UPDATE = Buffer.from('UPDATE]');
const DESTROY = Buffer.from('DESTROY]');
const SYN_SENT = Buffer.from('SYN_SENT');

/** buf[i…end) starts with the three letters a, b, c and "=". */
function isKey(buf: Uint8Array, i: number, end: number, a: number, b: number, c: number): boolean {
  return i + 3 < end && buf[i] === a && buf[i + 1] === b && buf[i + 2] === c && buf[i + 3] === EQ;
}

/** buf[at…end) starts with `word`. */
function matches(buf: Uint8Array, at: number, end: number, word: Uint8Array): boolean {
  if (at + word.length > end) return false;
  for (let k = 0; k < word.length; k++) if (buf[at + k] !== word[k]) return false;
  return true;
}

function plainNumber(buf: Uint8Array, from: number, to: number): boolean {
  if (to === from || to - from > 5 || (buf[from] === 48 && to - from > 1)) return false;
  for (let j = from; j < to; j++) if (!isDigit(buf[j]!)) return false;
  return true;
}

function isBlank(c: number): boolean {
  return c === SP || c === TAB || c === CR;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

/** Printable ASCII: within such bytes the parser cuts words only at spaces, tabs and CRs, as this does. */
function isPrintable(c: number): boolean {
  return c >= 33 && c <= 126;
}

function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}
