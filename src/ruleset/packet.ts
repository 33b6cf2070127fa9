// The hypothetical packet that the evaluator walks, and the conntrack state
// the kernel would give it on a router that sees only one half of a flow.

import { type IpValue, ipValue } from './prefix-set';

export type Proto = 'tcp' | 'udp' | 'icmp';

/**
 * syn: a connection's first packet. synack: the reply to a SYN this router never saw.
 * ack: a later packet (mid-stream) of a flow this router never saw begin.
 */
export type TcpFlagsName = 'syn' | 'synack' | 'ack';

/** The packet of a reply that is walked: a TCP SYN-ACK, a mid-stream TCP ACK, or a UDP datagram. */
export type ReplyPacket = 'synack' | 'ack' | 'udp';

/** A reply packet as the texts for people name it. */
export function packetWord(p: ReplyPacket): string {
  return p === 'synack' ? 'SYN-ACK' : p === 'ack' ? 'mid-stream ACK' : 'UDP reply';
}

export type CtState = 'new' | 'established' | 'related' | 'invalid' | 'untracked';

export interface PacketSpec {
  proto: Proto;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** In-interface name, e.g. br-lan. */
  iif: string;
  flags?: TcpFlagsName;
  /** Overrides the modelled conntrack state. */
  ctState?: CtState;
  ctDirection?: 'original' | 'reply';
  mark?: number;
  ctMark?: number;
  etherSrc?: string;
  dscp?: number;
  /**
   * Whether the router holds a local socket for this packet's flow (nft `socket`, -m socket).
   * 'none': the flow is not terminated or proxied by the router yet (a reply it never saw start);
   * undefined: unknown, and socket matches are "maybe".
   */
  localSocket?: 'none';
}

/** Bit values as the kernel defines them (nft compares these numbers). */
export const TCP_FLAG_BITS: Record<string, number> = {
  fin: 0x01,
  syn: 0x02,
  rst: 0x04,
  psh: 0x08,
  ack: 0x10,
  urg: 0x20,
  ecn: 0x40,
  cwr: 0x80,
};
export const CT_STATE_BITS: Record<string, number> = {
  invalid: 1,
  established: 2,
  related: 4,
  new: 8,
  untracked: 64,
};
export const CT_STATUS_BITS: Record<string, number> = {
  expected: 1,
  'seen-reply': 2,
  assured: 4,
  confirmed: 8,
  snat: 16,
  dnat: 32,
  dying: 512,
};
export const CT_DIRECTION: Record<string, number> = { original: 0, reply: 1 };
export const L4PROTO: Record<string, number> = {
  icmp: 1,
  igmp: 2,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  icmpv6: 58,
  sctp: 132,
  udplite: 136,
};
export const NFPROTO: Record<string, number> = { ipv4: 2, ipv6: 10 };
export const FIB_TYPE: Record<string, number> = {
  unspec: 0,
  unicast: 1,
  local: 2,
  broadcast: 3,
  anycast: 4,
  multicast: 5,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
};

/** The packet with everything the evaluator reads, computed once. */
export interface ModelledPacket {
  spec: PacketSpec;
  family: 4 | 6;
  l4proto: number;
  saddr: IpValue;
  daddr: IpValue;
  sport: number;
  dport: number;
  tcpFlags: number;
  ctState: CtState;
  /** Undefined when there is no conntrack entry (invalid, untracked). */
  ctDirection?: 'original' | 'reply';
  ctStatus: number;
  mark: number;
  ctMark: number;
  /** Why the conntrack state is what it is, in words. */
  ctReason: string;
}

export interface ConntrackAssumptions {
  /** net.netfilter.nf_conntrack_tcp_loose; undefined = unknown (kernel default 1). */
  tcpLoose?: number;
}

export function modelPacket(spec: PacketSpec, ct: ConntrackAssumptions = {}): ModelledPacket | string {
  const saddr = ipValue(spec.src);
  const daddr = ipValue(spec.dst);
  if (!saddr) return `not an IP address: ${spec.src}`;
  if (!daddr) return `not an IP address: ${spec.dst}`;
  if (saddr.family !== daddr.family) return `${spec.src} and ${spec.dst} are not the same family`;
  const l4proto = L4PROTO[spec.proto] ?? 0;
  const flagsName = spec.proto === 'tcp' ? (spec.flags ?? 'ack') : undefined;
  const tcpFlags =
    flagsName === 'syn'
      ? TCP_FLAG_BITS.syn!
      : flagsName === 'synack'
        ? TCP_FLAG_BITS.syn! | TCP_FLAG_BITS.ack!
        : flagsName === 'ack'
          ? TCP_FLAG_BITS.ack! | TCP_FLAG_BITS.psh!
          : 0;
  let ctState: CtState;
  let ctDirection: 'original' | 'reply' | undefined;
  let ctReason: string;
  const loose = ct.tcpLoose ?? 1;
  const looseText =
    ct.tcpLoose === undefined
      ? 'nf_conntrack_tcp_loose unknown, kernel default 1 assumed'
      : `nf_conntrack_tcp_loose=${loose}`;
  if (spec.ctState) {
    ctState = spec.ctState;
    ctDirection = ctState === 'invalid' || ctState === 'untracked' ? undefined : (spec.ctDirection ?? 'original');
    ctReason = `conntrack state given: ${ctState}${ctDirection ? `, direction ${ctDirection}` : ''}`;
  } else if (flagsName === 'syn') {
    ctState = 'new';
    ctDirection = 'original';
    ctReason = 'a SYN starts a new conntrack entry (direction original)';
  } else if (flagsName === 'synack') {
    ctState = 'invalid';
    ctReason = 'a SYN-ACK whose SYN this router never saw is invalid: no conntrack entry, nat chains skip it';
  } else if (flagsName === 'ack') {
    if (loose === 0) {
      ctState = 'invalid';
      ctReason = `a mid-stream packet is invalid with ${looseText}: nat chains skip it`;
    } else {
      ctState = 'new';
      ctDirection = 'original';
      ctReason = `a mid-stream packet of a flow this router never saw start is picked up as new, direction original (${looseText}); \`ct direction reply\` does not match it`;
    }
  } else {
    ctState = 'new';
    ctDirection = 'original';
    ctReason = `the first ${spec.proto.toUpperCase()} packet of a flow this router sees is new, direction original`;
  }
  return {
    spec,
    family: saddr.family,
    l4proto,
    saddr,
    daddr,
    sport: spec.sport ?? 0,
    dport: spec.dport ?? 0,
    tcpFlags,
    ctState,
    ...(ctDirection ? { ctDirection } : {}),
    ctStatus: 0,
    mark: spec.mark ?? 0,
    ctMark: spec.ctMark ?? 0,
    ctReason,
  };
}
