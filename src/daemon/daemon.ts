// Wires sensors → detector → status file. Owns the timers and the children;
// the pieces it connects do no wiring of their own.

import { type Config, GUARD_DEFAULT, type GuardMode, PROBE_DEFAULTS } from '../config/config';
import { Detector } from '../detector/detector';
import { type LanView, lanViewFromInterfaces, makeLanView } from '../detector/lan-view';
import type { InterfaceInfo } from '../net/ip-addr-json';
import { writeStatusAtomic } from '../outputs/status-file';
import type { StatusOutput } from '../outputs/status-output';
import { iptablesProbeRules } from '../probe/probe-iptables';
import { probeRules } from '../probe/probe-rules';
import { AddressSensor } from '../sensors/address-sensor';
import { ConntrackSensor } from '../sensors/conntrack-sensor';
import { EbpfSensor } from '../sensors/ebpf-sensor';
import { ProbeSensor } from '../sensors/probe-sensor';
import { buildStatus } from '../status/status-document';
import { statusEvents } from '../status/status-events';
import type { OutputsStatus, StatusDocument } from '../status/status-schema';
import type { Logger } from '../system/log';
import { killChildren, runningChildPids } from '../system/run-command';
import type { Unit } from '../system/unit';
import { which } from '../system/which';
import { GuardUnit } from './guard-unit';
import { rememberChildren } from './leftover-children';
import { RulesetUnit, type RulesetUnitOptions } from './ruleset-unit';

export interface DaemonOptions {
  version: string;
  nodeId: string;
  log: Logger;
  conntrackCommand?: string;
  ipCommand?: string;
  nftCommand?: string;
  /** tc's path; null: look in /proc instead. Default: tc where it is installed. */
  tcCommand?: string | null;
  /** Tests: the ruleset unit's options (a fake read, no nft). */
  ruleset?: RulesetUnitOptions;
}

/** How often legacy iptables rules are re-read with guard = auto (else every 10 s). */
const GUARD_LEGACY_POLL_MS = 2000;
/** Coalesces bursts of changes into one status write. */
const WRITE_DELAY_MS = 20;
const ADDRESS_POLL_MS = 60_000;
/** eBPF proxies are started by hand: a look every half minute (and at each re-check) is enough. */
const EBPF_POLL_MS = 30_000;
/** Elements per counting set of the probe (reply flows seen within the element timeout). */
const PROBE_SET_SIZE = 4096;
/** How often the children's pids are compared with those noted in the state directory. */
const CHILDREN_CHECK_MS = 1000;
/** Options read once at start: a reload keeps their running value (the log says so). */
const RESTART_ONLY = [
  'stateDir',
  'conntrackBuffer',
  'maxFindings',
  'maxFlows',
  'statusInterval',
  'probe',
  'probeInterval',
] as const;
/** A deficit in the probe's counters is confirmed (or not) by a second reading this much later. */
const PROBE_CONFIRM_MS = 300;

export class Daemon {
  private config: Config;
  private readonly log: Logger;
  private readonly detector: Detector;
  private readonly conntrack: ConntrackSensor;
  private readonly addresses: AddressSensor;
  private readonly probe: ProbeSensor;
  private readonly ebpf: EbpfSensor;
  private interfaces: InterfaceInfo[] = [];
  private view: LanView;
  private readonly startedAt = Date.now();
  private writeTimer?: NodeJS.Timeout;
  private periodicTimer?: NodeJS.Timeout;
  private expiryTimer?: NodeJS.Timeout;
  private childrenTimer?: NodeJS.Timeout;
  private lastWriteError?: string;
  private stopped = false;
  private readonly ruleset: RulesetUnit;
  private readonly guard: GuardUnit;
  private readonly outputs: StatusOutput[] = [];
  /** The parts, started in this order and stopped in reverse; see the constructor. */
  private readonly units: ReadonlyArray<{ unit: Unit<unknown>; waitForStart: boolean; endRunningFirst?: boolean }>;
  /** The detector's findings changed since the ruleset unit was last told. */
  private findingsChanged = false;
  private lastDoc?: StatusDocument;
  /** The children's pids as last written to the state directory. */
  private rememberedPids = '';

  constructor(
    config: Config,
    private readonly opts: DaemonOptions,
  ) {
    this.config = config;
    this.log = opts.log;
    const guardMode = config.main.guard ?? GUARD_DEFAULT;
    this.guard = new GuardUnit({
      mode: guardMode,
      config,
      log: this.log,
      reread: () => void this.ruleset.recheck(),
      onChange: () => this.scheduleWrite(),
    });
    this.ruleset = new RulesetUnit(
      config,
      this.log,
      { onChange: () => this.scheduleWrite(), onRead: (s) => this.guard.onRead(s) },
      {
        ...opts.ruleset,
        // Legacy iptables makes no nft monitor events: with guard = auto, look more often.
        ...(guardMode === 'auto' ? { watch: { legacyPollMs: GUARD_LEGACY_POLL_MS, ...opts.ruleset?.watch } } : {}),
      },
    );
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
      interest: this.detector.interest,
      onStatus: () => this.scheduleWrite(),
    });
    this.addresses = new AddressSensor({
      command: opts.ipCommand ?? 'ip',
      intervalMs: ADDRESS_POLL_MS,
      log: this.log,
      onInterfaces: (list) => {
        this.interfaces = list;
        this.refreshLanView();
        this.ebpf.pollSoon();
      },
      onStatus: () => {
        // Nothing read yet and the reading fails: judge with the configured (or fallback) LAN meanwhile.
        if (this.interfaces.length === 0 && this.addresses.status().state === 'failed') this.refreshLanView();
        this.scheduleWrite();
      },
    });
    this.ebpf = new EbpfSensor({
      tcCommand: opts.tcCommand !== undefined ? opts.tcCommand : which('tc'),
      intervalMs: EBPF_POLL_MS,
      log: this.log,
      interfaces: () => this.lanIngressInterfaces(),
      onStatus: () => this.scheduleWrite(),
    });
    const probeIntervalS = config.main.probeInterval ?? PROBE_DEFAULTS.probeInterval;
    this.probe = new ProbeSensor({
      command: opts.nftCommand ?? 'nft',
      mode: config.main.probe ?? PROBE_DEFAULTS.probe,
      holdOff: () => this.probeHeldOff(),
      intervalMs: probeIntervalS * 1000,
      log: this.log,
      rules: () =>
        probeRules({
          lan: this.view.lan.list,
          udpForwards: this.config.forwards.filter((f) => f.proto === 'udp'),
          intervalS: probeIntervalS,
          setSize: PROBE_SET_SIZE,
        }),
      iptablesRules: () =>
        iptablesProbeRules({
          lan: this.view.lan.list,
          lanInterfaces: this.config.main.lanInterfaces,
          udpForwards: this.config.forwards.filter((f) => f.proto === 'udp'),
          intervalS: probeIntervalS,
          setSize: PROBE_SET_SIZE,
        }),
      onSample: (sample) => {
        const r = this.detector.ingestProbe(sample);
        if (r.changed) this.onFindingsChanged();
        if (r.pending) this.probe.pollSoon(PROBE_CONFIRM_MS);
      },
      onStatus: () => this.scheduleWrite(),
    });
    // The LAN must be known before the first event is judged and before the probe's rules are made: the
    // others start after the addresses' first reading. The eBPF reading and the ruleset's first full read
    // (~0.3 s) hold nothing back. The guard acts on the ruleset's reads: there before the first, until
    // the last. Stopping in reverse leaves the probe's removal of its table (awaited) near the end.
    this.units = [
      { unit: this.addresses, waitForStart: true },
      { unit: this.probe, waitForStart: false, endRunningFirst: true },
      { unit: this.conntrack, waitForStart: false },
      { unit: this.ebpf, waitForStart: false },
      { unit: this.guard, waitForStart: false },
      { unit: this.ruleset, waitForStart: false },
    ];
  }

  /** Adds an output before start(); it sees every status written from then on. */
  addOutput(output: StatusOutput): void {
    this.outputs.push(output);
  }

  /** Outputs first (they show the sensors' first state), then the units in order; a failing part is logged. */
  async start(): Promise<void> {
    for (const o of this.outputs) await this.startUnit(o);
    for (const { unit, waitForStart } of this.units) {
      const started = this.startUnit(unit);
      if (waitForStart) await started;
    }
    this.periodicTimer = setInterval(() => this.writeStatus(), this.config.main.statusInterval * 1000);
    // A child started or restarted (with backoff) is noted within a second, not at the next status write.
    this.childrenTimer = setInterval(() => this.rememberChildPids(runningChildPids()), CHILDREN_CHECK_MS);
    this.writeStatus();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.writeTimer);
    clearTimeout(this.expiryTimer);
    clearInterval(this.periodicTimer);
    clearInterval(this.childrenTimer);
    // Each stop is awaited: the probe's table must not outlive the daemon.
    for (const { unit, endRunningFirst } of [...this.units].reverse()) {
      // What still runs (a hung `nft -f` of the guard or the probe …) is of no use now: ended at once,
      // not at its time limit, so that the probe's removal of its table does not wait behind it.
      if (endRunningFirst) killChildren();
      try {
        await unit.stop();
      } catch (err) {
        this.log.warn(`${unit.name}: stop failed: ${(err as Error).message}`);
      }
    }
    this.tellFindings();
    this.writeStatus();
    this.rememberChildPids([]);
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
    void this.ruleset.recheck();
    this.ebpf.pollSoon();
    this.scheduleWrite();
  }

  /** The LAN interfaces present and the ports of those that are bridges: every ingress the LAN's packets cross. */
  private lanIngressInterfaces(): string[] {
    const lan = new Set(this.config.main.lanInterfaces);
    return this.interfaces
      .filter((i) => i.ifname !== 'lo' && (lan.has(i.ifname) || (i.master !== undefined && lan.has(i.master))))
      .map((i) => i.ifname);
  }

  /**
   * The guard switched from Home Assistant: applies now, and writes the option into the config file so a
   * restart keeps it (persist is the caller's, it knows the file); the in-memory config follows.
   */
  async setGuardMode(mode: GuardMode, why: string): Promise<void> {
    this.config.main.guard = mode;
    await this.guard.setMode(mode, why);
  }

  get guardMode(): GuardMode {
    return this.guard.currentMode;
  }

  /** An output's own state changed (e.g. MQTT connected): rewrite status.json soon. */
  outputStatusChanged(): void {
    this.scheduleWrite();
  }

  /** Applies a re-read config; options that need a restart keep their running value and are named in the log. */
  reload(next: Config): void {
    const old = this.config;
    const main = { ...next.main };
    for (const key of RESTART_ONLY) {
      if (old.main[key] === main[key]) continue;
      this.log.warn(`reload: '${key}' changes only after a restart`);
      (main as Record<string, unknown>)[key] = old.main[key];
    }
    const config: Config = { ...next, main };
    this.config = config;
    this.ruleset.setConfig(config);
    void this.guard.setConfig(config, config.main.guard ?? GUARD_DEFAULT, 'config reloaded');
    this.log.setLevel(config.main.logLevel);
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
    this.ruleset.setLanView(view);
    this.probe.rulesChanged();
    // A probe held off (probe = auto, no LAN interface yet) may start now.
    if (!this.stopped && this.probe.status().state === 'off') void this.startUnit(this.probe);
    if (view.lanSource.startsWith('fallback')) this.log.warn(`LAN: ${view.lanSource}`);
    else this.log.info(`LAN: ${view.lan.list.map((p) => p.text).join(' ')} (from ${view.lanSource})`);
    this.scheduleWrite();
  }

  /**
   * Why the probe must not start (yet): probe = auto starts only where one of lan_interfaces (not
   * loopback) exists: the probe counts replies crossing the LAN, and a host without one (a test machine,
   * a misconfigured router) gets no table in its ruleset.
   */
  private probeHeldOff(): string | undefined {
    const mode = this.config.main.probe ?? PROBE_DEFAULTS.probe;
    const { lanInterfaces } = this.config.main;
    const lanHere = this.interfaces.some((i) => i.ifname !== 'lo' && lanInterfaces.includes(i.ifname));
    if (mode === 'auto' && !lanHere)
      return `probe = auto and no LAN interface (${lanInterfaces.join(' ')}) on this machine`;
    return undefined;
  }

  private startUnit(unit: Unit<unknown>): Promise<void> {
    return unit
      .start()
      .catch((err: unknown) => this.log.error(`${unit.name}: cannot start: ${(err as Error).message}`));
  }

  private onFindingsChanged(): void {
    this.findingsChanged = true;
    this.scheduleWrite();
  }

  /**
   * Tells the ruleset unit the detector's findings (it learns servers, attributes hijacks, records
   * findings opening and clearing): once per burst of changes, as a flood changes them with every event.
   */
  private tellFindings(): void {
    if (!this.findingsChanged) return;
    this.findingsChanged = false;
    const now = Date.now();
    this.ruleset.noteFindings(this.detector.findings(now), now);
  }

  private scheduleWrite(): void {
    if (this.writeTimer || this.stopped) return;
    this.writeTimer = setTimeout(() => {
      // Before the timer is cleared: what the ruleset unit changes in turn goes into this write.
      this.tellFindings();
      this.writeTimer = undefined;
      this.writeStatus();
    }, WRITE_DELAY_MS);
  }

  /** status.json from the parts' reports as they are: reading them changes nothing. */
  statusDocument(now = Date.now()): StatusDocument {
    const ct = this.conntrack.status();
    const holdMs = this.config.main.problemHold * 1000;
    // Hijacks with the responsible rule and the proxy's own fix, predictions and the timeline.
    const rs = this.ruleset.status();
    const outputs: Partial<OutputsStatus> = {};
    for (const o of this.outputs) outputs[o.name] = o.status();
    return buildStatus({
      version: this.opts.version,
      nodeId: this.opts.nodeId,
      startedAt: this.startedAt,
      now,
      conntrack: ct,
      probe: this.probe.status(),
      addresses: this.addresses.status(),
      ebpf: this.ebpf.status(),
      lostRecently: ct.last_loss !== undefined && now - Date.parse(ct.last_loss) < holdMs,
      lan: {
        interfaces: [...this.config.main.lanInterfaces],
        subnets: this.view.lan.list.map((p) => p.text),
        source: this.view.lanSource,
        router_addresses: [...this.view.routerAddresses],
      },
      forwards: this.config.forwards,
      findings: [...rs.findings, ...rs.atRisk],
      ruleset: rs,
      guard: this.guard.status(),
      counters: this.detector.counters(),
      problemHoldS: this.config.main.problemHold,
      outputs,
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

  /** Keeps the children's pids in the state directory, for the next start after a SIGKILL. */
  private rememberChildPids(pids: number[]): void {
    const key = pids.join(' ');
    if (key === this.rememberedPids) return;
    try {
      rememberChildren(this.config.main.stateDir, pids);
      this.rememberedPids = key;
    } catch (err) {
      this.log.debug(`state: cannot note the children's pids: ${(err as Error).message}`);
    }
  }

  /** Health must fall back from "problem" when a finding's hold ends, even with no new event. */
  private armExpiry(now: number): void {
    clearTimeout(this.expiryTimer);
    if (this.stopped) return;
    const next = this.detector.nextExpiry(now);
    if (next === undefined) return;
    this.expiryTimer = setTimeout(() => this.onFindingsChanged(), Math.min(next + 50, 2 ** 31 - 1));
  }
}
