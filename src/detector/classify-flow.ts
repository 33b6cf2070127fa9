// Decides, for one conntrack entry, whether it is the reply half of an inbound
// connection (a port forward on the main router) and whether this router
// bent it. Pure: the entry and what we know of the LAN in, a verdict out.

import type { CtEntry } from '../conntrack/conntrack-entry';
import { canonicalAddress, isNonPublic, parseAddress } from '../net/ip-address';
import type { LanView } from './lan-view';

export type ReplyFate =
  /** DNAT/REDIRECT: the reply went to a local socket or another host instead of the peer. */
  | 'redirected'
  /** SNAT/MASQUERADE: the reply leaves with another source, the peer cannot match it. */
  | 'masqueraded'
  /** Passed untouched: only the routing is asymmetric. */
  | 'passed'
  /** The probe counted the replies entering this router and not leaving towards the main router (TPROXY, TUN …). */
  | 'swallowed';

export interface ReplyVerdict {
  proto: 'tcp' | 'udp';
  serverIp: string;
  serverPort: number;
  peerIp: string;
  peerPort: number;
  fate: ReplyFate;
  /** Where a redirected reply went (reply tuple's source), or the masquerade address. */
  divertedTo?: { ip: string; port: number; isRouter: boolean };
  /** Name of the declared forward this server:port belongs to. */
  forward?: string;
  /** What the passive probe counted for this flow (fate 'swallowed', or a 'passed' the probe saw). */
  probe?: { packetsIn: number; packetsOut: number; windowMs: number };
}

export function classifyFlow(entry: CtEntry, view: LanView): ReplyVerdict | null {
  if (entry.event !== 'NEW' && entry.event !== 'SNAPSHOT') return null;
  const proto = entry.proto;
  if (proto !== 'tcp' && proto !== 'udp') return null;
  const { orig, reply } = entry;
  if (orig.sport === undefined || orig.dport === undefined) return null;
  if (reply.sport === undefined || reply.dport === undefined) return null;
  // A snapshot shows entries of any age: only those that never saw a reply are
  // replies of connections whose other half bypasses this router.
  if (entry.event === 'SNAPSHOT' && !entry.unreplied) return null;

  const forward = view.forwards.find((f) => f.proto === proto && f.port === orig.sport && f.host === orig.src);
  if (proto === 'tcp') {
    // This router saw the connection start only if the entry began with a SYN.
    if (entry.state === undefined || entry.state === 'SYN_SENT') return null;
  } else if (!forward) {
    // UDP has no handshake to tell a reply from a request; only declared forwards count.
    return null;
  }

  if (!view.lan.has(orig.src) || view.routerAddresses.has(orig.src)) return null;
  const peer = parseAddress(orig.dst);
  if (!peer || isNonPublic(peer) || view.lan.has(orig.dst)) return null;

  const verdict: ReplyVerdict = {
    proto,
    serverIp: orig.src,
    serverPort: orig.sport,
    peerIp: orig.dst,
    peerPort: orig.dport,
    fate: 'passed',
  };
  if (forward) verdict.forward = forward.name;
  if (!sameAddress(reply.src, orig.dst) || reply.sport !== orig.dport) {
    verdict.fate = 'redirected';
    verdict.divertedTo = { ip: reply.src, port: reply.sport, isRouter: isRouter(reply.src, view) };
  } else if (!sameAddress(reply.dst, orig.src) || reply.dport !== orig.sport) {
    verdict.fate = 'masqueraded';
    verdict.divertedTo = { ip: reply.dst, port: reply.dport, isRouter: isRouter(reply.dst, view) };
  }
  return verdict;
}

function sameAddress(a: string, b: string): boolean {
  return a === b || (a.includes(':') && canonicalAddress(a) === canonicalAddress(b));
}

function isRouter(ip: string, view: LanView): boolean {
  return view.routerAddresses.has(canonicalAddress(ip) ?? ip);
}
