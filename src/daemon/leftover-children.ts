// Children outliving a SIGKILL: procd sends SIGKILL 10 s after a SIGTERM that
// hangs, and `conntrack -E`, `nft monitor` and `tc monitor` (which never read their stdin)
// then live on under init until they next write. The daemon keeps the pids of
// its children in the state directory, each with the process's
// start time and name from /proc; the next start ends those that are still the
// same processes (a reused pid has another start time), and nothing else.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../system/log';
import { ensureStateDir } from '../system/state-dir';

export const CHILDREN_FILE = 'children.pids';
/** How long the leftovers get to end after SIGTERM before SIGKILL. */
const TERM_GRACE_MS = 1000;

export interface ChildRecord {
  pid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22): tells a reused pid apart. */
  start: string;
  /** The command name (/proc/PID/comm). */
  name: string;
}

/** The record of a live process, or undefined when it is gone (or /proc cannot tell). */
export function processRecord(pid: number): ChildRecord | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[19];
    if (start === undefined || fields[0] === 'Z') return undefined;
    return { pid, start, name: readFileSync(`/proc/${pid}/comm`, 'utf8').trim() };
  } catch {
    return undefined;
  }
}

/** Writes the records of `pids` (those alive) to the state directory; [] removes the file. */
export function rememberChildren(stateDir: string, pids: readonly number[]): void {
  const file = join(stateDir, CHILDREN_FILE);
  const records = pids.map(processRecord).filter((r): r is ChildRecord => r !== undefined);
  if (records.length === 0) {
    rmSync(file, { force: true });
    return;
  }
  ensureStateDir(stateDir);
  const tmp = `${file}.tmp`;
  rmSync(tmp, { force: true });
  try {
    writeFileSync(tmp, `${records.map((r) => `${r.pid} ${r.start} ${r.name}`).join('\n')}\n`, { flag: 'wx' });
    renameSync(tmp, file);
  } catch (err) {
    // A full disk: no half-written file stays behind.
    rmSync(tmp, { force: true });
    throw err;
  }
}

function readRecords(stateDir: string): ChildRecord[] {
  let text: string;
  try {
    text = readFileSync(join(stateDir, CHILDREN_FILE), 'utf8');
  } catch {
    return [];
  }
  const out: ChildRecord[] = [];
  // Bounded: a daemon has a handful of children; anything longer is not our file.
  for (const line of text.split('\n').slice(0, 64)) {
    const m = /^(\d{1,9}) (\d{1,20}) ([^\n]{1,16})$/.exec(line);
    if (m) out.push({ pid: Number(m[1]), start: m[2]!, name: m[3]! });
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Ends the processes an earlier run left (SIGTERM, then SIGKILL), those that are still the very
 * processes recorded; returns their pids. Never the caller itself or its own children.
 */
export async function endLeftoverChildren(stateDir: string, log: Logger): Promise<number[]> {
  const alive = () =>
    readRecords(stateDir).filter((r) => {
      if (r.pid === process.pid || r.pid <= 1) return false;
      const now = processRecord(r.pid);
      return now !== undefined && now.start === r.start && now.name === r.name;
    });
  const found = alive();
  const signal = (list: ChildRecord[], sig: NodeJS.Signals) => {
    for (const r of list) {
      try {
        process.kill(r.pid, sig);
      } catch {
        // gone meanwhile
      }
    }
  };
  signal(found, 'SIGTERM');
  for (let waited = 0; waited < TERM_GRACE_MS && alive().length > 0; waited += 50) await sleep(50);
  signal(alive(), 'SIGKILL');
  rmSync(join(stateDir, CHILDREN_FILE), { force: true });
  if (found.length > 0)
    log.warn(
      `ended ${found.length} process(es) an earlier run left behind: ${found.map((r) => `${r.name} (${r.pid})`).join(', ')}`,
    );
  return found.map((r) => r.pid);
}
