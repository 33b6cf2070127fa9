// One reading of the probe's counters, as the detector takes it. Pure.

import type { ProbeSetDump } from './probe-json';

/** Packets of one reply flow (server ip:port → peer ip:port) counted where they entered and where they left. */
export interface ProbeFlowCount {
  proto: 'tcp' | 'udp';
  server: string;
  serverPort: number;
  peer: string;
  peerPort: number;
  in: number;
  out: number;
}

export interface ProbeSample {
  /** When the counters were read (ms). */
  at: number;
  /** Counts restart from zero when the table is installed again; this tells the installs apart. */
  generation: number;
  flows: ProbeFlowCount[];
  /** A counting set holds as many elements as its cap: flows missing from it are not judged. */
  inFull: boolean;
  outFull: boolean;
}

export function flowKey(f: { proto: string; server: string; serverPort: number; peer: string; peerPort: number }) {
  return `${f.proto} ${f.server} ${f.serverPort} ${f.peer} ${f.peerPort}`;
}

/** Joins the in and out sets of a dump by flow. */
export function sampleFromDump(
  dump: { sets: Record<string, ProbeSetDump> },
  sets: { in: readonly string[]; out: readonly string[] },
  at: number,
  generation: number,
): ProbeSample {
  const flows = new Map<string, ProbeFlowCount>();
  let inFull = false;
  let outFull = false;
  for (const dir of ['in', 'out'] as const) {
    for (const name of sets[dir]) {
      const set = dump.sets[name];
      if (!set) continue;
      if (set.size !== undefined && set.elements.length + set.skipped >= set.size) {
        if (dir === 'in') inFull = true;
        else outFull = true;
      }
      for (const e of set.elements) {
        const key = flowKey(e);
        let flow = flows.get(key);
        if (!flow) {
          flow = { ...e, in: 0, out: 0 };
          delete (flow as Partial<{ packets: number }>).packets;
          flows.set(key, flow);
        }
        flow[dir] += e.packets;
      }
    }
  }
  return { at, generation, flows: [...flows.values()], inFull, outFull };
}
