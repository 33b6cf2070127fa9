// Wires sensors → detector → status file. Owns the timers and the children;
// the pieces it connects do no wiring of their own.

import type { Config } from '../config/config';
import { Detector } from '../detector/detector';
import { type LanView, lanViewFromInterfaces, makeLanView } from '../detector/lan-view';
import { AddressSensor } from '../sensors/address-sensor';
import { ConntrackSensor } from '../sensors/conntrack-sensor';
import type { InterfaceInfo } from '../sensors/ip-addr-json';
import { buildStatus, type StatusDocument } from '../status/status-document';
import { statusEvents } from '../status/status-events';
import { writeStatusAtomic } from '../status/status-file';
import type { Logger } from '../util/log';
import type { StatusOutput } from './status-output';

export interface DaemonOptions {
  version: string;
  nodeId: string;
  log: Logger;
  conntrackCommand?: string;
  ipCommand?: string;
}

/** Coalesces bursts of changes into one status write. */
const WRITE_DELAY_MS = 20;
const ADDRESS_POLL_MS = 60_000;

export class Daemon {
  private config: Config;
  private readonly log: Logger;
  private readonly detector: Detector;
  private readonly conntrack: ConntrackSensor;
  private readonly addresses: AddressSensor;
  private interfaces: InterfaceInfo[] = [];
  private view: LanView;
  private readonly startedAt = Date.now();
  private writeTimer?: NodeJS.Timeout;
  private periodicTimer?: NodeJS.Timeout;
  private expiryTimer?: NodeJS.Timeout;
  private lastWriteError?: string;
  private stopped = false;
  private readonly outputs: StatusOutput[] = [];
  private lastDoc?: StatusDocument;

  constructor(
    config: Config,
    private readonly opts: DaemonOptions,
  ) {
    this.config = config;
    this.log = opts.log;
    this.view = makeLanView(config.main.lanSubnets, [], config.forwards, 'config');
    this.detector = new Detector(this.view, {
      maxFindings: config.main.maxFindings,
      maxFlows: config.main.maxFlows,
      problemHoldMs: config.main.problemHold * 1000,
    });
    this.conntrack = new ConntrackSensor({
      command: opts.conntrackCommand ?? 'conntrack',
      bufferBytes: config.main.conntrackBuffer,
      log: this.log,
      onEntry: (entry, raw, at) => {
        if (this.detector.ingest(entry, raw, at)) this.onFindingsChanged();
      },
      onStatus: () => this.scheduleWrite(),
    });
    this.addresses = new AddressSensor({
      command: opts.ipCommand ?? 'ip',
      intervalMs: ADDRESS_POLL_MS,
      log: this.log,
      onInterfaces: (list) => {
        this.interfaces = list;
        this.refreshLanView();
      },
    });
  }

  /** Adds an output before start(); it sees every status written from then on. */
  addOutput(output: StatusOutput): void {
    this.outputs.push(output);
  }

  async start(): Promise<void> {
    for (const o of this.outputs) await o.start();
    // The LAN must be known before the first event is judged.
    await this.addresses.start();
    if (this.interfaces.length === 0) this.refreshLanView();
    this.conntrack.start();
    this.periodicTimer = setInterval(() => this.writeStatus(), this.config.main.statusInterval * 1000);
    this.writeStatus();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.writeTimer);
    clearTimeout(this.expiryTimer);
    clearInterval(this.periodicTimer);
    this.addresses.stop();
    this.conntrack.stop();
    this.writeStatus();
    await Promise.all(
      this.outputs.map((o) =>
        o.stop().catch((err: unknown) => this.log.warn(`${o.name}: stop failed: ${(err as Error).message}`)),
      ),
    );
  }

  /** "Re-check now" (MQTT button, LuCI): read the kernel's state again and rewrite the status. */
  recheck(): void {
    this.log.info('re-check requested');
    this.conntrack.resync();
    this.scheduleWrite();
  }

  childPids(): number[] {
    return this.conntrack.childPids();
  }

  /** Applies a re-read config; options that need a restart are named in the log. */
  reload(config: Config): void {
    const old = this.config;
    this.config = config;
    this.log.setLevel(config.main.logLevel);
    for (const key of ['stateDir', 'conntrackBuffer', 'maxFindings', 'maxFlows', 'statusInterval'] as const) {
      if (old.main[key] !== config.main[key]) this.log.warn(`reload: '${key}' changes only after a restart`);
    }
    this.refreshLanView();
    this.log.info(`reload: config ${config.source} applied (${config.forwards.length} forwards)`);
    this.scheduleWrite();
  }

  private refreshLanView(): void {
    const { main, forwards } = this.config;
    const view = lanViewFromInterfaces(main, this.interfaces, forwards);
    const changed =
      view.lanSource !== this.view.lanSource ||
      view.lan.list.map((p) => p.text).join() !== this.view.lan.list.map((p) => p.text).join() ||
      [...view.routerAddresses].join() !== [...this.view.routerAddresses].join() ||
      view.forwards !== this.view.forwards;
    if (!changed) return;
    this.view = view;
    this.detector.setLanView(view);
    if (view.lanSource.startsWith('fallback')) this.log.warn(`LAN: ${view.lanSource}`);
    else this.log.info(`LAN: ${view.lan.list.map((p) => p.text).join(' ')} (from ${view.lanSource})`);
    this.scheduleWrite();
  }

  private onFindingsChanged(): void {
    this.scheduleWrite();
  }

  private scheduleWrite(): void {
    if (this.writeTimer || this.stopped) return;
    this.writeTimer = setTimeout(() => {
      this.writeTimer = undefined;
      this.writeStatus();
    }, WRITE_DELAY_MS);
  }

  statusDocument(now = Date.now()): StatusDocument {
    const ct = this.conntrack.status;
    const holdMs = this.config.main.problemHold * 1000;
    return buildStatus({
      version: this.opts.version,
      nodeId: this.opts.nodeId,
      startedAt: this.startedAt,
      now,
      conntrack: { ...ct },
      lostRecently: ct.last_loss !== undefined && now - Date.parse(ct.last_loss) < holdMs,
      lan: {
        interfaces: [...this.config.main.lanInterfaces],
        subnets: this.view.lan.list.map((p) => p.text),
        source: this.view.lanSource,
        router_addresses: [...this.view.routerAddresses],
      },
      forwards: this.config.forwards,
      findings: this.detector.findings(now),
      counters: this.detector.counters(),
      problemHoldS: this.config.main.problemHold,
    });
  }

  private writeStatus(): void {
    const now = Date.now();
    const doc = this.statusDocument(now);
    try {
      writeStatusAtomic(this.config.main.stateDir, doc);
      if (this.lastWriteError) this.log.info('status: writing works again');
      this.lastWriteError = undefined;
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== this.lastWriteError) this.log.error(`status: cannot write ${this.config.main.stateDir}: ${msg}`);
      this.lastWriteError = msg;
    }
    const events = statusEvents(this.lastDoc, doc);
    this.lastDoc = doc;
    for (const e of events) this.log.info(`${e.event_type}: ${e.summary}`);
    for (const o of this.outputs) {
      try {
        o.publish(doc, events);
      } catch (err) {
        this.log.warn(`${o.name}: ${(err as Error).message}`);
      }
    }
    this.armExpiry(now);
  }

  /** Health must fall back from "problem" when a finding's hold ends, even with no new event. */
  private armExpiry(now: number): void {
    clearTimeout(this.expiryTimer);
    if (this.stopped) return;
    const next = this.detector.nextExpiry(now);
    if (next === undefined) return;
    this.expiryTimer = setTimeout(() => this.writeStatus(), Math.min(next + 50, 2 ** 31 - 1));
  }
}
