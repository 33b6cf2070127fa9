// A guard plan on the ruleset model: the ruleset without replyguard's guard
// (what the plan is made from) and with a plan's rules in it (what the plan
// is checked on before anything touches the kernel). Pure.

import type { Chain, Rule, Ruleset, Table } from '../ruleset/model';
import type { GuardBackend, GuardStep } from './guard-steps';
import { GUARD_CHAINS, isGuardRule, isGuardTable } from './guard-table';

/** The ruleset without replyguard's guard (its table and every tagged rule). */
export function stripGuard(rs: Ruleset): Ruleset {
  return {
    ...rs,
    tables: rs.tables
      .filter((t) => !isGuardTable(t))
      .map((t) => ({
        ...t,
        chains: t.chains.map((c) => ({ ...c, rules: renumber(c.rules.filter((r) => !isGuardRule(r))) })),
      })),
  };
}

function renumber(rules: Rule[]): Rule[] {
  return rules.map((r, i) => (r.position === i + 1 ? r : { ...r, position: i + 1 }));
}

function tableKey(t: Table): string {
  return t.backend === 'nft' ? `${t.family} ${t.name}` : t.name;
}

function backendOf(t: Table): GuardBackend {
  return t.backend === 'nft' ? 'nft' : t.backend === 'ip6tables' ? 'ip6tables' : 'iptables';
}

/** The model with the plan's rules in it, as the kernel would hold them after `guard apply`. */
export function simulateGuard(rs: Ruleset, steps: readonly GuardStep[]): Ruleset {
  const tables: Table[] = rs.tables.map((t) => ({ ...t, chains: t.chains.slice() }));
  // Each chain is rebuilt once, whatever the number of steps: inserts in order at its top, adds at its end.
  const edits = new Map<Chain, { table: Table; at: number; insert: Rule[]; add: Rule[] }>();
  const chainOf = (t: Table, name: string) => {
    const at = t.chains.findIndex((x) => x.name === name);
    return at < 0 ? undefined : { at, chain: t.chains[at]! };
  };
  for (const s of steps) {
    if (s.op === 'create-table') {
      const [family, name] = s.table.split(' ');
      let own = tables.find((t) => t.backend === 'nft' && tableKey(t) === s.table);
      if (!own) {
        own = { backend: 'nft', family: family!, name: name!, chains: [], sets: [] };
        tables.push(own);
      }
      const def = GUARD_CHAINS[s.chain];
      if (def && !own.chains.some((c) => c.name === s.chain))
        own.chains.push({
          name: s.chain,
          hook: def.hook,
          type: 'nat',
          priority: def.priority,
          policy: 'accept',
          rules: [],
        });
      continue;
    }
    const t = tables.find(
      (x) =>
        backendOf(x) === s.backend &&
        tableKey(x) === s.table &&
        (s.backend === 'nft' || x.family === (s.family === 4 ? 'ip' : 'ip6')),
    );
    const found = t ? chainOf(t, s.chain) : undefined;
    if (!t || !found || !s.model) continue;
    let e = edits.get(found.chain);
    if (!e) {
      e = { table: t, at: found.at, insert: [], add: [] };
      edits.set(found.chain, e);
    }
    (s.op === 'add' ? e.add : e.insert).push({ ...s.model });
  }
  for (const [chain, e] of edits)
    e.table.chains[e.at] = { ...chain, rules: renumber([...e.insert, ...chain.rules, ...e.add]) };
  return { ...rs, tables };
}
