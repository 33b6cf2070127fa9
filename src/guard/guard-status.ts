// Whether the guard is in place and whether it takes effect. Pure: the
// ruleset (as read from the kernel, guard included) + the forwards → which
// guard rules are there (tagged "replyguard-guard", or in replyguard's own
// table), which planned ones are missing, and what the evaluator says about
// the servers' replies on the ruleset as it is: `forwarded` means it works.

import type { Ruleset } from '../ruleset/model';
import type { GuardInput } from './guard-input';
import { checkPackets, guardPackets, type PacketCheck, swallowed } from './guard-packets';
import { type GuardPlan, planGuard } from './guard-plan';
import type { GuardBackend, GuardStep } from './guard-steps';
import { isGuardRule, isGuardTable } from './guard-table';

/** A guard rule found in the ruleset. */
export interface PresentRule {
  backend: GuardBackend;
  /** As in GuardStep.table: "inet fw4" (nft), "nat"/"mangle" (iptables). */
  table: string;
  chain: string;
  /** nft handle (delete by handle). */
  handle?: number;
  /** nft: the rule as listed; iptables: the `-A CHAIN …` line (delete with the same spec). */
  text: string;
  variant?: 'legacy' | 'nft';
}

export interface PresentGuard {
  rules: PresentRule[];
  /** replyguard's own table (inet replyguard_guard) exists. */
  ownTable: boolean;
  /** Its chains. */
  ownChains: string[];
}

export function findGuard(rs: Ruleset): PresentGuard {
  const rules: PresentRule[] = [];
  let ownTable = false;
  const ownChains: string[] = [];
  for (const t of rs.tables) {
    const own = isGuardTable(t);
    if (own) {
      ownTable = true;
      ownChains.push(...t.chains.map((c) => c.name));
    }
    const backend: GuardBackend = t.backend === 'nft' ? 'nft' : t.backend === 'ip6tables' ? 'ip6tables' : 'iptables';
    if (t.backend === 'ipset') continue;
    for (const c of t.chains)
      for (const r of c.rules) {
        if (!own && !isGuardRule(r)) continue;
        rules.push({
          backend,
          table: t.backend === 'nft' ? `${t.family} ${t.name}` : t.name,
          chain: c.name,
          ...(r.handle !== undefined ? { handle: r.handle } : {}),
          text: r.text,
          ...(t.variant ? { variant: t.variant } : {}),
        });
      }
  }
  return { rules, ownTable, ownChains };
}

export interface GuardStatus {
  /** Every planned rule is there (and nothing is needed when no rule is planned). */
  inPlace: boolean;
  /** Some guard rules are there, but not all planned ones. */
  partial: boolean;
  /** No declared reply is swallowed on the ruleset as it is. */
  effective: boolean;
  /** Without the guard, a reply would be swallowed. */
  needed: boolean;
  present: PresentGuard;
  /** Planned steps with no guard rule in their chain. */
  missing: GuardStep[];
  /** The replies (and a LAN host's own new connection) on the ruleset as it is. */
  packets: PacketCheck[];
  plan: GuardPlan;
  summary: string;
}

function chainKey(x: { backend: string; table: string; chain: string }): string {
  return `${x.backend} ${x.table} ${x.chain}`;
}

export function guardStatus(input: GuardInput): GuardStatus {
  const present = findGuard(input.ruleset);
  const plan = planGuard(input);
  const have = new Map<string, number>();
  for (const r of present.rules) have.set(chainKey(r), (have.get(chainKey(r)) ?? 0) + 1);
  const missing: GuardStep[] = [];
  for (const s of plan.steps) {
    if (s.op === 'create-table') {
      if (!present.ownChains.includes(s.chain)) missing.push(s);
      continue;
    }
    const k = chainKey(s);
    const n = have.get(k) ?? 0;
    if (n > 0) have.set(k, n - 1);
    else missing.push(s);
  }
  const packets = checkPackets(input.ruleset, guardPackets(input), input.iif).map((c) => c.check);
  const effective = !packets.some(swallowed);
  const needed = plan.before.some(swallowed);
  const any = present.rules.length > 0 || present.ownTable;
  const inPlace = plan.steps.length > 0 ? missing.length === 0 : !needed;
  const partial = any && !inPlace;
  const summary = !needed
    ? any
      ? 'no reply would be swallowed without the guard; its rules are not needed'
      : 'no reply is swallowed: no guard needed'
    : inPlace && effective
      ? 'the guard is in place and takes effect: the replies are forwarded'
      : inPlace
        ? 'the guard is in place but does not take effect: a reply is still swallowed'
        : any
          ? `the guard is partly in place (${missing.length} rule(s) missing)${effective ? '' : '; replies are swallowed'}`
          : 'the guard is not in place: replies are swallowed';
  return { inPlace, partial, effective, needed, present, missing, packets, plan, summary };
}
