// A fix as data: what kind of change, for which proxy, the shell lines and
// uci changes it consists of, where it applies, and the sentence people read.
// And the one order every output shows fixes in. Pure.

import type { ProxyName } from '../proxies/proxy-name';

/**
 * proxy_setting: the proxy's own option or access-list entry; masquerade_setting: a proxy option that
 * masquerades the replies; nat_guard / mangle_guard / udp_guard / masquerade_guard: a return rule at the top
 * of the chain that takes the replies; tcp_loose: the conntrack sysctl; replyguard_guard: `replyguard guard`;
 * gateway: give the server the main router as gateway; none_needed: nothing to change now.
 */
export type FixKind =
  | 'proxy_setting'
  | 'masquerade_setting'
  | 'nat_guard'
  | 'mangle_guard'
  | 'udp_guard'
  | 'masquerade_guard'
  | 'tcp_loose'
  | 'replyguard_guard'
  | 'gateway'
  | 'none_needed';

/** One uci change: `add` makes an anonymous section of type `section`; `set` and `add_list` name an option. */
export interface UciChange {
  op: 'add' | 'set' | 'add_list';
  config: string;
  /** The section ("config", "@lan_ac_traffic[-1]"), or for `add` the section type. */
  section: string;
  option?: string;
  value?: string;
}

/** Where a fix applies; absent fields: everywhere. */
export interface FixScope {
  firewall?: 'fw3' | 'fw4';
  family?: 'ipv4' | 'ipv6';
  /** The proxy releases that have the option ("≥ 0.46.060"). */
  proxy_versions?: string;
}

export interface Fix {
  kind: FixKind;
  proxy: Exclude<ProxyName, 'unknown'> | 'none';
  /** The sentence shown to people (commands included), as it always read. */
  text: string;
  /** Shell lines to run in this order; absent when the fix names alternatives or a place to look. */
  command?: string[];
  /** The uci changes among those lines. */
  uci?: UciChange[];
  applies?: FixScope;
  /** ruleset: made for the rule that takes the replies; detector: guessed from what the replies did. */
  basis: 'ruleset' | 'detector';
}

/** One single-quoted shell word for a uci value (values holding a quote are closed and reopened). */
function uciValue(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

/** The `uci` command line of a change. */
export function uciLine(c: UciChange): string {
  if (c.op === 'add') return `uci add ${c.config} ${c.section}`;
  return `uci ${c.op} ${c.config}.${c.section}.${c.option}=${uciValue(c.value ?? '')}`;
}

/** The uci commit and init.d restart a proxy's settings need to take effect. */
export function commitAndRestart(config: string): string[] {
  return [`uci commit ${config}`, `/etc/init.d/${config} restart`];
}

/**
 * The order people read fixes in: the ruleset's own findings before the detector's guesses, the proxy's
 * own setting before the guard, the sysctl, replyguard's guard and the gateway last; equal ranks keep
 * their given order.
 */
const RANK: Record<FixKind, number> = {
  proxy_setting: 0,
  masquerade_setting: 0,
  nat_guard: 1,
  mangle_guard: 1,
  udp_guard: 1,
  masquerade_guard: 1,
  tcp_loose: 4,
  replyguard_guard: 5,
  gateway: 6,
  none_needed: 7,
};

const GUARD_KINDS: ReadonlySet<FixKind> = new Set(['nat_guard', 'mangle_guard', 'udp_guard', 'masquerade_guard']);

function rank(f: Fix): number {
  // The detector's guessed guard and access list come after what the ruleset named, before the rest.
  if (f.basis === 'detector' && (GUARD_KINDS.has(f.kind) || f.kind === 'masquerade_setting')) return 2;
  if (f.basis === 'detector' && f.kind === 'proxy_setting') return 3;
  return RANK[f.kind];
}

/**
 * The fixes to show, in order (the one place that decides it): what the ruleset made exact replaces the
 * detector's guess of the same kind (its guard for a guessed chain once the chain is known, its proxy
 * setting once the proxy is known — `proxyKnown`: the ruleset named a proxy, even one without settings of its
 * own), and a line proposing the same command as an earlier one is dropped.
 */
export function orderFixes(fixes: readonly Fix[], opts: { proxyKnown?: boolean } = {}): Fix[] {
  const exactGuard = fixes.some((f) => f.basis === 'ruleset' && GUARD_KINDS.has(f.kind));
  const exactProxy = opts.proxyKnown || fixes.some((f) => f.basis === 'ruleset' && f.kind === 'proxy_setting');
  const kept = fixes.filter((f) => {
    if (f.basis !== 'detector') return true;
    if (exactGuard && GUARD_KINDS.has(f.kind)) return false;
    return !(exactProxy && f.kind === 'proxy_setting');
  });
  const ordered = kept.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i);
  const seen = new Set<string>();
  const out: Fix[] = [];
  for (const { f } of ordered) {
    const key = f.command ? f.command.join('\n') : `text:${f.text}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(f);
  }
  return out;
}

export function fixTexts(fixes: readonly Fix[]): string[] {
  return fixes.map((f) => f.text);
}
