// A guard plan as people read it: the replies before and after, each rule
// with its reason, and the shell command each step amounts to. Pure.

import { packetWord } from '../ruleset/packet';
import { shellWord } from '../util/shell-quote';
import type { PacketCheck } from './guard-packets';
import type { GuardPlan } from './guard-plan';
import type { GuardStep } from './guard-steps';
import { GUARD_TAG } from './guard-table';

/** The plan as people read it. */
export function renderPlan(plan: GuardPlan): string {
  const lines: string[] = [];
  const proxies = plan.proxies.map((p) => `${p.label}, ${p.mode}`).join('; ') || 'none recognised';
  lines.push(`Proxy: ${proxies}`);
  lines.push(
    `Scope: ${plan.scope === 'forwards' ? 'the declared forwards (host:port as source)' : 'the LAN (no forward declared): TCP from LAN hosts to public addresses without SYN'}`,
  );
  lines.push('', 'Replies now:');
  for (const c of plan.before) lines.push(`  ${packetLine(c)}`);
  if (plan.status === 'nothing-to-do') {
    lines.push('', 'Nothing to do: no reply of a declared forward is swallowed by this router.');
  } else if (plan.steps.length === 0) {
    lines.push('', 'Not applicable: the replies are swallowed, but by nothing replyguard can guard.');
  } else {
    lines.push('', `Rules the guard adds (${plan.steps.length}), each tagged "${GUARD_TAG}":`);
    plan.steps.forEach((s, i) => {
      lines.push(`  ${i + 1}. ${stepCommand(s)}`);
      lines.push(`     why: ${s.why}`);
    });
    lines.push('', 'Replies with the guard (simulated on this ruleset):');
    for (const c of plan.after) lines.push(`  ${packetLine(c)}`);
  }
  for (const n of plan.notes) lines.push(`Note: ${n}`);
  if (plan.native.length > 0) lines.push('', ...plan.native);
  return `${lines.join('\n')}\n`;
}

function packetLine(c: PacketCheck): string {
  if (c.masqueraded) return `${packetLine({ ...c, masqueraded: undefined })}, but masqueraded by ${c.masqueraded}`;
  const what = c.kind === 'lan-syn' ? 'LAN host new connection (SYN)' : packetWord(c.kind);
  return `${c.forward}: ${what} ${c.from} → ${c.to}: ${c.verdict}${c.how ? ` (${c.how})` : ''}${c.by ? ` by ${c.by}` : ''}`;
}

/** The command one step amounts to (for people; apply runs the same through `nft -f -` / iptables argv). */
export function stepCommand(s: GuardStep): string {
  // For people to paste into a shell: every word quoted where needed (rules hold `&`, `|`, `(`, quotes).
  const table = s.table.split(' ').map(shellWord).join(' ');
  const chain = shellWord(s.chain);
  if (s.backend === 'nft') {
    if (s.op === 'create-table')
      return `nft add table ${table}; nft add chain ${table} ${chain} ${shellWord(`{ ${s.rule} }`)}`;
    return `nft ${s.op === 'insert' ? 'insert' : 'add'} rule ${table} ${chain} ${shellWord(s.rule)}`;
  }
  const bin = s.backend === 'ip6tables' ? 'ip6tables' : 'iptables';
  return `${bin}${s.variant === 'legacy' ? '-legacy' : ''} -w -t ${table} -I ${chain} 1 ${(s.argv ?? []).map(shellWord).join(' ')}`;
}
