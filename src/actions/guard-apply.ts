// The guard's only I/O: puts a GuardPlan into the kernel and takes it out
// again. nft: one `nft -f -` transaction (script on stdin) that first deletes
// the guard rules already there (by handle) and replyguard's own table, then
// adds the plan — so an apply is never doubled and a half-applied guard is
// impossible. iptables: `-D` with the exact spec of each tagged rule found,
// then `-I CHAIN 1 … -m comment --comment replyguard-guard`. Commands are
// argv arrays with time limits, never a shell string.

import type { GuardPlan } from '../guard/guard-plan';
import type { PresentGuard, PresentRule } from '../guard/guard-status';
import type { GuardStep } from '../guard/guard-steps';
import { GUARD_TABLE, isNftName } from '../guard/guard-table';
import { runCommand } from '../system/run-command';
import { which } from '../system/which';

export interface GuardIoOptions {
  timeoutMs?: number;
}

export interface GuardIoResult {
  ok: boolean;
  /** What was run (nft scripts inline), for the log and --json. */
  commands: string[];
  errors: string[];
}

// ---------------------------------------------------------------------------
// Scripts and argv (pure, exported for tests)

const OWN = `inet ${GUARD_TABLE}`;

function nftDeletes(present: PresentGuard): string[] {
  const lines: string[] = [];
  for (const r of present.rules) {
    if (r.backend !== 'nft' || r.table === OWN || r.handle === undefined) continue;
    // A tagged rule in a chain whose name could end the statement (';', a line break …) is left alone:
    // the planner never puts one there, and the name must not write statements into this script.
    if (![...r.table.split(' '), r.chain].every(isNftName)) continue;
    lines.push(`delete rule ${r.table} ${r.chain} handle ${r.handle}`);
  }
  if (present.ownTable) lines.push(`table ${OWN}`, `delete table ${OWN}`);
  return lines;
}

/** The one nft transaction that replaces whatever guard is there with the plan's nft steps. */
export function nftApplyScript(steps: readonly GuardStep[], present: PresentGuard): string {
  const lines = nftDeletes(present);
  const nft = steps.filter((s) => s.backend === 'nft');
  const creates = nft.filter((x) => x.op === 'create-table');
  if (creates.length > 0) {
    if (!present.ownTable) lines.push(`table ${OWN}`, `delete table ${OWN}`); // never doubled
    lines.push(`table ${OWN} {`);
    for (const s of creates) lines.push(`  chain ${s.chain} {`, `    ${s.rule}`, '  }');
    lines.push('}');
  }
  for (const s of nft.filter((x) => x.op === 'add')) lines.push(`add rule ${s.table} ${s.chain} ${s.rule}`);
  // `insert` puts a rule at the top: insert each chain's rules last first, so they end up in plan order.
  for (const s of nft.filter((x) => x.op === 'insert').reverse())
    lines.push(`insert rule ${s.table} ${s.chain} ${s.rule}`);
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

export function nftRemoveScript(present: PresentGuard): string {
  const lines = nftDeletes(present);
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

function iptablesBinary(backend: 'iptables' | 'ip6tables', variant: 'legacy' | 'nft' | undefined): string {
  const plain = backend;
  if (variant) {
    const v = which(`${plain}-${variant}`);
    if (v) return v;
  }
  return which(plain) ?? plain;
}

/** Splits an iptables-save line into arguments (double quotes as iptables-save writes them). */
export function splitSaveLine(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

/** `iptables -D` argv for a tagged rule found in iptables-save (same spec as listed). */
export function iptablesDeleteArgv(r: PresentRule): string[] | null {
  if (r.backend === 'nft') return null;
  const parts = splitSaveLine(r.text);
  if (parts[0] !== '-A' || parts[1] !== r.chain) return null;
  return [iptablesBinary(r.backend, r.variant), '-w', '-t', r.table, '-D', r.chain, ...parts.slice(2)];
}

export function iptablesInsertArgv(s: GuardStep): string[] | null {
  if (s.backend === 'nft' || !s.argv) return null;
  return [iptablesBinary(s.backend, s.variant), '-w', '-t', s.table, '-I', s.chain, '1', ...s.argv];
}

// ---------------------------------------------------------------------------
// I/O

async function runNft(script: string, opts: GuardIoOptions, res: GuardIoResult): Promise<void> {
  if (script === '') return;
  const nft = which('nft') ?? 'nft';
  res.commands.push(`${nft} -f - <<EOF\n${script}EOF`);
  const r = await runCommand([nft, '-f', '-'], { input: script, timeoutMs: opts.timeoutMs ?? 10_000 });
  if (r.error || r.code !== 0) {
    res.ok = false;
    res.errors.push(`nft -f -: ${r.error ?? (r.stderr.trim() || `exit code ${r.code}`)}`);
  }
}

async function runArgv(argv: string[], opts: GuardIoOptions, res: GuardIoResult): Promise<void> {
  res.commands.push(argv.join(' '));
  const r = await runCommand(argv, { timeoutMs: opts.timeoutMs ?? 10_000 });
  if (r.error || r.code !== 0) {
    res.ok = false;
    res.errors.push(`${argv.join(' ')}: ${r.error ?? (r.stderr.trim() || `exit code ${r.code}`)}`);
  }
}

/** Replaces the guard that is there (present) with the plan's steps. */
export async function applyGuard(
  plan: GuardPlan,
  present: PresentGuard,
  opts: GuardIoOptions = {},
): Promise<GuardIoResult> {
  const res: GuardIoResult = { ok: true, commands: [], errors: [] };
  for (const r of present.rules) {
    const argv = iptablesDeleteArgv(r);
    if (argv) await runArgv(argv, opts, res);
  }
  await runNft(nftApplyScript(plan.steps, present), opts, res);
  if (!res.ok) return res;
  // -I CHAIN 1 puts a rule first: insert each chain's rules last first.
  for (const s of plan.steps.filter((x) => x.backend !== 'nft').reverse()) {
    const argv = iptablesInsertArgv(s);
    if (argv) await runArgv(argv, opts, res);
  }
  return res;
}

/** Takes out exactly the guard rules found (tagged, or in replyguard's own table). */
export async function removeGuard(present: PresentGuard, opts: GuardIoOptions = {}): Promise<GuardIoResult> {
  const res: GuardIoResult = { ok: true, commands: [], errors: [] };
  for (const r of present.rules) {
    const argv = iptablesDeleteArgv(r);
    if (argv) await runArgv(argv, opts, res);
  }
  await runNft(nftRemoveScript(present), opts, res);
  return res;
}
