// Owns the MQTT.js client: connects, reconnects with backoff, and reports its
// state. MQTT.js's own reconnect is switched off (reconnectPeriod 0): it retries
// at a fixed period forever, stops for good after a refused CONNACK, and keeps
// an unbounded offline queue. Here every attempt is a fresh client, publishes
// are dropped while disconnected (the output republishes the latest state on
// connect), and an error is logged once per change, not once per retry.

import { readFileSync } from 'node:fs';
import { isIP, connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { type IClientOptions, MqttClient } from 'mqtt';
import { brokerLabel, type MqttSettings } from '../mqtt/mqtt-settings';
import type { MqttOutputStatus } from '../status/status-schema';
import type { Logger } from '../system/log';
import { quotedInput } from '../util/input-text';
import { type DroppedPacket, IncomingLimit } from './incoming-limit';

export type MqttConnectionState = Exclude<MqttOutputStatus['state'], 'disabled'>;

export interface OutgoingMessage {
  topic: string;
  payload: string;
  retain: boolean;
}

export interface MqttConnectionOptions {
  settings: MqttSettings;
  /** The will: published by the broker when this client vanishes without a DISCONNECT. */
  will?: OutgoingMessage;
  /** Topic filters subscribed on every connect. */
  subscriptions: string[];
  log: Logger;
  /** After every (re)connect: publish everything, since the broker may have forgotten it. */
  onConnect: () => void;
  onMessage: (topic: string, payload: Buffer, retain: boolean) => void;
  /** The state or last error changed (for status.json). */
  onStateChange: () => void;
  /** Backoff steps in ms; the last one repeats. */
  backoffMs?: number[];
  connectTimeoutMs?: number;
}

const DEFAULT_BACKOFF_MS = [1000, 2000, 5000, 10_000, 30_000, 60_000];
/**
 * Largest packet taken from the broker. What the daemon subscribes to is a few bytes (commands,
 * homeassistant/status) or its own discovery configs (a few KB); anything larger is dropped unread.
 */
export const MAX_INCOMING_BYTES = 256 * 1024;
/** The one buffer a plain TCP connection reads into. */
const READ_BUFFER_BYTES = 64 * 1024;
/** At most one log line about dropped packets this often (each names how many so far). */
const DROP_LOG_MS = 60_000;
const KEEPALIVE_S = 30;
const STOP_TIMEOUT_MS = 2000;

/** TLS verification failures: retrying will not help until the config or the certificate changes. */
const TLS_CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A sentence for the log and status.json, and whether it is a configuration problem ("failed"). */
export function describeMqttError(err: Error & { code?: unknown }, broker: string): { text: string; fatal: boolean } {
  const code = err.code;
  if (typeof code === 'number' && (code === 4 || code === 5 || code === 134 || code === 135)) {
    return {
      text: `${broker} refused the login (${err.message.replace(/^Connection refused: /, '')}): check 'username' and 'password'`,
      fatal: true,
    };
  }
  if (typeof code === 'number' && code === 2) {
    return { text: `${broker} rejected the client id: ${err.message}`, fatal: true };
  }
  if (typeof code === 'string' && TLS_CERT_CODES.has(code)) {
    return {
      text: `TLS: the certificate of ${broker} is not trusted (${code}: ${err.message}); set 'ca_file' to the CA that signed it`,
      fatal: true,
    };
  }
  if (typeof code === 'string' && /^ERR_SSL|^EPROTO/.test(code)) {
    return { text: `TLS handshake with ${broker} failed (${code}): is it an mqtts:// port?`, fatal: true };
  }
  return { text: `cannot connect to ${broker}: ${err.message}`, fatal: false };
}

export class MqttConnection {
  private client?: MqttClient;
  private attempt = 0;
  private retryTimer?: NodeJS.Timeout;
  private stopping = false;
  private everConnected = false;
  private lastLogged?: string;
  private _state: MqttConnectionState = 'connecting';
  private _lastError?: string;
  private since = new Date().toISOString();
  private dropped = 0;
  private lastDropLog = Number.NEGATIVE_INFINITY;
  readonly broker: string;

  constructor(private readonly opts: MqttConnectionOptions) {
    this.broker = brokerLabel(opts.settings.url);
  }

  get state(): MqttConnectionState {
    return this._state;
  }

  get connected(): boolean {
    return this._state === 'connected' && this.client?.connected === true;
  }

  status(): MqttOutputStatus {
    const s: MqttOutputStatus = { state: this._state, broker: this.broker, since: this.since };
    if (this._lastError !== undefined) s.last_error = this._lastError;
    return s;
  }

  start(): void {
    if (this.opts.settings.insecure && this.opts.settings.url.startsWith('mqtts:')) {
      this.opts.log.warn(
        `mqtt: insecure=1: the certificate of ${this.broker} is NOT checked (anyone in the path can read and fake messages)`,
      );
    }
    this.connectOnce();
  }

  /** Sends when connected; returns false (and drops the message) otherwise. */
  publish(msg: OutgoingMessage): boolean {
    const client = this.client;
    if (!client || !this.connected) return false;
    client.publish(msg.topic, msg.payload, { qos: 1, retain: msg.retain }, () => {
      // Errors surface as 'error'/'close' on the client; nothing to do per message.
    });
    return true;
  }

  subscribe(filter: string): void {
    if (this.client && this.connected) this.client.subscribe(filter, { qos: 1 });
  }

  unsubscribe(filter: string): void {
    if (this.client && this.connected) this.client.unsubscribe(filter);
  }

  /**
   * Publishes `last` (e.g. availability offline) and disconnects cleanly; a clean
   * DISCONNECT suppresses the will, so the caller publishes offline itself.
   * Bounded: gives up after a few seconds.
   */
  async stop(last: OutgoingMessage[] = []): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    if (!client) return;
    if (!this.connected) {
      client.end(true);
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        client.end(true);
        resolve();
      }, STOP_TIMEOUT_MS);
      let pending = last.length;
      const finish = () => {
        client.end(false, {}, () => {
          clearTimeout(timer);
          resolve();
        });
      };
      if (pending === 0) finish();
      for (const msg of last) {
        client.publish(msg.topic, msg.payload, { qos: 1, retain: msg.retain }, () => {
          pending -= 1;
          if (pending === 0) finish();
        });
      }
    });
  }

  private setState(state: MqttConnectionState, error?: string): void {
    const changed = state !== this._state || error !== this._lastError;
    if (state !== this._state) this.since = new Date().toISOString();
    this._state = state;
    if (error !== undefined || state === 'connected') this._lastError = error;
    if (changed) this.opts.onStateChange();
  }

  private clientOptions(): IClientOptions {
    const s = this.opts.settings;
    const o: IClientOptions = {
      clientId: s.clientId,
      protocolVersion: 4,
      clean: true,
      keepalive: KEEPALIVE_S,
      connectTimeout: this.opts.connectTimeoutMs ?? 10_000,
      reconnectPeriod: 0,
      queueQoSZero: false,
      resubscribe: false,
      rejectUnauthorized: !s.insecure,
    };
    if (s.username !== undefined) o.username = s.username;
    if (s.password !== undefined) o.password = s.password;
    if (s.caFile !== undefined) o.ca = readFileSync(s.caFile);
    const will = this.opts.will;
    if (will) o.will = { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: will.retain };
    return o;
  }

  private connectOnce(): void {
    if (this.stopping) return;
    let options: IClientOptions;
    try {
      options = this.clientOptions();
    } catch (err) {
      // ca_file unreadable: a configuration problem; retry later in case it appears.
      this.noteError(`cannot read ca_file: ${(err as Error).message}`, true);
      this.scheduleRetry();
      return;
    }
    const client = new MqttClient(() => this.openStream(options), options);
    this.client = client;
    let closed = false;
    let fatal: string | undefined;
    client.on('connect', () => {
      this.attempt = 0;
      this.everConnected = true;
      this.lastLogged = undefined;
      this.opts.log.info(`mqtt: connected to ${this.broker} as ${this.opts.settings.clientId}`);
      this.setState('connected');
      for (const f of this.opts.subscriptions) client.subscribe(f, { qos: 1 });
      this.opts.onConnect();
    });
    client.on('message', (topic, payload, packet) => {
      try {
        this.opts.onMessage(topic, payload, packet.retain === true);
      } catch (err) {
        this.opts.log.warn(`mqtt: handling ${topic}: ${(err as Error).message}`);
      }
    });
    client.on('error', (err) => {
      const d = describeMqttError(err as Error & { code?: unknown }, this.broker);
      if (d.fatal) fatal = d.text;
      this.noteError(d.text, d.fatal);
    });
    client.on('close', () => {
      if (closed) return;
      closed = true;
      client.removeAllListeners('connect');
      client.removeAllListeners('message');
      client.end(true);
      if (this.stopping) return;
      if (this._state === 'connected') {
        this.noteError(`connection to ${this.broker} lost`, false);
      } else if (fatal === undefined && this._lastError === undefined) {
        this.noteError(`cannot connect to ${this.broker}`, false);
      }
      this.scheduleRetry();
    });
    // MQTT.js emits 'error' on a client nobody listens to once; keep a listener for the whole life.
    client.on('offline', () => {});
  }

  /** The socket to the broker (TCP or TLS), behind the incoming size limit. */
  private openStream(options: IClientOptions): Duplex {
    const url = new URL(this.opts.settings.url);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const secure = url.protocol === 'mqtts:';
    const port = url.port !== '' ? Number(url.port) : secure ? 8883 : 1883;
    const onDrop = (d: DroppedPacket) => this.noteDropped(d);
    if (secure) {
      const socket = tlsConnect({
        host,
        port,
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ...(options.ca !== undefined ? { ca: options.ca as Buffer } : {}),
        rejectUnauthorized: options.rejectUnauthorized !== false,
      });
      return new IncomingLimit(socket, MAX_INCOMING_BYTES, onDrop);
    }
    let limit: IncomingLimit | undefined;
    const buffer = Buffer.alloc(READ_BUFFER_BYTES);
    const socket = netConnect({ host, port, onread: { buffer, callback: (n) => limit!.feed(buffer.subarray(0, n)) } });
    limit = new IncomingLimit(socket, MAX_INCOMING_BYTES, onDrop, true);
    return limit;
  }

  private noteDropped(d: DroppedPacket): void {
    this.dropped++;
    const now = Date.now();
    if (now - this.lastDropLog < DROP_LOG_MS) return;
    this.lastDropLog = now;
    const what = d.topic !== undefined ? `message on ${quotedInput(d.topic, 80)}` : `packet of type ${d.type}`;
    this.opts.log.warn(
      `mqtt: dropped a ${d.bytes}-byte ${what} from ${this.broker} unread: larger than ${MAX_INCOMING_BYTES} bytes (${this.dropped} dropped since start)`,
    );
  }

  private noteError(text: string, fatal: boolean): void {
    const state: MqttConnectionState = fatal ? 'failed' : this.everConnected ? 'reconnecting' : 'connecting';
    if (text !== this.lastLogged) {
      this.lastLogged = text;
      (fatal ? this.opts.log.error : this.opts.log.warn)(`mqtt: ${text}; detection goes on, retrying with backoff`);
    }
    this.setState(state, text);
  }

  private scheduleRetry(): void {
    if (this.stopping) return;
    clearTimeout(this.retryTimer);
    const steps = this.opts.backoffMs ?? DEFAULT_BACKOFF_MS;
    const base = steps[Math.min(this.attempt, steps.length - 1)]!;
    this.attempt += 1;
    // ±20 % jitter: many routers restarting with one broker should not reconnect in lockstep.
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.retryTimer = setTimeout(() => this.connectOnce(), delay);
  }
}
