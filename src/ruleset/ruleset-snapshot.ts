// The raw dumps of one moment, the ruleset model loaded from them, and a
// cheap fingerprint (a hash of the dumps) so that a daemon can tell whether
// anything changed without comparing models. Pure: no I/O.

import { createHash } from 'node:crypto';
import { parseIpAddrJson } from '../net/ip-addr-json';
import { type CompiledRuleset, compileRuleset } from './evaluate';
import { loadIpRouteJson } from './ip-route-json';
import { loadIpRuleJson } from './ip-rule-json';
import { loadIpsetSave } from './ipset-save';
import { loadIptablesSave } from './iptables-save';
import { emptyRuleset, type Ruleset } from './model';
import { loadNftJson } from './nft-json';

/** The text of each dump, as the tools printed it; absent = tool missing or failed. */
export interface RulesetDumps {
  nftJson?: string;
  iptablesSave?: string;
  ip6tablesSave?: string;
  ipsetSave?: string;
  ipRule?: string;
  ip6Rule?: string;
  ipRoute?: string;
  ip6Route?: string;
  ipAddr?: string;
  /** net.netfilter.nf_conntrack_tcp_loose as read from /proc/sys. */
  tcpLoose?: string;
}

/** File names used by --ruleset-dir and the golden fixtures. */
export const DUMP_FILES: Record<keyof RulesetDumps, string> = {
  nftJson: 'nft.json',
  iptablesSave: 'iptables-save.txt',
  ip6tablesSave: 'ip6tables-save.txt',
  ipsetSave: 'ipset.txt',
  ipRule: 'ip-rule.json',
  ip6Rule: 'ip6-rule.json',
  ipRoute: 'ip-route.json',
  ip6Route: 'ip6-route.json',
  ipAddr: 'ip-addr.json',
  tcpLoose: 'tcp_loose',
};

export interface RulesetSnapshot {
  /** sha256 of the dumps (hex, 16 chars): equal fingerprints mean an equal ruleset. */
  fingerprint: string;
  takenAt: number;
  dumps: RulesetDumps;
  ruleset: Ruleset;
  /** Hook lists, chain and set indexes; built once per snapshot. */
  compiled: CompiledRuleset;
}

export function fingerprintDumps(d: RulesetDumps): string {
  const h = createHash('sha256');
  for (const k of Object.keys(DUMP_FILES) as (keyof RulesetDumps)[]) {
    h.update(`${k}\u0000${d[k] ?? '\u0001absent'}\u0000`);
  }
  return h.digest('hex').slice(0, 16);
}

/** Dumps → model. Never throws: problems are in ruleset.issues. */
export function loadRuleset(d: RulesetDumps): Ruleset {
  const rs = emptyRuleset();
  const add = (name: string, present: boolean) => {
    if (present) rs.sources.push(name);
  };
  try {
    if (d.iptablesSave !== undefined) {
      const r = loadIptablesSave(d.iptablesSave, 4);
      rs.tables.push(...r.tables);
      rs.issues.push(...r.issues);
      add('iptables-save', true);
    }
    if (d.ip6tablesSave !== undefined) {
      const r = loadIptablesSave(d.ip6tablesSave, 6);
      rs.tables.push(...r.tables);
      rs.issues.push(...r.issues);
      add('ip6tables-save', true);
    }
    if (d.nftJson !== undefined) {
      // iptables-nft tables also appear in nft -j (with untranslatable "xt" parts): iptables-save shows them whole.
      const skipTables = new Set(rs.tables.filter((t) => t.variant === 'nft').map((t) => `${t.family} ${t.name}`));
      const r = loadNftJson(d.nftJson, { skipTables });
      rs.issues.push(...r.issues);
      rs.tables.push(...r.tables);
      add('nft', true);
    }
    if (d.ipsetSave !== undefined) {
      const r = loadIpsetSave(d.ipsetSave);
      rs.ipsets.push(...r.sets);
      rs.issues.push(...r.issues);
      add('ipset', true);
    }
    for (const [text, fam] of [
      [d.ipRule, 4],
      [d.ip6Rule, 6],
    ] as const) {
      if (text === undefined) continue;
      const r = loadIpRuleJson(text, fam);
      rs.routing.rules.push(...r.rules);
      rs.issues.push(...r.issues);
      add(fam === 4 ? 'ip rule' : 'ip -6 rule', true);
    }
    for (const [text, fam] of [
      [d.ipRoute, 4],
      [d.ip6Route, 6],
    ] as const) {
      if (text === undefined) continue;
      const r = loadIpRouteJson(text, fam);
      rs.routing.routes.push(...r.routes);
      rs.issues.push(...r.issues);
      add(fam === 4 ? 'ip route' : 'ip -6 route', true);
    }
    if (d.ipAddr !== undefined && d.ipAddr.trim() !== '') {
      try {
        for (const i of parseIpAddrJson(d.ipAddr)) {
          rs.routing.interfaces.push(i.ifname);
          for (const a of i.addresses)
            rs.routing.addresses.push({
              ifname: i.ifname,
              family: a.family,
              address: a.address,
              prefixlen: a.prefixlen,
            });
        }
        add('ip addr', true);
      } catch (err) {
        rs.issues.push({ severity: 'error', source: 'ip -j addr', message: (err as Error).message });
      }
    }
    if (d.tcpLoose !== undefined) {
      const n = Number(d.tcpLoose.trim());
      if (n === 0 || n === 1) rs.tcpLoose = n;
      else
        rs.issues.push({
          severity: 'warning',
          source: 'sysctl',
          message: `nf_conntrack_tcp_loose: unreadable value '${d.tcpLoose.trim()}'`,
        });
    }
  } catch (err) {
    // A loader bug must not take the daemon down: report it as an issue.
    rs.issues.push({
      severity: 'error',
      source: 'replyguard',
      message: `internal error while loading: ${(err as Error).message}`,
    });
  }
  return rs;
}

export function makeSnapshot(dumps: RulesetDumps, takenAt = Date.now()): RulesetSnapshot {
  const ruleset = loadRuleset(dumps);
  return { fingerprint: fingerprintDumps(dumps), takenAt, dumps, ruleset, compiled: compileRuleset(ruleset) };
}
