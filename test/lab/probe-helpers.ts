import { existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusDocument } from '../../src/status/status-schema';
import { labConfig, type RunningDaemon, startDaemon } from '../helpers/daemon';
import type { Lab } from './lab';

export interface ProbeDaemonOptions {
  probe?: 'auto' | 'on' | 'off';
  intervalS?: number;
}

/** The lab's forwards (TLS, UDP "WireGuard", plain TCP) and the probe options. */
export function probeConfig(lab: Lab, opts: ProbeDaemonOptions = {}): string {
  return labConfig(lab, {
    main: { probe: opts.probe ?? 'on', probe_interval: opts.intervalS ?? 2 },
    plainForward: true,
  });
}

/** Starts the daemon in the side namespace and waits until its probe reads counters (unless it is off). */
export async function startProbeDaemon(lab: Lab, opts: ProbeDaemonOptions = {}): Promise<RunningDaemon> {
  const daemon = await startDaemon(lab, probeConfig(lab, opts));
  if ((opts.probe ?? 'on') !== 'off') {
    await daemon.waitFor('the probe to run', (s) => s.sensors.probe?.state === 'running', 5000);
  }
  return daemon;
}

/** `nft list tables` in the side router, one "family name" per table. */
export async function sideTables(lab: Lab): Promise<string[]> {
  const r = await lab.exec(lab.ns.side, ['nft', 'list', 'tables']);
  if (r.code !== 0) throw new Error(`nft list tables: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .map((l) => l.replace(/^table /, '').trim())
    .filter((l) => l !== '');
}

export function activeHijacks(s: StatusDocument, server?: string) {
  return s.findings.filter(
    (f) => f.kind === 'reply_hijacked' && f.state === 'active' && (server === undefined || f.server === server),
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the daemon where `nft` cannot be found (a fw3-only router): PATH holds only links to
 * conntrack, ip, iptables(-save/-restore) and ipset. The probe then falls back to iptables + ipset.
 */
export async function startFw3Daemon(lab: Lab, opts: ProbeDaemonOptions = {}): Promise<RunningDaemon> {
  const dir = mkdtempSync(join(tmpdir(), `rg-fw3-${lab.id}-`));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of ['conntrack', 'ip', 'iptables', 'iptables-save', 'iptables-restore', 'ipset']) {
    const found = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
    if (found) symlinkSync(found, join(bin, tool));
  }
  // The lab adds /usr/sbin to a PATH that lacks it; this one names it (a directory that does not exist).
  const env = { PATH: `${bin}:/usr/bin:/bin:/nonexistent/usr/sbin`, HOME: dir };
  const daemon = await startDaemon(lab, probeConfig(lab, opts), { env, dir });
  await daemon.waitFor('the probe to run on iptables', (s) => s.sensors.probe?.state === 'running', 8000);
  return daemon;
}
