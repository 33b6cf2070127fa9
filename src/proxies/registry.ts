// The proxies replyguard knows by name, and what is derived from all of them:
// which proxy owns a table or chain (no two modules claim the same names:
// Passwall's PSW_ and PSW never match Passwall2's PSW2), the hint for a
// redirect port, the TUN device names.

import { GENERIC_TUN_DEVICES } from './generic';
import { HOMEPROXY } from './homeproxy';
import { NIKKI } from './nikki';
import { OPENCLASH } from './openclash';
import { PASSWALL } from './passwall';
import { PASSWALL2 } from './passwall2';
import type { NatChainCandidate, ProxyModule } from './proxy-module';
import type { ProxyName } from './proxy-name';
import { SHELLCRASH } from './shellcrash';

export const PROXY_MODULES: readonly ProxyModule[] = [OPENCLASH, PASSWALL, PASSWALL2, HOMEPROXY, NIKKI, SHELLCRASH];

const UNKNOWN_LABEL = 'unknown transparent proxy';

export function proxyLabel(name: ProxyName): string {
  return proxyModule(name)?.label ?? UNKNOWN_LABEL;
}

export function proxyModule(name: ProxyName): ProxyModule | undefined {
  return PROXY_MODULES.find((m) => m.name === name);
}

/** The proxy that owns a chain, from its table's and its own name; null for anything else. */
export function proxyOwning(tableName: string, chainName: string): ProxyModule | null {
  for (const m of PROXY_MODULES) {
    if (m.tables.includes(tableName) || m.chains?.test(chainName)) return m;
  }
  return null;
}

/** Without a ruleset: which proxies default to a port, and every nat chain that may redirect there. */
export interface ProxyHint {
  proxy: string;
  /** Each with the name of the proxy module that declares it. */
  natChains: Array<NatChainCandidate & { name: ProxyModule['name'] }>;
}

export function proxyHintForPort(port: number): ProxyHint | undefined {
  const uses = PROXY_MODULES.flatMap((m) => m.ports.filter((p) => p.port === port).map((p) => ({ m, p })));
  if (uses.length === 0) return undefined;
  const names = uses.map(({ m, p }) => (p.what ? `${m.label} ${p.what}` : m.label));
  return {
    proxy: names.length === 1 ? names[0]! : `${names[0]} (or ${names.slice(1).join(', ')})`,
    natChains: uses.flatMap(({ m, p }) => p.natChains.map((c) => ({ ...c, name: m.name }))),
  };
}

/** A device name a proxy (or a VPN) routes marked packets into. */
export const TUN_DEVICE_NAME = new RegExp(
  `^(${[...new Set([...PROXY_MODULES.flatMap((m) => m.tunDevices), ...GENERIC_TUN_DEVICES])].join('|')})`,
  'i',
);
