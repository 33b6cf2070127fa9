// Judges the TCP connections of a packet capture (tcpdump text, pcap, pcapng)
// for the reply-hijack signature, per server ip:port. Pure: packets in, report
// out; bounded (connections in an LruMap, evidence capped).
//
// The signature, as the incident and the lab show it from every place a user
// can capture: the server answers the SYN (its SYN-ACK gets out), and then the
// connection is reset in the server's name with the sequence number right after
// its ISN — a bare RST from a stack that holds no such connection, the server
// never having delivered a byte — or the server's later segments start past
// bytes that never appeared. Seen on the server itself, the "client" resets the
// connection and then goes on sending: that reset came from the path.
//
// A capture on every interface of the main router (`tcpdump -i any`) shows each
// forwarded connection twice, before and after the forward's DNAT: the same
// client address, port and SYN sequence number, to two addresses. The two views
// are judged as one connection of the server, the outside address kept as its
// forward, so that a connection is counted once.

import type { TcpPacket } from '../capture/tcp-packet';
import { formatEndpoint } from '../net/ip-address';
import { LruMap } from '../util/lru-map';

export type ConnectionVerdict = 'hijacked' | 'healthy' | 'no_answer' | 'unclear';
export type Confidence = 'high' | 'medium' | 'low';

interface Conn {
  /** Its key in the connection table. */
  key: string;
  server: string;
  peer: string;
  peerIp: string;
  firstAt?: number;
  lastAt?: number;
  firstWhere: string;
  syns: number;
  synAck: boolean;
  synAcks: number;
  /** The peer answered the SYN-ACK (any segment of it other than a SYN). */
  peerAnswered: boolean;
  serverIsn?: number;
  /** Payload bytes the server was seen to send, and the end of the highest server segment (relative seq). */
  serverBytes: number;
  serverEnd: number;
  /** A server segment starting past every byte seen before it, and where the missing bytes began. */
  gapWhere?: string;
  gapFrom: number;
  /** The peer's highest acknowledgment of server bytes (relative): bytes it acknowledged did reach it. */
  peerAcked: number;
  /**
   * How often each distinct server segment was seen (capped): a router that forwards on the interface it
   * captures (a side router's br-lan) shows each passing segment twice — in and out — and one it swallows once.
   */
  serverCopies: Map<string, number>;
  /** A bare RST in the server's name at ISN+1 while no server byte had been seen. */
  resetAtIsnWhere?: string;
  peerBytes: number;
  peerResetWhere?: string;
  /** The peer sent more after its own reset: the reset did not come from it. */
  peerGoesOnWhere?: string;
  finished: boolean;
  /** The same connection seen before the DNAT (outer, the first seen) or after it (inner). */
  outer?: Conn;
  inner?: Conn;
  settled: boolean;
}

export interface CaptureFinding {
  id: string;
  kind: 'reply_hijacked';
  severity: 'problem';
  state: 'active';
  proto: 'tcp';
  server: string;
  /** The address the connections reached the server through (before the forward's DNAT), when the capture saw both. */
  forward?: string;
  peers: string[];
  /** Connections with the signature. */
  count: number;
  first_seen: string;
  last_seen: string;
  summary: string;
  evidence: string[];
  fix: string[];
  confidence: Confidence;
  /** Connections to this server that worked, and those never answered. */
  healthy: number;
  no_answer: number;
  /** What this capture cannot prove, said plainly. */
  cannot_conclude: string[];
}

export interface CaptureNote {
  server: string;
  verdict: 'no_answer' | 'healthy' | 'single_connection_unclear';
  text: string;
}

/** What is kept of a server's finished connections: counts, a few examples, the peers, the time span. */
interface ServerTally {
  examples: Conn[];
  counts: Record<ConnectionVerdict, number>;
  peers: string[];
  /** Outside addresses the server's connections were also seen at (before the DNAT). */
  forwards: string[];
  first?: number;
  last?: number;
}

const MAX_CONNECTIONS = 65536;
const MAX_PEERS = 16;
const MAX_EVIDENCE = 6;
/** Distinct server segments followed per connection for the in-and-out count. */
const MAX_COPIES = 64;
/** Servers tallied; connections to further servers are counted in `unlisted`. */
const MAX_SERVERS = 4096;
const MAX_FORWARDS = 4;

export class CaptureJudge {
  private readonly conns = new LruMap<string, Conn>(MAX_CONNECTIONS, (_key, c) => this.settle(c));
  /** The connection whose SYN a client endpoint sent with a sequence number: a second view of it is the same connection. */
  private readonly synViews = new LruMap<string, Conn>(MAX_CONNECTIONS);
  /** Verdicts of connections pushed out of the table, per server. */
  private readonly settled = new Map<string, ServerTally>();
  packets = 0;
  /** Connections to servers past MAX_SERVERS, counted only. */
  unlisted = 0;

  add(p: TcpPacket): void {
    this.packets++;
    const a = formatEndpoint(p.src, p.sport);
    const b = formatEndpoint(p.dst, p.dport);
    const key = a < b ? `${a} ${b}` : `${b} ${a}`;
    let c = this.conns.get(key);
    // A new SYN on a finished connection's tuple is a new connection.
    if (c?.finished && p.syn && !p.ack) {
      this.settle(c);
      this.forget(c);
      c = undefined;
    }
    if (!c) {
      // The server is the side a SYN goes to, or the side that sends the SYN-ACK; otherwise the lower port.
      const toB = p.syn && !p.ack ? true : p.syn && p.ack ? false : p.dport <= p.sport;
      c = {
        key,
        server: toB ? b : a,
        peer: toB ? a : b,
        peerIp: toB ? p.src : p.dst,
        firstWhere: p.where,
        syns: 0,
        synAck: false,
        synAcks: 0,
        peerAnswered: false,
        serverBytes: 0,
        serverEnd: 0,
        peerBytes: 0,
        gapFrom: 0,
        serverCopies: new Map(),
        peerAcked: 0,
        finished: false,
        settled: false,
      };
      this.conns.set(key, c);
      if (p.syn && !p.ack && p.seq !== undefined) this.pairViews(c, `${c.peer} ${p.seq}`);
    }
    if (p.at !== undefined) {
      c.firstAt ??= p.at;
      c.lastAt = p.at;
    }
    const fromServer = a === c.server;
    if (fromServer) this.serverSegment(c, p);
    else this.peerSegment(c, p);
  }

  /** A SYN the same client endpoint sent with the same sequence number to another address: the other side of a DNAT. */
  private pairViews(c: Conn, synKey: string): void {
    const first = this.synViews.peek(synKey);
    if (first && !first.settled && !first.inner && !first.outer && first.server !== c.server) {
      first.inner = c;
      c.outer = first;
      this.synViews.delete(synKey);
    } else this.synViews.set(synKey, c);
  }

  /** Drops a settled connection, and its other view, from the table. */
  private forget(c: Conn): void {
    for (const v of [c, c.outer, c.inner]) if (v && this.conns.peek(v.key) === v) this.conns.delete(v.key);
  }

  private serverSegment(c: Conn, p: TcpPacket): void {
    const copy = `${p.syn ? 'S' : ''}${p.fin ? 'F' : ''}${p.rst ? 'R' : ''}${p.seq} ${p.ackNo} ${p.len}`;
    const seen = c.serverCopies.get(copy);
    if (seen !== undefined) c.serverCopies.set(copy, seen + 1);
    else if (c.serverCopies.size < MAX_COPIES) c.serverCopies.set(copy, 1);
    if (p.syn && p.ack) {
      c.synAck = true;
      c.synAcks++;
      if (p.seq !== undefined) c.serverIsn = p.seq;
      return;
    }
    const rel = relative(p.seq, c.serverIsn);
    if (p.rst) {
      c.finished = true;
      if (!p.ack && c.synAck && rel === 1 && c.serverBytes === 0) c.resetAtIsnWhere ??= p.where;
      return;
    }
    if (rel !== undefined && rel > c.serverEnd + 1 && c.synAck && (p.len > 0 || p.fin) && !c.gapWhere) {
      c.gapWhere = p.where;
      c.gapFrom = c.serverEnd + 1;
    }
    if (p.len > 0) {
      c.serverBytes += p.len;
      if (rel !== undefined) c.serverEnd = Math.max(c.serverEnd, rel + p.len - 1);
    }
    if (p.fin) c.finished = true;
  }

  private peerSegment(c: Conn, p: TcpPacket): void {
    if (p.syn && !p.ack) {
      c.syns++;
      return;
    }
    if (c.synAck) c.peerAnswered = true;
    if (p.ackNo !== undefined && c.serverIsn !== undefined) {
      const acked = relative(p.ackNo, c.serverIsn);
      if (acked !== undefined) c.peerAcked = Math.max(c.peerAcked, acked);
    }
    if (p.rst) {
      c.peerResetWhere ??= p.where;
      c.finished = true;
      return;
    }
    if (c.peerResetWhere && !c.peerGoesOnWhere) c.peerGoesOnWhere = p.where;
    c.peerBytes += p.len;
    if (p.fin) c.finished = true;
  }

  private settle(c: Conn): void {
    if (c.settled) return;
    const inner = c.inner ?? c;
    const outer = c.outer ?? (c.inner ? c : undefined);
    inner.settled = true;
    if (outer) outer.settled = true;
    let s = this.settled.get(inner.server);
    if (!s) {
      if (this.settled.size >= MAX_SERVERS) {
        this.unlisted++;
        return;
      }
      s = { examples: [], counts: { hijacked: 0, healthy: 0, no_answer: 0, unclear: 0 }, peers: [], forwards: [] };
      this.settled.set(inner.server, s);
    }
    if (outer && !s.forwards.includes(outer.server) && s.forwards.length < MAX_FORWARDS) s.forwards.push(outer.server);
    // Either view showing the signature is the connection's: each side of the DNAT sees part of it.
    const vi = verdictOf(inner);
    const vo = outer ? verdictOf(outer) : vi;
    const v = [vi, vo].includes('hijacked')
      ? 'hijacked'
      : [vi, vo].includes('healthy')
        ? 'healthy'
        : [vi, vo].includes('no_answer')
          ? 'no_answer'
          : 'unclear';
    s.counts[v]++;
    if (v !== 'hijacked') return;
    if (s.examples.length < MAX_EVIDENCE) s.examples.push(vi === 'hijacked' || !outer ? inner : outer);
    if (!s.peers.includes(inner.peerIp) && s.peers.length < MAX_PEERS) s.peers.push(inner.peerIp);
    for (const view of outer ? [inner, outer] : [inner])
      if (view.firstAt !== undefined && view.lastAt !== undefined) {
        s.first = Math.min(s.first ?? view.firstAt, view.firstAt);
        s.last = Math.max(s.last ?? view.lastAt, view.lastAt);
      }
  }

  finish(): {
    findings: CaptureFinding[];
    notes: CaptureNote[];
    connections: Record<ConnectionVerdict, number>;
    unlisted: number;
  } {
    for (const c of this.conns.values()) this.settle(c);
    const findings: CaptureFinding[] = [];
    const notes: CaptureNote[] = [];
    const total: Record<ConnectionVerdict, number> = { hijacked: 0, healthy: 0, no_answer: 0, unclear: 0 };
    for (const [server, s] of this.settled) {
      for (const k of Object.keys(total) as ConnectionVerdict[]) total[k] += s.counts[k];
      const { hijacked, healthy, no_answer } = s.counts;
      if (hijacked === 0) {
        if (no_answer > 0 && healthy === 0)
          notes.push({
            server,
            verdict: 'no_answer',
            text:
              `${server}: ${no_answer} connection(s) got no SYN-ACK here at all. Seen from outside, that is what a firewall dropping the SYN, ` +
              'a forward that does not reach the server, a server that is down — and a TPROXY or TUN proxy on the server’s gateway taking the SYN-ACK — all look like. ' +
              'A capture on the server tells them apart: if its SYN-ACKs leave and are never answered, they were lost on the way back.',
          });
        else if (healthy > 0)
          notes.push({
            server,
            verdict: 'healthy',
            text: `${server}: ${healthy} connection(s) delivered the server's data.`,
          });
        continue;
      }
      findings.push(findingOf(server, s, hijacked, healthy, no_answer));
    }
    return { findings, notes, connections: total, unlisted: this.unlisted };
  }
}

/** On a capture of a router forwarding on one interface (some server segments seen twice): those seen once. */
function swallowedHere(c: Conn): { once: number; twice: number } | undefined {
  let once = 0;
  let twice = 0;
  for (const n of c.serverCopies.values()) {
    if (n === 1) once++;
    else if (n === 2) twice++;
  }
  return once > 0 && twice > 0 ? { once, twice } : undefined;
}

/** The server resent its SYN-ACK and nothing of the peer's answered it: the SYN-ACKs were lost after the server. */
function synAckLost(c: Conn): boolean {
  return c.synAcks >= 2 && !c.peerAnswered && c.serverBytes === 0;
}

/** Server bytes missing that the peer never acknowledged (a capture that merely missed a packet shows the ack). */
function lostGap(c: Conn): boolean {
  return c.gapWhere !== undefined && c.peerAcked <= c.gapFrom;
}

function verdictOf(c: Conn): ConnectionVerdict {
  if (c.synAck && (c.resetAtIsnWhere || lostGap(c) || c.peerGoesOnWhere)) return 'hijacked';
  if (synAckLost(c)) return 'hijacked';
  if (!c.synAck && c.syns > 0) return 'no_answer';
  if (c.synAck && c.serverBytes > 0) return 'healthy';
  return 'unclear';
}

/** A sequence number relative to the ISN: tcpdump prints relative ones after the handshake, a pcap absolute ones. */
function relative(seq: number | undefined, isn: number | undefined): number | undefined {
  if (seq === undefined) return undefined;
  if (isn === undefined) return seq;
  const d = (seq - isn) >>> 0;
  return d < 1 << 24 ? d : seq;
}

function findingOf(
  server: string,
  s: ServerTally,
  hijacked: number,
  healthy: number,
  noAnswer: number,
): CaptureFinding {
  // SYN-ACKs lost after the server look alike from the server and from its gateway, whoever loses them.
  const onlyLost = s.examples.every((c) => synAckLost(c) && !c.resetAtIsnWhere && !lostGap(c) && !c.peerGoesOnWhere);
  const confidence: Confidence =
    hijacked >= 3 && healthy === 0 && !onlyLost ? 'high' : hijacked >= 2 ? 'medium' : 'low';
  const evidence: string[] = [];
  for (const c of s.examples.slice(0, 3)) {
    const parts = [`${c.peer} → ${server} (from ${c.firstWhere})`];
    if (!synAckLost(c)) parts.push('the SYN-ACK got out');
    if (c.resetAtIsnWhere)
      parts.push(`a bare reset in the server's name at its ISN+1 (${c.resetAtIsnWhere}): it never delivered a byte`);
    if (lostGap(c)) parts.push(`server bytes missing before ${c.gapWhere}, never acknowledged by the client`);
    if (c.peerGoesOnWhere)
      parts.push(
        `a reset in the client's name (${c.peerResetWhere}), yet the client went on sending (${c.peerGoesOnWhere}): the reset came from the path`,
      );
    const here = swallowedHere(c);
    if (here)
      parts.push(
        `${here.once} of the server's segments arrived here and did not leave, where ${here.twice} passed in and out: the router this was captured on took them`,
      );
    if (synAckLost(c))
      parts.push(
        c.syns >= 2
          ? `the server sent its SYN-ACK ${c.synAcks}× and the client kept resending its SYN (${c.syns}×): the SYN-ACKs never reached it`
          : `the server's SYN-ACK passed here ${c.synAcks}× and nothing of the client's answered it: the SYN-ACKs went no further`,
      );
    evidence.push(parts.join('; '));
  }
  const cannot = [
    'A capture shows the signature, not who made it: it points at a transparent proxy on the server’s reply path, it cannot name the proxy or its rule.',
  ];
  if (hijacked === 1) cannot.unshift('One connection is not a pattern: capture while several connections fail.');
  if (onlyLost)
    cannot.push(
      'Only SYN-ACKs that went missing after the server: a TPROXY or TUN proxy on the gateway does that, but so would any loss on the way; a capture on the side router’s LAN (each reply arriving and not leaving) or replyguard there tells.',
    );
  if (healthy > 0)
    cannot.push(
      `${healthy} connection(s) to this server worked in the same capture: the path may depend on the client or change over time.`,
    );
  const via = s.forwards.length > 0 ? ` (reached as ${s.forwards.join(', ')}, before the forward's DNAT)` : '';
  const summary =
    `${hijacked} of ${hijacked + healthy + noAnswer + s.counts.unclear} connection(s) to ${server}${via} show the reply-hijack signature: ` +
    (onlyLost
      ? 'the server answers the SYN, but its SYN-ACKs never reach the client. '
      : 'the handshake completes, then the server’s replies vanish and the connection is reset in its name. ') +
    'Likely cause: a transparent proxy on the server’s reply path, typically a side router (旁路由) acting as the server’s gateway.';
  const iso = (us: number | undefined) =>
    us === undefined ? '' : us < 86_400e6 ? timeOfDay(us) : new Date(Math.floor(us / 1000)).toISOString();
  return {
    id: `capture-hijack-tcp-${server}`,
    kind: 'reply_hijacked',
    severity: 'problem',
    state: 'active',
    proto: 'tcp',
    server,
    ...(s.forwards.length > 0 ? { forward: s.forwards.join(', ') } : {}),
    peers: [...s.peers],
    count: hijacked,
    first_seen: iso(s.first),
    last_seen: iso(s.last),
    summary,
    evidence: [summary, ...evidence],
    fix: [
      'Install replyguard on the router that is the server’s gateway (the side router), or run `replyguard diagnose` there: it names the rule that takes the replies and the fix for that proxy.',
      'Quick test: give the server the main router as its gateway; if the forward then works, the side router took the replies.',
    ],
    confidence,
    healthy,
    no_answer: noAnswer,
    cannot_conclude: cannot,
  };
}

function timeOfDay(us: number): string {
  const s = Math.floor(us / 1e6);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}.${String(Math.round(us % 1e6)).padStart(6, '0')}`;
}
