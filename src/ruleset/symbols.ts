// What kind of value a key holds, and the kernel's numbers for nft's symbolic
// constants, so that both loaders normalise values the same way.

import { parsePrefix } from '../net/ip-address';
import type { Key, Value } from './model';
import { CT_DIRECTION, CT_STATE_BITS, CT_STATUS_BITS, FIB_TYPE, L4PROTO, NFPROTO, TCP_FLAG_BITS } from './packet';

export type ValueKind =
  | 'addr'
  | 'num'
  | 'str'
  | 'proto'
  | 'nfproto'
  | 'ctstate'
  | 'ctstatus'
  | 'ctdir'
  | 'tcpflags'
  | 'fibtype'
  | 'icmp'
  | 'icmpv6'
  | 'icmpcode'
  | 'icmpv6code'
  | 'iftype'
  | 'mac';

// nft's names (its icmp_type, icmpv6_type, icmp_code and icmpv6_code datatypes); the same name is a
// different number in the two families (destination-unreachable: 3 in ICMP, 1 in ICMPv6).
const ICMP_TYPES: Record<string, number> = {
  'echo-reply': 0,
  'destination-unreachable': 3,
  'source-quench': 4,
  redirect: 5,
  'echo-request': 8,
  'router-advertisement': 9,
  'router-solicitation': 10,
  'time-exceeded': 11,
  'parameter-problem': 12,
  'timestamp-request': 13,
  'timestamp-reply': 14,
  'info-request': 15,
  'info-reply': 16,
  'address-mask-request': 17,
  'address-mask-reply': 18,
};

const ICMPV6_TYPES: Record<string, number> = {
  'destination-unreachable': 1,
  'packet-too-big': 2,
  'time-exceeded': 3,
  'parameter-problem': 4,
  'echo-request': 128,
  'echo-reply': 129,
  'mld-listener-query': 130,
  'mld-listener-report': 131,
  'mld-listener-done': 132,
  'mld-listener-reduction': 132,
  'nd-router-solicit': 133,
  'nd-router-advert': 134,
  'nd-neighbor-solicit': 135,
  'nd-neighbor-advert': 136,
  'nd-redirect': 137,
  'router-renumbering': 138,
  'ind-neighbor-solicit': 141,
  'ind-neighbor-advert': 142,
  'mld2-listener-report': 143,
};

const ICMP_CODES: Record<string, number> = {
  'net-unreachable': 0,
  'host-unreachable': 1,
  'prot-unreachable': 2,
  'port-unreachable': 3,
  'frag-needed': 4,
  'net-prohibited': 9,
  'host-prohibited': 10,
  'admin-prohibited': 13,
};

const ICMPV6_CODES: Record<string, number> = {
  'no-route': 0,
  'admin-prohibited': 1,
  'addr-unreachable': 3,
  'port-unreachable': 4,
  'policy-fail': 5,
  'reject-route': 6,
};

/** nft's iface_type names (the kernel's ARPHRD_* numbers), as in `meta oiftype ether`. */
const IF_TYPES: Record<string, number> = {
  ether: 1,
  ppp: 512,
  ipip: 768,
  ipip6: 769,
  loopback: 772,
  sit: 776,
  ipgre: 778,
};

const TABLES: Partial<Record<ValueKind, Record<string, number>>> = {
  // nft names protocol 58 by /etc/protocols ("ip6 nexthdr ipv6-icmp"), not by its own keyword.
  proto: { ...L4PROTO, 'ipv6-icmp': L4PROTO.icmpv6! },
  nfproto: NFPROTO,
  ctstate: CT_STATE_BITS,
  ctstatus: CT_STATUS_BITS,
  ctdir: CT_DIRECTION,
  tcpflags: TCP_FLAG_BITS,
  fibtype: FIB_TYPE,
  icmp: ICMP_TYPES,
  icmpv6: ICMPV6_TYPES,
  icmpcode: ICMP_CODES,
  icmpv6code: ICMPV6_CODES,
  iftype: IF_TYPES,
};

/** Bitmask kinds: a plain `ct state new` means "this bit is set". */
export function isBitmask(kind: ValueKind): boolean {
  return kind === 'ctstate' || kind === 'ctstatus' || kind === 'tcpflags';
}

export function keyKind(key: Key): ValueKind | ValueKind[] {
  switch (key.kind) {
    case 'meta':
      if (key.key === 'l4proto' || key.key === 'protocol') return 'proto';
      if (key.key === 'iiftype' || key.key === 'oiftype') return 'iftype';
      if (key.key === 'nfproto') return 'nfproto';
      if (/^(iif|oif)(name)?$|^[io]brname$|^iifgroup$/.test(key.key)) return key.key.endsWith('group') ? 'num' : 'str';
      return 'num';
    case 'payload':
      if (key.proto === 'ether') return key.field === 'type' ? 'num' : 'mac';
      if ((key.proto === 'ip' && key.field === 'protocol') || (key.proto === 'ip6' && key.field === 'nexthdr'))
        return 'proto';
      if ((key.proto === 'ip' || key.proto === 'ip6') && (key.field === 'saddr' || key.field === 'daddr'))
        return 'addr';
      if (key.proto === 'tcp' && key.field === 'flags') return 'tcpflags';
      if (key.proto === 'icmp' && key.field === 'type') return 'icmp';
      if (key.proto === 'icmpv6' && key.field === 'type') return 'icmpv6';
      if (key.proto === 'icmp' && key.field === 'code') return 'icmpcode';
      if (key.proto === 'icmpv6' && key.field === 'code') return 'icmpv6code';
      return 'num';
    case 'ct':
      if (key.key === 'state') return 'ctstate';
      if (key.key === 'status') return 'ctstatus';
      if (key.key === 'direction') return 'ctdir';
      if (key.key === 'l3proto') return 'nfproto';
      if (key.key === 'protocol') return 'proto';
      if (/addr$/.test(key.key)) return 'addr';
      return 'num';
    case 'fib':
      return key.result === 'type' ? 'fibtype' : key.result === 'oifname' ? 'str' : 'num';
    case 'concat':
      return key.parts.map((p) => {
        const k = keyKind(p);
        return Array.isArray(k) ? 'num' : k;
      });
    case 'binop':
      return keyKind(key.left);
    case 'ipset':
    case 'socket':
      return 'num';
  }
}

export function typeKind(type: string): ValueKind {
  switch (type) {
    case 'ipv4_addr':
    case 'ipv6_addr':
      return 'addr';
    case 'inet_proto':
      return 'proto';
    case 'nf_proto':
      return 'nfproto';
    case 'ifname':
      return 'str';
    case 'ether_addr':
      return 'mac';
    case 'ct_state':
      return 'ctstate';
    case 'ct_status':
      return 'ctstatus';
    case 'ct_dir':
      return 'ctdir';
    case 'fib_addrtype':
      return 'fibtype';
    case 'icmp_type':
      return 'icmp';
    case 'icmpv6_type':
      return 'icmpv6';
    case 'icmp_code':
      return 'icmpcode';
    case 'icmpv6_code':
      return 'icmpv6code';
    case 'iface_type':
      return 'iftype';
    case 'tcp_flag':
      return 'tcpflags';
    default:
      return 'num';
  }
}

/** A scalar as nft -j or iptables-save writes it → a model value; null when it does not fit the kind. */
export function scalarValue(raw: string | number, kind: ValueKind): Value | null {
  if (typeof raw === 'number') return { kind: 'num', n: raw };
  const text = raw.trim();
  if (kind === 'addr') {
    const p = parsePrefix(text);
    return p
      ? { kind: 'prefix', family: p.family, addr: p.text.slice(0, p.text.lastIndexOf('/')), bits: p.bits }
      : null;
  }
  if (kind === 'str') return { kind: 'str', s: text };
  if (kind === 'mac') return { kind: 'str', s: text.toLowerCase() };
  const table = TABLES[kind];
  if (table) {
    const parts = text.split(/[,|]/).map((p) => p.trim().toLowerCase());
    let n = 0;
    let ok = parts.length > 0;
    for (const p of parts) {
      const v = table[p];
      if (v !== undefined) n |= v;
      else if (/^(0x[0-9a-f]+|\d+)$/.test(p)) n |= Number(p);
      else ok = false;
    }
    if (ok) return { kind: 'num', n };
  }
  if (/^0x[0-9a-fA-F]+$/.test(text)) return { kind: 'num', n: Number.parseInt(text, 16) };
  if (/^\d+$/.test(text)) return { kind: 'num', n: Number(text) };
  // Port names nft may print (e.g. "ssh") are not resolved: a string that will not match a number.
  return null;
}
