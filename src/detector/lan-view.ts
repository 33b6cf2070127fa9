// What the detector knows about the router it runs on: which networks are the
// LAN, which addresses are the router's own, and which forwards were declared.

import type { ForwardConfig } from '../config/config';
import { canonicalAddress, PrefixSet, parsePrefix } from '../net/ip-address';

export interface LanView {
  lan: PrefixSet;
  /** Canonical addresses of this router (all interfaces, loopback included). */
  routerAddresses: ReadonlySet<string>;
  forwards: readonly ForwardConfig[];
  /** Where `lan` came from, for status: "config", "br-lan" or "fallback: private ranges". */
  lanSource: string;
}

/** Used when neither the config nor the interfaces tell which networks the LAN is. */
export const PRIVATE_LAN_FALLBACK = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

export function makeLanView(
  subnets: readonly string[],
  routerAddresses: Iterable<string>,
  forwards: readonly ForwardConfig[],
  lanSource: string,
): LanView {
  const prefixes = subnets.map((s) => parsePrefix(s)).filter((p) => p !== null);
  const own = new Set<string>(['127.0.0.1', '::1']);
  for (const a of routerAddresses) {
    const c = canonicalAddress(a);
    if (c) own.add(c);
  }
  return { lan: new PrefixSet(prefixes), routerAddresses: own, forwards, lanSource };
}

export interface InterfaceAddresses {
  ifname: string;
  addresses: Array<{ address: string; prefixlen: number; scope: string }>;
}

/** The LAN view from the config and what `ip -j addr` says about the interfaces. */
export function lanViewFromInterfaces(
  config: { lanInterfaces: readonly string[]; lanSubnets: readonly string[] },
  interfaces: readonly InterfaceAddresses[],
  forwards: readonly ForwardConfig[],
): LanView {
  const own = interfaces.flatMap((i) => i.addresses.map((a) => a.address));
  if (config.lanSubnets.length > 0) return makeLanView(config.lanSubnets, own, forwards, 'config');
  const subnets: string[] = [];
  for (const itf of interfaces) {
    if (!config.lanInterfaces.includes(itf.ifname)) continue;
    for (const a of itf.addresses) {
      if (a.scope === 'link' || a.scope === 'host') continue;
      const p = parsePrefix(`${a.address}/${a.prefixlen}`);
      if (p && !subnets.includes(p.text)) subnets.push(p.text);
    }
  }
  if (subnets.length > 0) return makeLanView(subnets, own, forwards, config.lanInterfaces.join(' '));
  return makeLanView(
    PRIVATE_LAN_FALLBACK,
    own,
    forwards,
    `fallback: private ranges (no address on ${config.lanInterfaces.join(' ')})`,
  );
}
