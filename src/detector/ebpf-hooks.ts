// Programs that see the LAN's packets before netfilter does: tc BPF filters on a LAN interface's
// ingress (found with tc), or traffic-control programs held by a known eBPF proxy's process (found
// in /proc where the router has no tc). What they take, replyguard's sensors never see.

import type { BpfProgramInfo } from '../net/bpf-fdinfo';
import type { TcBpfFilter } from '../net/tc-filter-json';
import { EBPF_PROXIES, type EbpfProxy } from '../proxies/dae';

export interface EbpfHook {
  /** The interface whose ingress runs it; absent when found by its process (without tc, where is unknown). */
  interface?: string;
  /** The filter's or the program's name as tc or the kernel gives it. */
  program: string;
  /** The eBPF proxy it belongs to, when recognised. */
  proxy?: string;
  process?: { name: string; pid: number };
  /** On the replies' way (a LAN ingress, or a known proxy's program): what it takes cannot be watched. */
  blind: boolean;
}

function proxyOfFilter(f: TcBpfFilter): EbpfProxy | undefined {
  return EBPF_PROXIES.find(
    (p) =>
      p.filterNames.some((n) => f.filterName?.startsWith(n)) ||
      p.programNames.some((n) => f.programName?.startsWith(n)),
  );
}

function filterLabel(f: TcBpfFilter): string {
  if (f.filterName) return f.filterName;
  if (f.programName) return f.programName;
  if (f.classic) return 'classic BPF bytecode';
  return f.programId !== undefined ? `program id ${f.programId}` : 'a BPF program';
}

/** Every BPF filter on a LAN interface's ingress is a blind spot, whoever put it there. */
export function hooksFromTc(readings: ReadonlyArray<{ ifname: string; filters: readonly TcBpfFilter[] }>): EbpfHook[] {
  const out: EbpfHook[] = [];
  for (const r of readings) {
    for (const f of r.filters) {
      const hook: EbpfHook = { interface: r.ifname, program: filterLabel(f), blind: true };
      const proxy = proxyOfFilter(f);
      if (proxy) hook.proxy = proxy.label;
      out.push(hook);
    }
  }
  return out;
}

export interface ProcessProgram {
  pid: number;
  comm: string;
  program: BpfProgramInfo;
}

/**
 * Traffic-control programs held by processes. Only a known eBPF proxy's count as blind spots: others
 * (qosify, for one, shapes the WAN) are listed, and where they sit is unknown without tc.
 */
export function hooksFromProcesses(found: readonly ProcessProgram[]): EbpfHook[] {
  const byPid = new Map<number, ProcessProgram[]>();
  for (const p of found) byPid.set(p.pid, [...(byPid.get(p.pid) ?? []), p]);
  const out: EbpfHook[] = [];
  for (const [pid, list] of byPid) {
    const comm = list[0]!.comm;
    const proxy = EBPF_PROXIES.find((p) => p.processes.includes(comm));
    // One program may be held by several descriptors.
    const ids = [...new Set(list.map((p) => p.program.id).filter((id): id is number => id !== undefined))].sort(
      (x, y) => x - y,
    );
    const count = Math.max(ids.length, 1);
    const hook: EbpfHook = {
      program: `${count} tc program${count === 1 ? '' : 's'}${ids.length > 0 ? ` (id ${ids.join(', ')})` : ''}`,
      process: { name: comm, pid },
      blind: proxy !== undefined,
    };
    if (proxy) hook.proxy = proxy.label;
    out.push(hook);
  }
  return out.sort((a, b) => (a.process?.pid ?? 0) - (b.process?.pid ?? 0));
}

function hookPhrase(h: EbpfHook): string {
  const who = h.proxy ? `${h.proxy}'s ` : '';
  if (h.interface) return `${who}${h.program} on ${h.interface} ingress`;
  return `${who}${h.program} held by ${h.process?.name ?? '?'} (pid ${h.process?.pid ?? '?'}; without tc, where it is attached cannot be read)`;
}

/** The sentence status, the CLI and Home Assistant show for blind spots; undefined when there are none. */
export function blindSpotText(hooks: readonly EbpfHook[]): string | undefined {
  const blind = hooks.filter((h) => h.blind);
  if (blind.length === 0) return undefined;
  return (
    `eBPF before netfilter: ${blind.map(hookPhrase).join('; ')}. ` +
    'Replies it takes never reach conntrack, the ruleset or the probe, so replyguard cannot see them.'
  );
}
