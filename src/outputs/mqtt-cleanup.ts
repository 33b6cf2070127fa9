// MQTT switched off since the last run: clear what that run left retained on
// the broker (discovery configs, so HA removes the entities, and the state
// topics), then forget it. Runs in the background with the usual backoff;
// detection never waits for it.

import { isOwnDiscoveryPayload } from '../mqtt/ha-discovery';
import type { MqttSettings } from '../mqtt/mqtt-settings';
import { Topics } from '../mqtt/mqtt-topics';
import type { Logger } from '../system/log';
import { forgetAnnounced, readAnnounced } from './mqtt-announced';
import { MqttConnection } from './mqtt-connection';

export interface RetainedCleanup {
  /** Resolves when the topics were cleared. */
  done: Promise<void>;
  stop(): Promise<void>;
}

const COLLECT_WINDOW_MS = 1500;

/** Undefined when nothing is remembered in stateDir (never announced, or already cleared). */
export function startRetainedCleanup(
  settings: MqttSettings,
  stateDir: string,
  log: Logger,
  backoffMs?: number[],
): RetainedCleanup | undefined {
  const roots = readAnnounced(stateDir);
  if (!roots) return undefined;
  const topics = new Topics(roots);
  const found = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const conn: MqttConnection = new MqttConnection({
    settings,
    subscriptions: [topics.discoveryWildcard, topics.rootWildcard],
    log,
    onConnect: () => {
      clearTimeout(timer);
      // Retained messages arrive right after SUBACK; give them a moment, then clear all of them.
      timer = setTimeout(() => {
        found.add(topics.availability);
        const last = [...found].map((topic) => ({ topic, payload: '', retain: true }));
        void conn.stop(last).then(() => {
          forgetAnnounced(stateDir);
          log.info(`mqtt: switched off: cleared ${last.length} retained topics below ${topics.root} and its discovery`);
          finish();
        });
      }, COLLECT_WINDOW_MS);
    },
    onMessage: (topic, payload, retain) => {
      if (!retain || payload.length === 0) return;
      if (topics.isOwnDiscoveryTopic(topic) && !isOwnDiscoveryPayload(payload.toString('utf8'), roots.nodeId)) return;
      found.add(topic);
    },
    onStateChange: () => {},
    ...(backoffMs ? { backoffMs } : {}),
  });
  log.info(`mqtt: switched off since the last run: clearing its retained topics on ${conn.broker}`);
  conn.start();
  return {
    done,
    stop: async () => {
      clearTimeout(timer);
      await conn.stop();
    },
  };
}
