// What the guard is planned from, the same for the CLI and the daemon: the
// ruleset as read, the declared forwards, the LAN prefixes (from the config,
// else the addresses of lan_interfaces in the snapshot) and the interface the
// replies come in on. Pure.

import type { Config, ForwardConfig } from '../config/config';
import { parsePrefix } from '../net/ip-address';
import { defaultLanInterface } from '../ruleset/explain-text';
import type { Ruleset } from '../ruleset/model';
import type { RulesetSnapshot } from '../ruleset/ruleset-snapshot';

export interface GuardInput {
  /** The ruleset; guard rules already in it (tag or own table) are ignored. */
  ruleset: Ruleset;
  forwards: readonly ForwardConfig[];
  /** LAN prefixes, used when no forward is declared. */
  lanSubnets: readonly string[];
  /** Interface the replies come in on (br-lan). */
  iif: string;
  /** Where the nat guard goes: auto = own nft table when nft is there, else in-chain iptables RETURN. */
  natBackend?: 'auto' | 'nft' | 'iptables';
}

export function guardLanSubnets(config: Config, snapshot: RulesetSnapshot): string[] {
  if (config.main.lanSubnets.length > 0) return config.main.lanSubnets;
  const out: string[] = [];
  for (const a of snapshot.ruleset.routing.addresses) {
    if (!config.main.lanInterfaces.includes(a.ifname)) continue;
    if (a.family === 6 && /^fe80:/i.test(a.address)) continue;
    const p = parsePrefix(`${a.address}/${a.prefixlen}`);
    if (p && !out.includes(p.text)) out.push(p.text);
  }
  return out;
}

/** The first of lan_interfaces the snapshot knows, else the usual LAN bridge. */
export function guardInterface(config: Config, snapshot: RulesetSnapshot): string {
  return (
    config.main.lanInterfaces.find((i) => snapshot.ruleset.routing.interfaces.includes(i)) ??
    defaultLanInterface(snapshot)
  );
}

export function guardInputFor(
  config: Config,
  snapshot: RulesetSnapshot,
  opts: { iif?: string; natBackend?: GuardInput['natBackend'] } = {},
): GuardInput {
  return {
    ruleset: snapshot.ruleset,
    forwards: config.forwards,
    lanSubnets: guardLanSubnets(config, snapshot),
    iif: opts.iif ?? guardInterface(config, snapshot),
    natBackend: opts.natBackend ?? 'auto',
  };
}
