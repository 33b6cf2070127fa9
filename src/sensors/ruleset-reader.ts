// Reads the live ruleset: runs nft, iptables-save (legacy and nft variants),
// ip6tables-save, ipset, ip (argv arrays, time limits) and reads the
// tcp_loose sysctl. Missing tools are fine: their dump is simply absent.
// Decides nothing; returns a snapshot (model + fingerprint).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadIssue } from '../ruleset/model';
import { DUMP_FILES, makeSnapshot, type RulesetDumps, type RulesetSnapshot } from '../ruleset/ruleset-snapshot';
import { runCommand } from '../system/run-command';
import { which } from '../system/which';

export interface SensorOptions {
  /** Prefix for every command, e.g. ['ip', 'netns', 'exec', 'x'] in tests. */
  wrap?: string[];
  timeoutMs?: number;
  /** Where /proc/sys is (tests). */
  procSys?: string;
}

export interface SensorResult {
  snapshot: RulesetSnapshot;
  /** Tools that could not be run or failed, with why. */
  problems: LoadIssue[];
}

export async function readLiveRuleset(opts: SensorOptions = {}): Promise<SensorResult> {
  const problems: LoadIssue[] = [];
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const run = async (argv: string[], label: string, quietIfMissing = true): Promise<string | undefined> => {
    const path = which(argv[0]!);
    if (!path) {
      if (!quietIfMissing) problems.push({ severity: 'warning', source: label, message: `${argv[0]} not installed` });
      return undefined;
    }
    const res = await runCommand([...(opts.wrap ?? []), path, ...argv.slice(1)], { timeoutMs });
    if (res.error || res.code !== 0) {
      problems.push({
        severity: 'warning',
        source: label,
        message: res.error ?? (res.stderr.trim() || `exit code ${res.code}`),
      });
      return undefined;
    }
    return res.stdout;
  };
  const both = async (legacy: string, nft: string, plain: string, label: string): Promise<string | undefined> => {
    if (which(legacy) || which(nft)) {
      const parts = await Promise.all([run([legacy], label), run([nft], label)]);
      const present = parts.filter((p): p is string => p !== undefined);
      return present.length > 0 ? present.join('\n') : undefined;
    }
    return run([plain], label);
  };
  const [nftJson, iptablesSave, ip6tablesSave, ipsetSave, ipRule, ip6Rule, ipRoute, ip6Route, ipAddr] =
    await Promise.all([
      run(['nft', '-j', 'list', 'ruleset'], 'nft -j', false),
      both('iptables-legacy-save', 'iptables-nft-save', 'iptables-save', 'iptables-save'),
      both('ip6tables-legacy-save', 'ip6tables-nft-save', 'ip6tables-save', 'ip6tables-save'),
      run(['ipset', 'save'], 'ipset save'),
      run(['ip', '-j', 'rule', 'show'], 'ip -j rule', false),
      run(['ip', '-6', '-j', 'rule', 'show'], 'ip -6 -j rule'),
      run(['ip', '-j', 'route', 'show', 'table', 'all'], 'ip -j route', false),
      run(['ip', '-6', '-j', 'route', 'show', 'table', 'all'], 'ip -6 -j route'),
      run(['ip', '-j', 'addr', 'show'], 'ip -j addr', false),
    ]);
  let tcpLoose: string | undefined;
  if (opts.wrap) tcpLoose = await run(['sysctl', '-n', 'net.netfilter.nf_conntrack_tcp_loose'], 'sysctl');
  else {
    try {
      tcpLoose = readFileSync(`${opts.procSys ?? '/proc/sys'}/net/netfilter/nf_conntrack_tcp_loose`, 'utf8');
    } catch {
      problems.push({
        severity: 'warning',
        source: 'sysctl',
        message: 'nf_conntrack_tcp_loose unreadable (nf_conntrack not loaded?); 1 assumed',
      });
    }
  }
  const dumps: RulesetDumps = {};
  const set = <K extends keyof RulesetDumps>(k: K, v: string | undefined) => {
    if (v !== undefined) dumps[k] = v;
  };
  set('nftJson', nftJson);
  set('iptablesSave', iptablesSave);
  set('ip6tablesSave', ip6tablesSave);
  set('ipsetSave', ipsetSave);
  set('ipRule', ipRule);
  set('ip6Rule', ip6Rule);
  set('ipRoute', ipRoute);
  set('ip6Route', ip6Route);
  set('ipAddr', ipAddr);
  set('tcpLoose', tcpLoose);
  const snapshot = makeSnapshot(dumps);
  return { snapshot, problems };
}

/** Saved dumps (the files named in DUMP_FILES) from a directory; absent files stay absent. */
export function readDumpDir(dir: string): RulesetDumps {
  const dumps: RulesetDumps = {};
  for (const [key, file] of Object.entries(DUMP_FILES) as [keyof RulesetDumps, string][]) {
    const path = join(dir, file);
    if (existsSync(path)) dumps[key] = readFileSync(path, 'utf8');
  }
  return dumps;
}
