// Remembers, in the state directory, which topic roots this router announced
// on, so that a later start with MQTT switched off knows what to clear even
// if the prefixes or the node id changed meanwhile. No secrets are stored.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopicRoots } from '../mqtt/mqtt-topics';
import type { Logger } from '../system/log';
import { ensureStateDir } from '../system/state-dir';

const FILE = 'mqtt-announced.json';

export function announcedPath(stateDir: string): string {
  return join(stateDir, FILE);
}

export function readAnnounced(stateDir: string): TopicRoots | undefined {
  try {
    const v = JSON.parse(readFileSync(announcedPath(stateDir), 'utf8')) as Partial<TopicRoots>;
    if (typeof v.discoveryPrefix === 'string' && typeof v.baseTopic === 'string' && typeof v.nodeId === 'string') {
      return { discoveryPrefix: v.discoveryPrefix, baseTopic: v.baseTopic, nodeId: v.nodeId };
    }
  } catch {
    // absent or unreadable: nothing remembered
  }
  return undefined;
}

export function rememberAnnounced(stateDir: string, roots: TopicRoots, log: Logger): void {
  const text = `${JSON.stringify(roots)}\n`;
  try {
    if (readAnnouncedText(stateDir) === text) return;
    ensureStateDir(stateDir);
    const tmp = `${announcedPath(stateDir)}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, announcedPath(stateDir));
  } catch (err) {
    log.warn(`mqtt: cannot remember the announced topics in ${stateDir}: ${(err as Error).message}`);
  }
}

export function forgetAnnounced(stateDir: string): void {
  rmSync(announcedPath(stateDir), { force: true });
}

function readAnnouncedText(stateDir: string): string | undefined {
  try {
    return readFileSync(announcedPath(stateDir), 'utf8');
  } catch {
    return undefined;
  }
}
