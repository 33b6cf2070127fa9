// What one conntrack line says, in whatever `-o` format it was printed.

/** NEW/UPDATE/DESTROY come from `conntrack -E`; SNAPSHOT from `conntrack -L`. */
export type CtEventType = 'NEW' | 'UPDATE' | 'DESTROY' | 'SNAPSHOT';

export interface CtTuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** ICMP / ICMPv6 only. */
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
}

export interface CtEntry {
  event: CtEventType;
  family: 'ipv4' | 'ipv6';
  /** Lower-case protocol name as conntrack prints it: tcp, udp, icmp, icmpv6, sctp, gre, unknown… */
  proto: string;
  protoNum: number;
  timeout?: number;
  /** Protocol state (TCP: SYN_SENT, ESTABLISHED, …); absent for stateless protocols. */
  state?: string;
  orig: CtTuple;
  reply: CtTuple;
  /** No packet was seen in the reply direction (`[UNREPLIED]`, or no SEEN_REPLY). */
  unreplied: boolean;
  assured: boolean;
  mark?: number;
  zone?: number;
  /** The kernel's conntrack id (`-o id`). */
  id?: number;
  /** Seconds since the epoch, with microseconds (`-o timestamp`). */
  timestamp?: number;
}

export type CtParseResult = { entry: CtEntry } | { error: string } | { skip: true };
