// IPv4/IPv6 addresses and prefixes without any I/O. Addresses are compared as
// 8 × 16-bit groups so that one code path serves both families.

export type Family = 4 | 6;

export interface Address {
  family: Family;
  /** IPv4: 2 groups; IPv6: 8 groups of 16 bits. */
  groups: number[];
}

export interface Prefix {
  family: Family;
  groups: number[];
  bits: number;
  text: string;
}

export function parseIPv4Groups(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    bytes.push(n);
  }
  return [(bytes[0]! << 8) | bytes[1]!, (bytes[2]! << 8) | bytes[3]!];
}

export function parseIPv6Groups(input: string): number[] | null {
  let text = input;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (text.length < 2 || !/^[0-9a-fA-F:.]+$/.test(text)) return null;
  let v4: number[] | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    // "::ffff:1.2.3.4": the dotted tail stands for the last two groups.
    v4 = parseIPv4Groups(text.slice(lastColon + 1));
    if (!v4) return null;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  if (!head) return null;
  let groups: number[];
  if (halves.length === 1) {
    if (head.length !== 8) return null;
    groups = head;
  } else {
    const rest = parse(halves[1]!);
    if (!rest || head.length + rest.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  }
  if (v4) {
    groups[6] = v4[0]!;
    groups[7] = v4[1]!;
  }
  return groups;
}

export function parseAddress(text: string): Address | null {
  if (text.includes(':')) {
    const groups = parseIPv6Groups(text);
    return groups ? { family: 6, groups } : null;
  }
  const groups = parseIPv4Groups(text);
  return groups ? { family: 4, groups } : null;
}

export function isAddress(text: string): boolean {
  return parseAddress(text) !== null;
}

/** Parses "a.b.c.d/n", "x::/n" or a bare address (a host prefix). */
export function parsePrefix(text: string): Prefix | null {
  const slash = text.indexOf('/');
  const addr = parseAddress(slash >= 0 ? text.slice(0, slash) : text);
  if (!addr) return null;
  const max = addr.family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b)) return null;
    bits = Number(b);
    if (bits > max) return null;
  }
  return { family: addr.family, groups: maskGroups(addr.groups, bits), bits, text: formatPrefix(addr, bits) };
}

function maskGroups(groups: number[], bits: number): number[] {
  return groups.map((g, i) => {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    return keep === 0 ? 0 : g & (0xffff << (16 - keep)) & 0xffff;
  });
}

export function prefixContains(prefix: Prefix, addr: Address): boolean {
  if (prefix.family !== addr.family) return false;
  const masked = maskGroups(addr.groups, prefix.bits);
  for (let i = 0; i < masked.length; i++) if (masked[i] !== prefix.groups[i]) return false;
  return true;
}

export function formatAddress(addr: Address): string {
  if (addr.family === 4) {
    const [a, b] = addr.groups as [number, number];
    return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  // RFC 5952: compress the longest run (≥ 2) of zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (addr.groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && addr.groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = addr.groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function formatPrefix(addr: Address, bits: number): string {
  return `${formatAddress({ family: addr.family, groups: maskGroups(addr.groups, bits) })}/${bits}`;
}

/** Canonical text of an address, so "::FFFF:0:1" and "::ffff:0:1" compare equal. */
export function canonicalAddress(text: string): string | null {
  const a = parseAddress(text);
  return a ? formatAddress(a) : null;
}

export function formatEndpoint(ip: string, port: number | undefined): string {
  if (port === undefined) return ip;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** "192.168.1.10:443" / "[fd00::1]:443" → parts; the address is not checked. */
export function splitEndpoint(text: string): { ip: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  return m ? { ip: m[1]!, port: Number(m[2]) } : null;
}

// Addresses that are never "the internet": a peer in one of these is not an
// outside client of a port forward. The probe's nft sets use the same lists.
export const NON_PUBLIC_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '224.0.0.0/4',
  '240.0.0.0/4',
];
export const NON_PUBLIC_V6 = ['::/128', '::1/128', 'fc00::/7', 'fe80::/10', 'ff00::/8'];

const NON_PUBLIC = [...NON_PUBLIC_V4, ...NON_PUBLIC_V6].map((p) => parsePrefix(p)!);

export function isNonPublic(addr: Address): boolean {
  return NON_PUBLIC.some((p) => prefixContains(p, addr));
}

/** A small set of prefixes with a cache of answers per address text (hot path). */
export class PrefixSet {
  private readonly prefixes: Prefix[];
  private readonly cache = new Map<string, boolean>();
  constructor(prefixes: Prefix[]) {
    this.prefixes = prefixes;
  }
  get list(): readonly Prefix[] {
    return this.prefixes;
  }
  has(text: string): boolean {
    const hit = this.cache.get(text);
    if (hit !== undefined) return hit;
    const addr = parseAddress(text);
    const result = addr !== null && this.prefixes.some((p) => prefixContains(p, addr));
    // Bounded: the cache is dropped whole when it grows, answers are cheap to recompute.
    if (this.cache.size >= 4096) this.cache.clear();
    this.cache.set(text, result);
    return result;
  }
}
