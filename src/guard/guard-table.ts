// How guard rules are named and recognised: the comment every guard rule
// carries, replyguard's own nft table with its base chains, and the names
// that may be written into an nft script. Pure.

import type { Rule, Table } from '../ruleset/model';

/** The comment every guard rule carries: `remove` deletes exactly the rules with it. */
export const GUARD_TAG = 'replyguard-guard';
/** replyguard's own nft table for the nat guard (family inet). */
export const GUARD_TABLE = 'replyguard_guard';
export const GUARD_NAT_CHAIN = 'nat_pre';
/** dstnat - 10: before every proxy's nat chain (OpenClash/fw4 -100, nikki -99, Passwall -101). */
export const GUARD_NAT_PRIORITY = -110;
/** Source NAT counterpart against a proxy's masquerade (OpenClash bypass_gateway_compatible). */
export const GUARD_SNAT_CHAIN = 'nat_post';
/** srcnat - 10: before the proxy's srcnat chains (100). */
export const GUARD_SNAT_PRIORITY = 90;

/** Base chains of replyguard's own table: hook, priority and the header nft takes. */
export const GUARD_CHAINS: Record<string, { hook: 'prerouting' | 'postrouting'; priority: number; header: string }> = {
  [GUARD_NAT_CHAIN]: {
    hook: 'prerouting',
    priority: GUARD_NAT_PRIORITY,
    header: 'type nat hook prerouting priority dstnat - 10; policy accept;',
  },
  [GUARD_SNAT_CHAIN]: {
    hook: 'postrouting',
    priority: GUARD_SNAT_PRIORITY,
    header: 'type nat hook postrouting priority srcnat - 10; policy accept;',
  },
};

/**
 * nft's identifier charset (scanner.l: a letter, '_' or '.', then letters, digits, '/', '-', '_', '.').
 * Table and chain names from the ruleset go into an `nft -f` script as they are; a name outside it
 * (a ';', a line break, a quote, a space …) could end the statement and add another one.
 */
export function isNftName(name: string): boolean {
  return /^[A-Za-z_.][A-Za-z0-9_./-]*$/.test(name);
}

export function isGuardTable(t: Table): boolean {
  return t.backend === 'nft' && t.family === 'inet' && t.name === GUARD_TABLE;
}

export function isGuardRule(r: Rule): boolean {
  return r.comment === GUARD_TAG;
}
