// Shared by the live tests of `replyguard explain`, `diagnose` and `trace`: the
// JSON documents they print, and running them in a lab's side-router namespace.

import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RiskFinding } from '../../src/detector/predict-risk';
import type { ExecResult, Lab } from '../lab/lab';
import { BUNDLE, labConfig } from './daemon';

/** `replyguard explain --json`. */
export interface ExplainReport {
  verdict: string;
  certain: boolean;
  how: { kind: string; port?: number; addr?: string; device?: string; table?: string; mark?: number } | null;
  proxy: { name: string } | null;
  responsible: {
    chain: string;
    table: string;
    text: string;
    backend: string;
    handle: number | null;
    effect: string;
  } | null;
  path: {
    backend: string;
    table: string;
    chain: string;
    position: number | null;
    handle: number | null;
    text: string;
    effect: string;
  }[];
  packet: { flags: string | null; ct_state: string; in: string };
}

/** `replyguard diagnose --json`. */
export interface DiagnoseDoc {
  health: string;
  proxy: { name: string } | null;
  forwards: { name: string; status: string; finding?: string }[];
  findings: RiskFinding[];
}

export interface TraceHopDoc {
  table: string;
  chain: string;
  kind?: string;
  handle?: number;
  text: string;
  verdict: string;
}

/** `replyguard trace --json`. */
export interface TraceDoc {
  agree: boolean | null;
  packets: number;
  table_removed: boolean;
  kinds: {
    kind: string;
    packets: number;
    example: {
      path: TraceHopDoc[];
      fate: { diverted?: TraceHopDoc; marked?: TraceHopDoc };
    };
    comparison: { agree: boolean; traced: string; explained: string; why: string[] } | null;
    explain: {
      verdict: string;
      how: { kind: string; port?: number } | null;
      responsible?: { table: string; chain: string; handle: number | null } | null;
    } | null;
  }[];
}

/** Runs the bundle in the lab's side-router namespace. */
export function rgIn(lab: Lab): (args: string[], timeoutMs?: number) => Promise<ExecResult> {
  return (args, timeoutMs = 20_000) => lab.exec(lab.ns.side, [process.execPath, BUNDLE, ...args], { timeoutMs });
}

/** `nft list tables` in the side router (to check that no replyguard_trace table is left). */
export async function sideTables(lab: Lab): Promise<string> {
  return (await lab.exec(lab.ns.side, ['nft', 'list', 'tables'])).stdout;
}

/**
 * Writes the lab's INI (forwards 'nas' tcp and 'wg' udp) to dir/replyguard.ini, with a state_dir of
 * its own under /var/run that no daemon writes (diagnose reads a daemon's status.json from there if
 * any; state_dir may only name one directory under /var/run); returns the path.
 */
export function writeDiagnoseConfig(lab: Lab, dir: string): string {
  const configPath = join(dir, 'replyguard.ini');
  writeFileSync(configPath, labConfig(lab, { main: { state_dir: join('/var/run', `rg-test-${basename(dir)}`) } }));
  return configPath;
}
