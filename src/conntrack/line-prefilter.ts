// Decides from the first bytes of a `conntrack -E`/`-L` text line, without
// decoding or parsing it, whether the detector could care about it. Most lines
// on a busy router are UPDATEs, connections a LAN host starts (SYN_SENT) and
// DESTROYs of flows nobody tracks: the daemon counts them and drops them here.

/** What the detector currently cares about; the sets are its live state. */
export interface LineInterest {
  /** LAN servers with tracked candidate flows: their DESTROY lines matter. */
  readonly trackedServers: ReadonlyMap<string, number>;
  /** Source ports of declared UDP forwards. */
  readonly udpPorts: ReadonlySet<number>;
}

const SP = 32;
const TAB = 9;
const OPEN = 91; // [
const CLOSE = 93; // ]
const DOT = 46;
const SYN_SENT = Buffer.from('SYN_SENT');

/**
 * false promises that the detector would ignore the line buf[start, end);
 * true means "decode and parse it" — also for any line it cannot read.
 */
export function mayMatter(buf: Uint8Array, start: number, end: number, interest: LineInterest): boolean {
  let i = skipSpace(buf, start, end);
  let kind = 0;
  const fixed = i + FIXED_HEAD < end ? fixedEvent(buf, i) : 0;
  if (fixed !== 0) {
    kind = fixed;
    i += FIXED_HEAD;
  } else {
    if (buf[i] === OPEN && isDigit(buf[i + 1]!)) i = skipSpace(buf, skipPast(buf, i, end, CLOSE), end); // [timestamp]
    if (buf[i] === OPEN) {
      kind = buf[i + 1]!;
      if (kind !== EV_UPDATE && kind !== EV_DESTROY && kind !== EV_NEW) return true;
      i = skipSpace(buf, skipPast(buf, i, end, CLOSE), end);
    }
  }
  if (kind === EV_UPDATE) return false;
  const destroy = kind === EV_DESTROY;
  // Nobody tracked (the usual state of a quiet router): no DESTROY matters, whatever it says.
  if (destroy && interest.trackedServers.size === 0) return false;
  // Optional "ipv4 2" / "ipv6 10" (-o extended).
  if (buf[i] === 105 && buf[i + 1] === 112 && buf[i + 2] === 118) i = skipWords(buf, i, end, 2);
  const tcp = word(buf, i, end, 116, 99, 112); // tcp
  const udp = !tcp && word(buf, i, end, 117, 100, 112); // udp
  if (!tcp && !udp) return !(i < end && buf[i]! >= 97 && buf[i]! <= 122); // other protocols never matter
  i = skipWords(buf, i, end, 2); // name, number
  if (isDigit(buf[i]!)) i = skipWords(buf, i, end, 1); // timeout (absent on DESTROY in some versions)
  let state = -1;
  if (buf[i]! >= 65 && buf[i]! <= 90) {
    state = i;
    i = skipWords(buf, i, end, 1);
  }
  if (!(buf[i] === 115 && buf[i + 1] === 114 && buf[i + 2] === 99 && buf[i + 3] === 61)) return true; // src=
  const synSent = state >= 0 && isWord(buf, state, end, SYN_SENT);
  return tupleMayMatter(buf, i, end, destroy, tcp ? PROTO_TCP : PROTO_UDP, synSent, interest);
}

// The event tags by the letter after their "[".
const EV_NEW = 78; // N
const EV_UPDATE = 85; // U
const EV_DESTROY = 68; // D

// `conntrack -E -o timestamp` prints "[sssssssssss.uuuuuu]\t" and then the event right-aligned in 9 columns
// and a blank: "    [NEW] ", " [UPDATE] ", "[DESTROY] ". Read at their places, most lines' first 30 bytes
// cost a few comparisons rather than a walk. A timestamp that is not digits is a line the parser rejects
// (its first token starts with "[" and is neither a timestamp nor an event), so nothing that matters is
// skipped by not reading them; the event's columns are compared whole.
const FIXED_HEAD = 30;
const FIELD_NEW = Buffer.from('    [NEW] ');
const FIELD_UPDATE = Buffer.from(' [UPDATE] ');
const FIELD_DESTROY = Buffer.from('[DESTROY] ');

/** The event's letter (EV_*) when buf[i…] is the usual timestamp and event head, else 0. The line has 30 bytes from i on. */
function fixedEvent(buf: Uint8Array, i: number): number {
  if (buf[i] !== OPEN || buf[i + 11] !== DOT || buf[i + 18] !== CLOSE || buf[i + 19] !== TAB) return 0;
  const last = buf[i + 27]; // the event name's last letter
  const field =
    last === 69 /* E */
      ? FIELD_UPDATE
      : last === 87 /* W */
        ? FIELD_NEW
        : last === 89 /* Y */
          ? FIELD_DESTROY
          : undefined;
  if (field === undefined) return 0;
  for (let k = 0; k < 10; k++) if (buf[i + 20 + k] !== field[k]) return 0;
  return field === FIELD_NEW ? EV_NEW : field === FIELD_UPDATE ? EV_UPDATE : EV_DESTROY;
}

/** The protocols the detector looks at; any other never matters. */
export const PROTO_OTHER = 0;
export const PROTO_TCP = 1;
export const PROTO_UDP = 2;

/**
 * mayMatter once the line's head is read (by it, or by a reader that has read it already): `srcAt` is
 * where the original tuple's "src=" starts, `destroy` whether the line is a DESTROY event.
 */
export function tupleMayMatter(
  buf: Uint8Array,
  srcAt: number,
  end: number,
  destroy: boolean,
  proto: number,
  synSent: boolean,
  interest: LineInterest,
): boolean {
  if (proto === PROTO_OTHER) return false;
  if (destroy) return interest.trackedServers.size > 0 && srcIsTracked(buf, srcAt + 4, end, interest.trackedServers);
  if (proto === PROTO_TCP) return !synSent; // a LAN host's own connection starts in SYN_SENT
  if (interest.udpPorts.size === 0) return false;
  const i = skipWords(buf, srcAt, end, 2); // src=, dst=
  if (!(buf[i] === 115 && buf[i + 1] === 112 && buf[i + 5] === 61)) return true; // sport=
  let port = 0;
  for (let j = i + 6; j < end && isDigit(buf[j]!); j++) port = port * 10 + (buf[j]! - 48);
  return interest.udpPorts.has(port);
}

function srcIsTracked(buf: Uint8Array, at: number, end: number, tracked: ReadonlyMap<string, number>): boolean {
  let stop = at;
  while (stop < end && buf[stop] !== SP && buf[stop] !== TAB) stop++;
  const len = stop - at;
  if (tracked.size > 8) return tracked.has(Buffer.from(buf.buffer, buf.byteOffset + at, len).toString('latin1'));
  // Few servers are tracked at a time: compare in place rather than allocate a string per DESTROY.
  for (const ip of tracked.keys()) {
    if (ip.length !== len) continue;
    let k = 0;
    while (k < len && ip.charCodeAt(k) === buf[at + k]) k++;
    if (k === len) return true;
  }
  return false;
}

/** buf[i…] is exactly `w` followed by a blank. */
function isWord(buf: Uint8Array, i: number, end: number, w: Uint8Array): boolean {
  for (let k = 0; k < w.length; k++) if (buf[i + k] !== w[k]) return false;
  const after = i + w.length;
  return after < end && (buf[after] === SP || buf[after] === TAB);
}

function word(buf: Uint8Array, i: number, end: number, a: number, b: number, c: number): boolean {
  return (
    i + 3 < end && buf[i] === a && buf[i + 1] === b && buf[i + 2] === c && (buf[i + 3] === SP || buf[i + 3] === TAB)
  );
}

function skipPast(buf: Uint8Array, i: number, end: number, code: number): number {
  let j = i;
  while (j < end && buf[j] !== code) j++;
  return j + 1;
}

function skipSpace(buf: Uint8Array, i: number, end: number): number {
  let j = i;
  while (j < end && (buf[j] === SP || buf[j] === TAB)) j++;
  return j;
}

/** Skips n words and the blanks after each. */
function skipWords(buf: Uint8Array, i: number, end: number, n: number): number {
  let j = i;
  for (let k = 0; k < n; k++) {
    while (j < end && buf[j] !== SP && buf[j] !== TAB) j++;
    j = skipSpace(buf, j, end);
  }
  return j;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
