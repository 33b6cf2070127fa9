// One TCP segment as a capture shows it, whatever the capture's format: what
// `analyze` judges connections by. Addresses stay text: an anonymised address
// in a pasted capture ("<家公网IP>") is an opaque host like any other.

export interface TcpPacket {
  /** Capture time in microseconds (since the epoch, or since midnight for tcpdump's default stamps); undefined when the capture has none. */
  at?: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  syn: boolean;
  ack: boolean;
  fin: boolean;
  rst: boolean;
  /** Sequence number as printed or carried: absolute, or relative to the ISN (tcpdump without -S). */
  seq?: number;
  /** Acknowledgment number (when the ACK flag is set), absolute or relative as seq. */
  ackNo?: number;
  /** Payload bytes. */
  len: number;
  /** Where it is in the capture, for evidence: "line 12" or "packet 7 (byte 1204)". */
  where: string;
}
