// Shows the daemon's status in MQTT / Home Assistant: availability with a will,
// retained discovery and state, non-retained events, the "Re-check now" button.
// Follows the zigbee2mqtt pattern: everything retained is republished on every
// connect (a broker without persistence forgets it) and again, after a small
// random delay, when Home Assistant announces `online` on its status topic.

import {
  discoveryInputFor,
  discoveryMessages,
  GUARD_OFF,
  GUARD_ON,
  isOwnDiscoveryPayload,
  RECHECK_PAYLOAD,
  type RouterInfo,
} from '../mqtt/ha-discovery';
import type { MqttSettings } from '../mqtt/mqtt-settings';
import { eventPayload, stateMessages } from '../mqtt/mqtt-state';
import { Topics } from '../mqtt/mqtt-topics';
import type { StatusEvent } from '../status/status-events';
import type { MqttOutputStatus, StatusDocument } from '../status/status-schema';
import type { Logger } from '../system/log';
import { quotedInput } from '../util/input-text';
import { forgetAnnounced, rememberAnnounced } from './mqtt-announced';
import { MqttConnection, type OutgoingMessage } from './mqtt-connection';
import type { StatusOutput } from './status-output';

export interface MqttOutputOptions {
  settings: MqttSettings;
  version: string;
  router: RouterInfo;
  log: Logger;
  /** Where the announced topics are remembered, so that switching MQTT off can clear them later. */
  stateDir: string;
  /** The "Re-check now" button. */
  onRecheck: () => void;
  /** The Guard switch: 'auto' for ON, 'off' for OFF. */
  onGuardMode: (mode: 'auto' | 'off') => void;
  /** The output's own state changed: status.json should be rewritten. */
  onStatusChange: () => void;
  /** Delay before re-announcing after HA's birth message, [min, max) ms. */
  announceDelayMs?: [number, number];
  /** How long retained configs are collected after connecting before stale ones are cleared. */
  sweepWindowMs?: number;
  backoffMs?: number[];
}

const DEFAULT_ANNOUNCE_DELAY_MS: [number, number] = [1000, 5000];
const DEFAULT_SWEEP_WINDOW_MS = 1500;

export class MqttOutput implements StatusOutput {
  readonly name = 'mqtt';
  private readonly topics: Topics;
  private readonly conn: MqttConnection;
  private doc?: StatusDocument;
  /** Payloads sent on the current connection, by topic: unchanged ones are not sent again. */
  private sent = new Map<string, string>();
  /** Discovery topics announced (this run), so a removed forward's config can be cleared. */
  private announced = new Set<string>();
  /** Retained topics of ours found on the broker right after connecting (the sweep). */
  private found = new Set<string>();
  private sweepTimer?: NodeJS.Timeout;
  private announceTimer?: NodeJS.Timeout;
  private clearing = false;

  constructor(private readonly opts: MqttOutputOptions) {
    const s = opts.settings;
    this.topics = new Topics({ discoveryPrefix: s.discoveryPrefix, baseTopic: s.baseTopic, nodeId: s.nodeId });
    this.conn = new MqttConnection({
      settings: s,
      will: { topic: this.topics.availability, payload: 'offline', retain: true },
      subscriptions: [
        this.topics.haStatus,
        this.topics.recheck,
        this.topics.guardSet,
        this.topics.discoveryWildcard,
        this.topics.rootWildcard,
      ],
      log: opts.log,
      onConnect: () => this.onConnect(),
      onMessage: (topic, payload, retain) => this.onMessage(topic, payload.toString('utf8'), retain),
      onStateChange: () => opts.onStatusChange(),
      ...(opts.backoffMs ? { backoffMs: opts.backoffMs } : {}),
    });
  }

  async start(): Promise<void> {
    // Never waits for the broker: detection must not depend on it.
    this.conn.start();
  }

  status(): MqttOutputStatus {
    return this.clearing ? { state: 'disabled' } : this.conn.status();
  }

  publish(doc: StatusDocument, events: readonly StatusEvent[]): void {
    this.doc = doc;
    if (!this.conn.connected || this.clearing) return;
    this.publishDiscovery(false);
    this.publishState(false);
    for (const e of events) this.conn.publish({ topic: this.topics.event, payload: eventPayload(e), retain: false });
  }

  /** Clean stop: tell HA we are going (the will only fires on an unclean end). */
  async stop(): Promise<void> {
    clearTimeout(this.sweepTimer);
    clearTimeout(this.announceTimer);
    if (this.clearing) return;
    await this.conn.stop([{ topic: this.topics.availability, payload: 'offline', retain: true }]);
  }

  /**
   * MQTT was switched off: remove every retained topic of this router (discovery
   * configs, so HA drops the entities, and the state topics), then disconnect.
   */
  async clearAndStop(): Promise<void> {
    if (this.clearing) return;
    clearTimeout(this.sweepTimer);
    clearTimeout(this.announceTimer);
    this.clearing = true;
    const topics = new Set([...this.announced, ...this.found, ...this.sent.keys()]);
    topics.add(this.topics.availability);
    const last: OutgoingMessage[] = [...topics].map((topic) => ({ topic, payload: '', retain: true }));
    await this.conn.stop(last);
    forgetAnnounced(this.opts.stateDir);
    this.opts.log.info(`mqtt: cleared ${last.length} retained topics (MQTT is switched off)`);
    this.opts.onStatusChange();
  }

  private onConnect(): void {
    this.sent.clear();
    this.found.clear();
    this.conn.publish({ topic: this.topics.availability, payload: 'online', retain: true });
    this.publishDiscovery(true);
    this.publishState(true);
    rememberAnnounced(this.opts.stateDir, this.topics.roots, this.opts.log);
    // Retained configs and forward states of ours arrive right after SUBACK; what the
    // current config no longer has (a forward deleted while we were away) is cleared.
    clearTimeout(this.sweepTimer);
    this.sweepTimer = setTimeout(() => this.sweep(), this.opts.sweepWindowMs ?? DEFAULT_SWEEP_WINDOW_MS);
  }

  private onMessage(topic: string, payload: string, retain: boolean): void {
    if (topic === this.topics.haStatus) {
      if (payload === 'online') this.scheduleAnnounce();
      return;
    }
    if (topic === this.topics.recheck) {
      // A retained press (someone's mistake) would re-run at every connect: ignore it.
      if (!retain && payload === RECHECK_PAYLOAD) this.opts.onRecheck();
      return;
    }
    if (topic === this.topics.guardSet) {
      this.onGuardCommand(payload, retain);
      return;
    }
    if (!retain || payload === '') return;
    if (this.topics.isOwnDiscoveryTopic(topic) && !isOwnDiscoveryPayload(payload, this.opts.settings.nodeId)) return;
    this.found.add(topic);
  }

  /** A retained command would flip the guard at every connect: it is ignored (and cleared by the sweep). */
  private onGuardCommand(payload: string, retain: boolean): void {
    if (retain) {
      this.found.add(this.topics.guardSet);
      return;
    }
    const text = payload.trim().toUpperCase();
    if (text === GUARD_ON) this.opts.onGuardMode('auto');
    else if (text === GUARD_OFF) this.opts.onGuardMode('off');
    else
      this.opts.log.warn(
        `mqtt: ${this.topics.guardSet}: expected ${GUARD_ON} or ${GUARD_OFF}, got ${quotedInput(payload, 40)}; ignored`,
      );
  }

  private scheduleAnnounce(): void {
    if (this.announceTimer) return;
    const [min, max] = this.opts.announceDelayMs ?? DEFAULT_ANNOUNCE_DELAY_MS;
    const delay = min + Math.random() * Math.max(0, max - min);
    this.announceTimer = setTimeout(() => {
      this.announceTimer = undefined;
      if (!this.conn.connected || this.clearing) return;
      this.opts.log.info('mqtt: Home Assistant came online: announcing again');
      this.conn.publish({ topic: this.topics.availability, payload: 'online', retain: true });
      this.publishDiscovery(true);
      this.publishState(true);
    }, delay);
  }

  private sweep(): void {
    if (!this.conn.connected || this.clearing) return;
    const current = new Set([...this.announced, ...this.sent.keys()]);
    let cleared = 0;
    for (const topic of this.found) {
      if (topic === this.topics.availability) continue;
      // With retain off, a state retained by an earlier run would outlive every live update.
      const staleState = !this.opts.settings.retain && topic.startsWith(`${this.topics.root}/`);
      if (current.has(topic) && !staleState) continue;
      this.conn.publish({ topic, payload: '', retain: true });
      cleared += 1;
    }
    this.found.clear();
    if (cleared > 0) this.opts.log.info(`mqtt: cleared ${cleared} stale retained topics`);
    this.conn.unsubscribe(this.topics.discoveryWildcard);
    this.conn.unsubscribe(this.topics.rootWildcard);
  }

  private send(topic: string, payload: string, retain: boolean, force: boolean): void {
    if (!force && this.sent.get(topic) === payload) return;
    if (this.conn.publish({ topic, payload, retain })) this.sent.set(topic, payload);
  }

  private publishDiscovery(force: boolean): void {
    const doc = this.doc;
    if (!doc) return;
    const msgs = discoveryMessages(
      discoveryInputFor(doc, {
        topics: this.topics,
        nodeId: this.opts.settings.nodeId,
        version: this.opts.version,
        router: this.opts.router,
      }),
    );
    const now = new Set<string>();
    for (const m of msgs) {
      now.add(m.topic);
      this.send(m.topic, JSON.stringify(m.payload), true, force);
    }
    // A forward removed from the config (SIGHUP): an empty retained config removes its entity.
    for (const topic of this.announced) {
      if (now.has(topic)) continue;
      this.conn.publish({ topic, payload: '', retain: true });
      this.sent.delete(topic);
    }
    this.announced = now;
  }

  private publishState(force: boolean): void {
    const doc = this.doc;
    if (!doc) return;
    const msgs = stateMessages(doc, this.topics);
    const now = new Set(msgs.map((m) => m.topic));
    for (const m of msgs) this.send(m.topic, m.payload, this.opts.settings.retain, force);
    // The retained state of a removed forward goes too.
    for (const topic of [...this.sent.keys()]) {
      if (topic.startsWith(`${this.topics.root}/forward/`) && !now.has(topic)) {
        this.conn.publish({ topic, payload: '', retain: true });
        this.sent.delete(topic);
      }
    }
  }
}
