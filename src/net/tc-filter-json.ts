// Pure parser for `tc -j filter show dev IF ingress`: the BPF programs attached to an interface's
// ingress hook. tc prints each filter twice, a header without options and the filter with them.

import { jsonArray } from '../util/json-array';

export interface TcBpfFilter {
  pref: number;
  /** The name the filter was given (TCA_BPF_NAME: a loader's own name, or "file:[section]"). */
  filterName?: string;
  /** The kernel's name of the program (15 characters at most). */
  programName?: string;
  programId?: number;
  directAction: boolean;
  /** Classic BPF bytecode rather than an eBPF program. */
  classic: boolean;
}

export function parseTcFilterJson(text: string): TcBpfFilter[] {
  // An interface without a clsact or ingress qdisc: tc prints nothing at all.
  if (text.trim() === '') return [];
  const data = jsonArray(text);
  if (typeof data === 'string') throw new Error(`tc -j filter: ${data}`);
  const out: TcBpfFilter[] = [];
  for (const item of data) {
    if (typeof item !== 'object' || item === null) continue;
    const rec = item as Record<string, unknown>;
    if (rec.kind !== 'bpf' || typeof rec.options !== 'object' || rec.options === null) continue;
    const opt = rec.options as Record<string, unknown>;
    const prog = typeof opt.prog === 'object' && opt.prog !== null ? (opt.prog as Record<string, unknown>) : {};
    const f: TcBpfFilter = {
      pref: typeof rec.pref === 'number' ? rec.pref : 0,
      directAction: opt['direct-action'] === true,
      classic: typeof opt.bytecode === 'object' && opt.bytecode !== null,
    };
    if (typeof opt.bpf_name === 'string') f.filterName = opt.bpf_name;
    if (typeof prog.name === 'string') f.programName = prog.name;
    if (typeof prog.id === 'number') f.programId = prog.id;
    out.push(f);
  }
  return out;
}
