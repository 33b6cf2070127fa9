// `replyguard guard plan|apply|remove|status`: exempts exactly the replies of
// inbound connections (the declared forwards' servers answering outside
// clients) from the transparent proxy, with rules tagged "replyguard-guard"
// that `remove` takes out again. Planning and status are pure (src/guard);
// guard-apply.ts is the only part that changes the kernel.

import { existsSync } from 'node:fs';
import { applyGuard, removeGuard } from '../actions/guard-apply';
import type { Config } from '../config/config';
import { type GuardInput, guardInputFor, guardInterface } from '../guard/guard-input';
import type { GuardPlan } from '../guard/guard-plan';
import { renderPlan, stepCommand } from '../guard/guard-render';
import { findGuard, type GuardStatus, guardStatus } from '../guard/guard-status';
import { DUMP_FILES, makeSnapshot, type RulesetSnapshot } from '../ruleset/ruleset-snapshot';
import { readDumpDir, readLiveRuleset } from '../sensors/ruleset-reader';
import { terminalText } from '../util/input-text';
import { flagString, parseArgs, UsageError } from './args';
import { configFor } from './config-option';

export const GUARD_EXIT = { ok: 0, nothing: 1, failed: 2, cannotRun: 3 } as const;

const SUBCOMMANDS = ['plan', 'apply', 'remove', 'status'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

async function liveSnapshot(): Promise<{ snapshot: RulesetSnapshot; problem?: string }> {
  const live = await readLiveRuleset();
  const snapshot = live.snapshot;
  for (const p of live.problems) snapshot.ruleset.issues.push(p);
  const firewall = snapshot.ruleset.sources.filter((s) => s === 'nft' || s === 'iptables-save');
  if (firewall.length === 0) {
    const why = live.problems.map((p) => `${p.source}: ${p.message}`).join('; ') || 'neither nft nor iptables-save ran';
    return { snapshot, problem: `cannot read the firewall ruleset (${why})` };
  }
  return { snapshot };
}

function statusText(s: GuardStatus): string {
  const lines = [`Guard: ${s.summary}`];
  lines.push(
    `  in place: ${s.inPlace ? 'yes' : s.partial ? 'partly' : 'no'}; takes effect: ${s.effective ? 'yes' : 'no'}; needed: ${s.needed ? 'yes' : 'no'}`,
  );
  if (s.present.rules.length > 0 || s.present.ownTable) {
    lines.push('  Guard rules found:');
    if (s.present.ownTable) lines.push(`    table inet replyguard_guard`);
    for (const r of s.present.rules)
      lines.push(
        `    ${r.backend} ${r.table} ${r.chain}${r.handle !== undefined ? ` (handle ${r.handle})` : ''}: ${r.text}`,
      );
  }
  if (s.missing.length > 0) {
    lines.push('  Missing:');
    for (const m of s.missing) lines.push(`    ${stepCommand(m)}`);
  }
  lines.push('  Replies now:');
  for (const p of s.packets)
    lines.push(`    ${p.forward} ${p.kind} ${p.from} → ${p.to}: ${p.verdict}${p.by ? ` by ${p.by}` : ''}`);
  return `${lines.join('\n')}\n`;
}

function statusJson(s: GuardStatus): object {
  return {
    in_place: s.inPlace,
    partial: s.partial,
    effective: s.effective,
    needed: s.needed,
    summary: s.summary,
    rules: s.present.rules,
    own_table: s.present.ownTable,
    missing: s.missing.map((m) => ({ ...m, model: undefined, command: stepCommand(m) })),
    packets: s.packets,
  };
}

function planJson(p: GuardPlan): object {
  return { ...p, steps: p.steps.map((s) => ({ ...s, model: undefined, command: stepCommand(s) })) };
}

function statusExit(s: GuardStatus): number {
  if (s.effective && (s.inPlace || !s.needed)) return GUARD_EXIT.ok;
  if (s.inPlace) return GUARD_EXIT.failed;
  return GUARD_EXIT.nothing;
}

export async function runGuard(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['--config', '--in', '--ruleset-dir', '--nat'], ['--json']);
  const [sub, ...extra] = args.positionals;
  if (!sub || !(SUBCOMMANDS as readonly string[]).includes(sub))
    throw new UsageError(`expected one of ${SUBCOMMANDS.join(', ')}${sub ? `, not '${sub}'` : ''}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
  const command = sub as Sub;
  const nat = flagString(args, '--nat') ?? 'auto';
  if (nat !== 'auto' && nat !== 'nft' && nat !== 'iptables') throw new UsageError('--nat is auto, nft or iptables');
  const dir = flagString(args, '--ruleset-dir');
  if (dir !== undefined && (command === 'apply' || command === 'remove'))
    throw new UsageError(`--ruleset-dir only works with plan and status (${command} changes the live ruleset)`);
  const json = args.flags.has('--json');
  const out = (text: string, doc: object) =>
    process.stdout.write(json ? `${JSON.stringify(doc, null, 2)}\n` : terminalText(text));
  const fail = (msg: string) => {
    process.stderr.write(`replyguard guard ${command}: ${msg}\n`);
    return GUARD_EXIT.cannotRun;
  };

  let config: Config;
  try {
    config = configFor(flagString(args, '--config'));
  } catch (err) {
    return fail(`config: ${(err as Error).message}`);
  }
  let snapshot: RulesetSnapshot;
  if (dir !== undefined) {
    if (!existsSync(dir)) return fail(`${dir}: no such directory`);
    const dumps = readDumpDir(dir);
    if (Object.keys(dumps).length === 0) return fail(`${dir} holds none of ${Object.values(DUMP_FILES).join(', ')}`);
    snapshot = makeSnapshot(dumps);
  } else {
    const live = await liveSnapshot();
    if (live.problem) return fail(live.problem);
    snapshot = live.snapshot;
  }
  const iif = flagString(args, '--in') ?? guardInterface(config, snapshot);
  const inputFor = (s: RulesetSnapshot): GuardInput => guardInputFor(config, s, { iif, natBackend: nat });

  if (command === 'plan') {
    const plan = guardStatus(inputFor(snapshot)).plan;
    out(renderPlan(plan), planJson(plan));
    return plan.steps.length > 0 ? GUARD_EXIT.ok : GUARD_EXIT.nothing;
  }
  if (command === 'status') {
    const s = guardStatus(inputFor(snapshot));
    out(statusText(s), statusJson(s));
    return statusExit(s);
  }
  if (command === 'remove') {
    const present = findGuard(snapshot.ruleset);
    if (present.rules.length === 0 && !present.ownTable) {
      out('Guard: nothing to remove (no rule tagged replyguard-guard, no table inet replyguard_guard)\n', {
        removed: 0,
        ok: true,
      });
      return GUARD_EXIT.nothing;
    }
    const res = await removeGuard(present);
    const again = await liveSnapshot();
    const left = findGuard(again.snapshot.ruleset);
    const ok = res.ok && left.rules.length === 0 && !left.ownTable;
    const text = ok
      ? `Guard removed: ${present.rules.length} rule(s)${present.ownTable ? ' and table inet replyguard_guard' : ''}\n`
      : `Guard removal failed: ${[...res.errors, ...left.rules.map((r) => `still there: ${r.table} ${r.chain}: ${r.text}`)].join('; ')}\n`;
    if (ok && config.main.guard === 'auto')
      process.stderr.write(
        `note: guard = auto in ${config.source}: a running daemon puts the guard back within seconds; ` +
          'switch it off first (uci set replyguard.main.guard=off && uci commit replyguard && /etc/init.d/replyguard reload)\n',
      );
    out(text, {
      ok,
      removed: present.rules.length,
      own_table: present.ownTable,
      commands: res.commands,
      errors: res.errors,
    });
    return ok ? GUARD_EXIT.ok : GUARD_EXIT.failed;
  }
  // apply
  const before = guardStatus(inputFor(snapshot));
  const plan = before.plan;
  const extraRules = before.present.rules.length - plan.steps.filter((s) => s.op !== 'create-table').length;
  if (before.inPlace && before.effective && before.needed && extraRules === 0) {
    out(`Guard already in place and effective; nothing changed.\n${statusText(before)}`, {
      ok: true,
      changed: false,
      status: statusJson(before),
    });
    return GUARD_EXIT.ok;
  }
  if (plan.steps.length === 0) {
    out(renderPlan(plan), { ok: false, changed: false, plan: planJson(plan) });
    return GUARD_EXIT.nothing;
  }
  const res = await applyGuard(plan, before.present);
  const again = await liveSnapshot();
  const after = guardStatus(inputFor(again.snapshot));
  const ok = res.ok && after.inPlace && after.effective;
  const text =
    `${ok ? 'Guard applied' : 'Guard apply FAILED'}: ${plan.steps.length} step(s)\n` +
    plan.steps.map((s, i) => `  ${i + 1}. ${stepCommand(s)}\n`).join('') +
    (res.errors.length > 0 ? `Errors:\n${res.errors.map((e) => `  ${e}\n`).join('')}` : '') +
    statusText(after) +
    (plan.native.length > 0 ? `\n${plan.native.join('\n')}\n` : '');
  out(text, { ok, changed: true, commands: res.commands, errors: res.errors, status: statusJson(after) });
  return ok ? GUARD_EXIT.ok : GUARD_EXIT.failed;
}
