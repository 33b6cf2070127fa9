// The guard plan: which rules exempt exactly the replies of inbound
// connections (port-forwarded servers answering outside clients) from the
// transparent proxy that swallows them, where they go and why. Pure: a
// ruleset model + the declared forwards + the LAN in, a GuardPlan out.
//
// The planner asks the evaluator which reply packets are swallowed and by
// which rule, guards exactly those (the rules themselves: guard-steps.ts) and
// checks the plan on the model with its rules in it. A packet swallowed by a
// chain no proxy owns is reported, never guarded.

import type { ForwardConfig } from '../config/config';
import { commitAndRestart } from '../detector/fix';
import { lanAcTrafficCommands } from '../proxies/openclash';
import type { Hop } from '../ruleset/evaluate';
import type { Ruleset } from '../ruleset/model';
import { type ProxyInfo, proxyOfHop, recognizeProxies } from '../ruleset/recognize-proxy';
import type { GuardInput } from './guard-input';
import { checkPackets, guardPackets, hopText, masqueradedBy, type PacketCheck, swallowed } from './guard-packets';
import { simulateGuard, stripGuard } from './guard-simulate';
import {
  type GuardSource,
  type GuardStep,
  type GuardTarget,
  inChainSteps,
  natStepsNft,
  snatStepsNft,
  withTable,
} from './guard-steps';
import { isNftName } from './guard-table';

export interface GuardPlan {
  /** ok: steps to apply; nothing-to-do: no reply is swallowed; not-applicable: swallowed, but by nothing replyguard may guard. */
  status: 'ok' | 'nothing-to-do' | 'not-applicable';
  scope: 'forwards' | 'lan';
  proxies: { name: string; label: string; mode: string; backend: string }[];
  steps: GuardStep[];
  /** The replies before the guard (on the ruleset without any guard). */
  before: PacketCheck[];
  /** The same packets on the model with the plan applied (simulated). */
  after: PacketCheck[];
  notes: string[];
  /** The proxy's own setting that would do the same (OpenClash lan_ac_traffic …), as commands. */
  native: string[];
}

/** The chain to guard on this path: the first chain of the proxy that is not a base chain (else its base chain). */
function chainToGuard(rs: Ruleset, proxies: ProxyInfo[], path: Hop[]): GuardTarget | null {
  let fallback: GuardTarget | null = null;
  for (const h of path) {
    if (h.backend === 'route') continue;
    const proxy = proxyOfHop(proxies, h);
    if (!proxy) continue;
    const table = rs.tables.find(
      (t) =>
        `${t.family} ${t.name}` === h.table &&
        (t.backend === h.backend || (h.backend !== 'nft' && t.backend !== 'nft')),
    );
    const chain = table?.chains.find((c) => c.name === h.chain);
    if (!table || !chain) continue;
    if (!chain.hook) return { hop: h, proxy, table };
    fallback ??= { hop: h, proxy, table };
  }
  return fallback;
}

/** The declared forwards by name (names are unique; the map saves a scan per packet). */
function forwardsByName(input: GuardInput): Map<string, ForwardConfig[]> {
  const m = new Map<string, ForwardConfig[]>();
  for (const f of input.forwards) {
    const list = m.get(f.name);
    if (list) list.push(f);
    else m.set(f.name, [f]);
  }
  return m;
}

function sourcesFor(
  input: GuardInput,
  byName: Map<string, ForwardConfig[]>,
  family: 4 | 6,
  proto: 'tcp' | 'udp',
  forward: string,
): GuardSource[] {
  if (forward === 'LAN') {
    const subnets = input.lanSubnets.filter((s) => s.includes(':') === (family === 6));
    return subnets.length > 0 ? [{ family, proto, subnets, label: 'the LAN' }] : [];
  }
  return (byName.get(forward) ?? [])
    .filter((f) => f.proto === proto)
    .map((f) => ({
      family,
      proto,
      host: f.host,
      port: f.port,
      label: `forward '${f.name}' (${f.host}:${f.port}/${proto})`,
    }));
}

function stepKey(s: GuardStep): string {
  return `${s.backend} ${s.table} ${s.chain} ${s.op} ${s.rule}`;
}

function nativeAlternative(proxies: ProxyInfo[], input: GuardInput): string[] {
  if (!proxies.some((p) => p.name === 'openclash')) return [];
  const out: string[] = [
    "# OpenClash's own setting with the same effect (LuCI: Access Control → Lan Traffic Access List,",
    '# "try when forwarding fails on a bypass gateway"), instead of the guard:',
  ];
  const forwards = input.forwards.length > 0 ? input.forwards : [];
  for (const f of forwards) {
    out.push(...lanAcTrafficCommands({ host: f.host, port: f.port, proto: f.proto, name: f.name }));
  }
  if (forwards.length === 0)
    out.push('# (declare the forwards in the replyguard config to get one lan_ac_traffic entry per server host:port)');
  else out.push(...commitAndRestart('openclash'));
  // With Bypass Gateway Compatible on, openclash_post masquerades what common ports let through.
  const masquerades = proxies.some((p) => p.name === 'openclash' && p.features.includes('bypass_gateway_compatible'));
  out.push(
    masquerades
      ? "# In redir-host mode, `uci set openclash.config.common_ports='1'` together with"
      : "# In redir-host mode, `uci set openclash.config.common_ports='1'` also spares the replies",
    ...(masquerades ? ["# `uci set openclash.config.bypass_gateway_compatible='0'` also spares the replies"] : []),
    '# (it matches the destination port, which for a reply is the client’s ephemeral port) — but then',
    '# only those common ports are proxied for the LAN. Not available in fake-ip mode.',
  );
  return out;
}

export function planGuard(input: GuardInput): GuardPlan {
  const base = stripGuard(input.ruleset);
  const proxies = recognizeProxies(base);
  const packets = guardPackets(input);
  const scope = input.forwards.length > 0 ? 'forwards' : 'lan';
  const useNftNat = input.natBackend === 'nft' || (input.natBackend !== 'iptables' && base.sources.includes('nft'));
  const notes: string[] = [];
  const noted = new Set<string>();
  const note = (n: string) => {
    if (noted.has(n)) return;
    noted.add(n);
    notes.push(n);
  };
  const byName = forwardsByName(input);
  const steps: GuardStep[] = [];
  const seen = new Set<string>();
  const before = checkPackets(base, packets, input.iif);
  if (packets.length === 0) notes.push('no forward declared and no IPv4 LAN subnet known: nothing to check');
  let current = before;
  for (let round = 0; round < 4; round++) {
    let added = false;
    for (const { check, ev } of current) {
      const masq = ev && check.masqueraded !== undefined ? masqueradedBy(ev, proxies) : null;
      if (masq && useNftNat) {
        const fam: 4 | 6 = check.from.startsWith('[') ? 6 : 4;
        for (const src of sourcesFor(input, byName, fam, check.proto, check.forward))
          for (const st of snatStepsNft(src, masq.proxy, `${masq.proxy.label} (${hopText(masq.hop)})`)) {
            const k = stepKey(st);
            if (seen.has(k)) continue;
            seen.add(k);
            steps.push(st);
            added = true;
          }
      } else if (masq) {
        const n = `${check.forward} ${check.kind}: masqueraded by ${hopText(masq.hop)}; without nft there is no guard for it (turn the proxy's masquerade off, e.g. OpenClash bypass_gateway_compatible)`;
        note(n);
      }
      if (!swallowed(check) || !ev) continue;
      const outcome = ev.outcomes.find((o) => o.verdict === 'proxied');
      if (!outcome) continue;
      const fam: 4 | 6 = check.from.startsWith('[') ? 6 : 4;
      const target = chainToGuard(base, proxies, outcome.path);
      if (!target) {
        const n = `${check.forward} ${check.kind}: swallowed by ${hopText(outcome.responsible) ?? 'a rule'}, which no recognised proxy owns — not guarded (replyguard never touches chains it did not recognise)`;
        note(n);
        continue;
      }
      const inChain = outcome.how?.kind !== 'redirect' || !useNftNat;
      const { family, name } = target.table;
      if (inChain && target.table.backend === 'nft' && ![family, name, target.hop.chain].every(isNftName)) {
        const n = `${check.forward} ${check.kind}: swallowed in chain ${JSON.stringify(target.hop.chain)} of table ${JSON.stringify(`${family} ${name}`)}, whose name cannot be written into an nft script safely — not guarded`;
        note(n);
        continue;
      }
      const by = `${target.proxy.label} (${hopText(outcome.responsible) ?? target.hop.chain})`;
      const srcs = sourcesFor(input, byName, fam, check.proto, check.forward);
      const newSteps: GuardStep[] = [];
      for (const src of srcs) {
        if (outcome.how?.kind === 'redirect') {
          if (useNftNat) newSteps.push(...natStepsNft(src, target.proxy, by));
          else newSteps.push(...inChainSteps(src, target, 'nat', by));
        } else newSteps.push(...inChainSteps(src, target, 'mangle', by));
      }
      for (const s of newSteps) {
        const k = stepKey(s);
        if (seen.has(k)) continue;
        seen.add(k);
        steps.push(s);
        added = true;
      }
    }
    if (!added) break;
    current = checkPackets(simulateGuard(base, withTable(steps)), packets, input.iif);
  }
  const all = withTable(steps);
  const after = steps.length > 0 ? checkPackets(simulateGuard(base, all), packets, input.iif) : before;
  const stillSwallowed = after.filter((c) => swallowed(c.check));
  for (const c of stillSwallowed)
    notes.push(
      `${c.check.forward} ${c.check.kind} (${c.check.from} → ${c.check.to}) would still be ${c.check.masqueraded ? `masqueraded by ${c.check.masqueraded}` : `${c.check.verdict}${c.check.by ? ` by ${c.check.by}` : ''}`}`,
    );
  const synBefore = before.find((c) => c.check.kind === 'lan-syn');
  const synAfter = after.find((c) => c.check.kind === 'lan-syn');
  if (synBefore && synAfter && synBefore.check.verdict !== synAfter.check.verdict)
    notes.push(
      `a LAN host's own new connection would change from ${synBefore.check.verdict} to ${synAfter.check.verdict}`,
    );
  const swallowedBefore = before.some((c) => swallowed(c.check));
  return {
    status: all.length > 0 ? 'ok' : swallowedBefore ? 'not-applicable' : 'nothing-to-do',
    scope,
    proxies: proxies.map((p) => ({ name: p.name, label: p.label, mode: p.mode, backend: p.backend })),
    steps: all,
    before: before.map((c) => c.check),
    after: after.map((c) => c.check),
    notes,
    native: all.length > 0 ? nativeAlternative(proxies, input) : [],
  };
}
