// Runs the built daemon (dist/replyguard.js) inside a lab's side-router
// namespace and reads what it writes.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusDocument } from '../../src/status/status-schema';
import type { Lab } from '../lab/lab';

export const BUNDLE = join(__dirname, '..', '..', 'dist', 'replyguard.js');

/** A daemon process followed by a test: its log, its status.json, waits on both, a clean stop. */
export interface DaemonFollower {
  stateDir: string;
  child: ChildProcess;
  log: () => string;
  status: () => StatusDocument | undefined;
  waitFor: (what: string, pred: (s: StatusDocument) => boolean, timeoutMs?: number) => Promise<StatusDocument>;
  waitLog: (re: RegExp, timeoutMs?: number) => Promise<void>;
  /** SIGTERM, then SIGKILL to its process group after a grace time; resolves with the exit code (null if killed). */
  stop: () => Promise<number | null>;
}

export interface RunningDaemon extends DaemonFollower {
  dir: string;
  configPath: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function followDaemon(child: ChildProcess, stateDir: string, onStopped?: () => void): DaemonFollower {
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
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const waitFor = async (what: string, pred: (s: StatusDocument) => boolean, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = status();
      if (s && pred(s)) return s;
      if (Date.now() > deadline) {
        assert.fail(`timed out waiting for ${what}\nstatus: ${JSON.stringify(s, null, 1)}\ndaemon log:\n${log}`);
      }
      if (exited()) assert.fail(`daemon exited (${child.exitCode ?? child.signalCode}) waiting for ${what}\n${log}`);
      await sleep(10);
    }
  };
  const waitLog = async (re: RegExp, timeoutMs = 8000) => {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(log)) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for log ${re}\n${log}`);
      await sleep(20);
    }
  };
  const stop = async (): Promise<number | null> => {
    if (!exited()) {
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await Promise.race([done, sleep(8000)]);
      if (!exited()) {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
        await Promise.race([done, sleep(2000)]);
      }
    }
    onStopped?.();
    return child.exitCode;
  };
  return { stateDir, child, log: () => log, status, waitFor, waitLog, stop };
}

export interface LabConfigOptions {
  /** More `[main]` options, e.g. { probe: 'on', problem_hold: 3 }. */
  main?: Record<string, string | number>;
  /** Also declare the lab's plain TCP forward (9080 → 8080). */
  plainForward?: boolean;
  /** Sections appended as they are, e.g. an `[mqtt]` section. */
  extra?: string;
}

/** The config every lab test starts from: LAN br-lan, the lab's forwards, debug logs. */
export function labConfig(lab: Lab, opts: LabConfigOptions = {}): string {
  const main = Object.entries(opts.main ?? {}).map(([k, v]) => `${k} = ${v}\n`);
  const forward = (name: string, port: number, proto: string, wanPort: number) =>
    `[forward.${name}]\nhost = ${lab.addr.server}\nport = ${port}\nproto = ${proto}\nwan_port = ${wanPort}\n`;
  return [
    `[main]\nlan_interfaces = br-lan\nlog_level = debug\n${main.join('')}`,
    forward('nas', lab.forward.serverPort, 'tcp', lab.forward.wanPort),
    forward('wg', lab.forward.udpServerPort, 'udp', lab.forward.udpWanPort),
    opts.plainForward ? forward('plain', lab.forward.plainServerPort, 'tcp', lab.forward.plainWanPort) : '',
    opts.extra ?? '',
  ].join('');
}

export interface StartOptions {
  /** The child's environment (default: the lab's, i.e. this process's minus proxies). */
  env?: NodeJS.ProcessEnv;
  /** A directory made by the caller for config and state (removed on stop either way). */
  dir?: string;
  /** The node binary to run the bundle with (default: the one running the tests). */
  node?: string;
}

/** Starts the bundle in the lab's side-router namespace and waits until its conntrack sensor runs. */
export async function startDaemon(
  lab: Lab,
  configText = labConfig(lab),
  opts: StartOptions = {},
): Promise<RunningDaemon> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `rg-daemon-${lab.id}-`));
  const stateDir = join(dir, 'state');
  const configPath = join(dir, 'replyguard.ini');
  writeFileSync(configPath, configText);
  const argv = [opts.node ?? process.execPath, BUNDLE, 'run', '--config', configPath, '--state-dir', stateDir];
  const child = lab.spawn(lab.ns.side, argv, opts.env ? { env: opts.env } : undefined);
  const daemon = followDaemon(child, stateDir, () => rmSync(dir, { recursive: true, force: true }));
  await daemon.waitFor('the conntrack sensor to run', (s) => s.sensors.conntrack.state === 'running');
  return { ...daemon, dir, configPath };
}

export function hijacksOf(s: StatusDocument, server?: string) {
  return s.findings.filter((f) => f.kind === 'reply_hijacked' && (server === undefined || f.server === server));
}
