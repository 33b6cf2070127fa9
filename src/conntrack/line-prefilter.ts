// Decides from the first fields of a `conntrack -E`/`-L` text line, without
// a full parse, whether the detector could care about it. Most lines on a busy
// router are UPDATEs, connections a LAN host starts (SYN_SENT) and DESTROYs of
// flows nobody tracks: the daemon counts them and skips their parse.

/** What the detector currently cares about; the sets are its live state. */
export interface LineInterest {
  /** LAN servers with tracked candidate flows: their DESTROY lines matter. */
  readonly trackedServers: ReadonlyMap<string, number>;
  /** Source ports of declared UDP forwards. */
  readonly udpPorts: ReadonlySet<number>;
}

const N = 78;
const U = 85;
const D = 68;

/** false promises that the detector would ignore the line; true means "parse it" (also for lines it cannot read). */
export function mayMatter(line: string, interest: LineInterest): boolean {
  const srcAt = line.indexOf(' src=');
  if (srcAt < 0) return true;
  // The event tag: the first '[' unless that one opens a timestamp ("[1795…]").
  const first = line.indexOf('[');
  const tag = first >= 0 && isDigit(line.charCodeAt(first + 1)) ? line.indexOf('[', first + 1) : first;
  const kind = tag >= 0 && tag < srcAt ? line.charCodeAt(tag + 1) : N; // no tag: a -L snapshot line, judged like NEW
  if (kind === U) return false;
  if (kind !== N && kind !== D) return true;
  const tcp = line.lastIndexOf(' tcp ', srcAt) >= 0;
  if (!tcp && line.lastIndexOf(' udp ', srcAt) < 0) return false; // only TCP and UDP flows are ever candidates
  if (kind === D)
    return interest.trackedServers.size > 0 && startsWithTracked(line, srcAt + 5, interest.trackedServers);
  if (tcp) {
    // The TCP state is the word right before src=; a LAN host's own connection starts in SYN_SENT.
    let k = srcAt - 1;
    while (k > 0 && (line.charCodeAt(k) === 32 || line.charCodeAt(k) === 9)) k--;
    const before = line.charCodeAt(k - 8);
    return !(line.startsWith('SYN_SENT', k - 7) && (before === 32 || before === 9));
  }
  if (interest.udpPorts.size === 0) return false;
  const at = line.indexOf(' sport=', srcAt);
  if (at < 0) return true;
  let port = 0;
  for (let j = at + 7, c = line.charCodeAt(j); isDigit(c); c = line.charCodeAt(++j)) port = port * 10 + (c - 48);
  return interest.udpPorts.has(port);
}

function startsWithTracked(line: string, at: number, tracked: ReadonlyMap<string, number>): boolean {
  if (tracked.size > 8) {
    const end = line.indexOf(' ', at);
    return tracked.has(line.slice(at, end < 0 ? line.length : end));
  }
  for (const ip of tracked.keys()) {
    if (line.startsWith(ip, at) && line.charCodeAt(at + ip.length) === 32) return true;
  }
  return false;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
