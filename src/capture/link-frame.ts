// From one captured frame to its TCP segment: the link layers `tcpdump -w` and
// Wireshark write on the routers that matter (Ethernet with VLAN tags and
// PPPoE sessions, Linux cooked v1 and v2 as `-i any` and PPP interfaces give,
// raw IP, BSD loopback), then IPv4 or IPv6 and TCP. Pure; undefined for a frame
// that holds no TCP segment, a string for one that claims to but is cut short.

import { formatAddress } from '../net/ip-address';
import type { TcpPacket } from './tcp-packet';

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW_OLD: 12,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const KNOWN = new Set<number>(Object.values(LINKTYPE));

export function isKnownLinkType(t: number): boolean {
  return KNOWN.has(t);
}

/** The TCP segment in frame[0, len), or undefined (not TCP), or an error text. */
export function tcpOfFrame(
  linkType: number,
  frame: Uint8Array,
  where: string,
  at: number | undefined,
): TcpPacket | undefined | string {
  let off: number;
  let ethertype: number;
  switch (linkType) {
    case LINKTYPE.ETHERNET: {
      if (frame.length < 14) return 'Ethernet header cut short';
      off = 14;
      ethertype = u16(frame, 12);
      // VLAN tags (802.1Q, 802.1ad), possibly stacked.
      while ((ethertype === 0x8100 || ethertype === 0x88a8) && off + 4 <= frame.length) {
        ethertype = u16(frame, off + 2);
        off += 4;
      }
      if (ethertype === 0x8864) {
        // PPPoE session: 6-byte header, then the PPP protocol.
        if (off + 8 > frame.length) return 'PPPoE header cut short';
        const ppp = u16(frame, off + 6);
        off += 8;
        ethertype = ppp === 0x0021 ? 0x0800 : ppp === 0x0057 ? 0x86dd : 0;
      }
      break;
    }
    case LINKTYPE.LINUX_SLL:
      if (frame.length < 16) return 'Linux cooked header cut short';
      off = 16;
      ethertype = u16(frame, 14);
      break;
    case LINKTYPE.LINUX_SLL2:
      if (frame.length < 20) return 'Linux cooked v2 header cut short';
      off = 20;
      ethertype = u16(frame, 0);
      break;
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_OLD:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6:
      off = 0;
      ethertype = frame.length > 0 && frame[0]! >> 4 === 6 ? 0x86dd : 0x0800;
      break;
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (frame.length < 4) return 'loopback header cut short';
      off = 4;
      ethertype = frame[4] !== undefined && frame[4]! >> 4 === 6 ? 0x86dd : 0x0800;
      break;
    }
    default:
      return `link type ${linkType} is not supported`;
  }
  if (ethertype === 0x0800) return tcpOfIpv4(frame, off, where, at);
  if (ethertype === 0x86dd) return tcpOfIpv6(frame, off, where, at);
  return undefined;
}

function tcpOfIpv4(f: Uint8Array, off: number, where: string, at: number | undefined): TcpPacket | undefined | string {
  if (off + 20 > f.length) return 'IPv4 header cut short';
  if (f[off]! >> 4 !== 4) return 'not an IPv4 header';
  const ihl = (f[off]! & 15) * 4;
  if (ihl < 20) return 'IPv4 header length below 20';
  if (f[off + 9] !== 6) return undefined;
  // A later fragment carries no TCP header.
  if ((u16(f, off + 6) & 0x1fff) !== 0) return undefined;
  const total = u16(f, off + 2);
  const src = formatAddress({ family: 4, groups: [u16(f, off + 12), u16(f, off + 14)] });
  const dst = formatAddress({ family: 4, groups: [u16(f, off + 16), u16(f, off + 18)] });
  return tcpSegment(f, off + ihl, total - ihl, src, dst, where, at);
}

function tcpOfIpv6(f: Uint8Array, off: number, where: string, at: number | undefined): TcpPacket | undefined | string {
  if (off + 40 > f.length) return 'IPv6 header cut short';
  if (f[off]! >> 4 !== 6) return 'not an IPv6 header';
  let next = f[off + 6]!;
  let payload = u16(f, off + 4);
  let p = off + 40;
  // Extension headers: hop-by-hop, routing, destination options, fragment.
  for (let n = 0; n < 8 && (next === 0 || next === 43 || next === 60 || next === 44); n++) {
    if (p + 8 > f.length) return 'IPv6 extension header cut short';
    const len = next === 44 ? 8 : (f[p + 1]! + 1) * 8;
    if (next === 44 && (u16(f, p + 2) & 0xfff8) !== 0) return undefined; // a later fragment
    next = f[p]!;
    p += len;
    payload -= len;
  }
  if (next !== 6) return undefined;
  const groups = (at0: number) => Array.from({ length: 8 }, (_, i) => u16(f, at0 + i * 2));
  const src = formatAddress({ family: 6, groups: groups(off + 8) });
  const dst = formatAddress({ family: 6, groups: groups(off + 24) });
  return tcpSegment(f, p, payload, src, dst, where, at);
}

function tcpSegment(
  f: Uint8Array,
  off: number,
  segLen: number,
  src: string,
  dst: string,
  where: string,
  at: number | undefined,
): TcpPacket | string {
  if (off + 14 > f.length) return 'TCP header cut short';
  const hdr = (f[off + 12]! >> 4) * 4;
  if (hdr < 20) return 'TCP header length below 20';
  const flags = f[off + 13]!;
  const p: TcpPacket = {
    src,
    sport: u16(f, off),
    dst,
    dport: u16(f, off + 2),
    syn: (flags & 2) !== 0,
    ack: (flags & 16) !== 0,
    fin: (flags & 1) !== 0,
    rst: (flags & 4) !== 0,
    seq: u32(f, off + 4),
    // From the IP length: a capture cut at its snap length still tells how much was sent.
    len: Math.max(0, segLen - hdr),
    where,
  };
  if (p.ack) p.ackNo = u32(f, off + 8);
  if (at !== undefined) p.at = at;
  return p;
}

function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}
