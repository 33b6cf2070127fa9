// Last-resort cleanup for labs whose owner never reached destroy(): a crashed
// test, an uncaught exception, Ctrl-C. Only resources registered by this very
// process are touched; namespaces made by other processes (parallel test files)
// are never looked at.

import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

/** Everything one lab owns outside the Node heap. Filled in as it is created. */
export interface LabResources {
  namespaces: string[];
  /** Running children (long-lived services and in-flight commands); each leads its own process group. */
  children: Set<ChildProcess>;
  /** Booted OpenWrt side routers: killing PID 1 ends all they run. */
  rigs: Set<{ pid: number; netnsName: string }>;
  tmpDir?: string;
}

const live = new Set<LabResources>();
let hooksInstalled = false;

export function trackLab(resources: LabResources): void {
  installHooks();
  live.add(resources);
}

export function untrackLab(resources: LabResources): void {
  live.delete(resources);
}

/** Sends `signal` to the child's whole process group, falling back to the child alone. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Synchronous, best effort: usable from an 'exit' handler where nothing async runs. */
export function cleanupSync(resources: LabResources): void {
  for (const rig of resources.rigs) {
    try {
      process.kill(rig.pid, 'SIGKILL');
    } catch {}
    spawnSync('ip', ['netns', 'del', rig.netnsName], { stdio: 'ignore', timeout: 5000 });
  }
  resources.rigs.clear();
  for (const child of resources.children) killGroup(child, 'SIGKILL');
  resources.children.clear();
  for (const ns of resources.namespaces) {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 });
  }
  if (resources.tmpDir) rmSync(resources.tmpDir, { recursive: true, force: true });
}

function cleanupAllSync(): void {
  for (const resources of live) cleanupSync(resources);
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  cleanupAllSync();
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  // Every listener already ran for this signal; re-raise only when nobody else
  // handles it, so the process still dies the way the sender intended.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupAllSync);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
