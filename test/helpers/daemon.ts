// Runs the built daemon (dist/replyguard.js) inside a lab's side-router
// namespace and reads what it writes.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusDocument } from '../../src/status/status-document';
import type { Lab } from '../lab/lab';

export const BUNDLE = join(__dirname, '..', '..', 'dist', 'replyguard.js');

export interface RunningDaemon {
  dir: string;
  stateDir: string;
  configPath: string;
  child: ChildProcess;
  log: () => string;
  status: () => StatusDocument | undefined;
  waitFor: (what: string, pred: (s: StatusDocument) => boolean, timeoutMs?: number) => Promise<StatusDocument>;
  stop: () => Promise<number | null>;
}

export function labConfig(lab: Lab, extra = ''): string {
  return `[main]
lan_interfaces = br-lan
log_level = debug
[forward.nas]
host = ${lab.addr.server}
port = ${lab.forward.serverPort}
proto = tcp
wan_port = ${lab.forward.wanPort}
[forward.wg]
host = ${lab.addr.server}
port = ${lab.forward.udpServerPort}
proto = udp
${extra}`;
}

export async function startDaemon(lab: Lab, configText = labConfig(lab)): Promise<RunningDaemon> {
  const dir = mkdtempSync(join(tmpdir(), `rg-daemon-${lab.id}-`));
  const stateDir = join(dir, 'state');
  const configPath = join(dir, 'replyguard.ini');
  writeFileSync(configPath, configText);
  const child = lab.spawn(lab.ns.side, [
    process.execPath,
    BUNDLE,
    'run',
    '--config',
    configPath,
    '--state-dir',
    stateDir,
  ]);
  let log = '';
  child.stdout?.on('data', (b: Buffer) => {
    log += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    log += b.toString();
  });
  const status = (): StatusDocument | undefined => {
    try {
      return JSON.parse(readFileSync(join(stateDir, 'status.json'), 'utf8')) as StatusDocument;
    } catch {
      return undefined;
    }
  };
  const waitFor = async (what: string, pred: (s: StatusDocument) => boolean, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = status();
      if (s && pred(s)) return s;
      if (Date.now() > deadline) {
        assert.fail(`timed out waiting for ${what}\nstatus: ${JSON.stringify(s, null, 1)}\ndaemon log:\n${log}`);
      }
      if (child.exitCode !== null) assert.fail(`daemon exited (${child.exitCode}) waiting for ${what}\n${log}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const done = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const code = await Promise.race([done, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
    rmSync(dir, { recursive: true, force: true });
    return code;
  };
  await waitFor('the conntrack sensor to run', (s) => s.sensors.conntrack.state === 'running');
  return { dir, stateDir, configPath, child, log: () => log, status, waitFor, stop };
}

export function hijacksOf(s: StatusDocument, server?: string) {
  return s.findings.filter((f) => f.kind === 'reply_hijacked' && (server === undefined || f.server === server));
}
