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
  | 'mac';

const ICMP_TYPES: Record<string, number> = {
  'echo-reply': 0,
  'destination-unreachable': 3,
  redirect: 5,
  'echo-request': 8,
  'time-exceeded': 11,
  'parameter-problem': 12,
  'packet-too-big': 2,
  'nd-router-solicit': 133,
  'nd-router-advert': 134,
  'nd-neighbor-solicit': 135,
  'nd-neighbor-advert': 136,
};

const TABLES: Partial<Record<ValueKind, Record<string, number>>> = {
  proto: L4PROTO,
  nfproto: NFPROTO,
  ctstate: CT_STATE_BITS,
  ctstatus: CT_STATUS_BITS,
  ctdir: CT_DIRECTION,
  tcpflags: TCP_FLAG_BITS,
  fibtype: FIB_TYPE,
  icmp: ICMP_TYPES,
};

/** Bitmask kinds: a plain `ct state new` means "this bit is set". */
export function isBitmask(kind: ValueKind): boolean {
  return kind === 'ctstate' || kind === 'ctstatus' || kind === 'tcpflags';
}

export function keyKind(key: Key): ValueKind | ValueKind[] {
  switch (key.kind) {
    case 'meta':
      if (key.key === 'l4proto' || key.key === 'protocol') return 'proto';
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
      if ((key.proto === 'icmp' || key.proto === 'icmpv6') && key.field === 'type') return 'icmp';
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
    case 'icmpv6_type':
      return 'icmp';
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
