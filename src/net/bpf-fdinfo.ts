// Pure reader of /proc/PID/fdinfo/FD for a BPF program's file descriptor: its type and id. A loader
// that keeps running (dae does) holds its programs' descriptors; without `tc` this is how the router
// can still tell that a traffic-control program is loaded, and by whom.

/** BPF_PROG_TYPE_SCHED_CLS and _SCHED_ACT (include/uapi/linux/bpf.h): the programs tc runs. */
export const TC_PROGRAM_TYPES: ReadonlySet<number> = new Set([3, 4]);

export interface BpfProgramInfo {
  type: number;
  id?: number;
}

/** undefined when the text is not a BPF program's fdinfo. */
export function parseBpfFdinfo(text: string): BpfProgramInfo | undefined {
  const type = /^prog_type:\s*(\d+)\s*$/m.exec(text);
  if (!type) return undefined;
  const info: BpfProgramInfo = { type: Number(type[1]) };
  const id = /^prog_id:\s*(\d+)\s*$/m.exec(text);
  if (id) info.id = Number(id[1]);
  return info;
}
