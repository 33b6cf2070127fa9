// Owns the passive probe (src/probe/): installs replyguard's own counting
// rules — the nft table `inet replyguard`, or on fw3-only routers its own
// iptables chains and ipsets — reads their counters every interval, puts them
// back when a firewall reload or a proxy restart removed or changed them, and
// deletes them on stop. It decides nothing: readings go to the detector.

import type { ProbeMode } from '../config/config';
import { parseProbeIpsetCounters } from '../probe/probe-ipset-counters';
import {
  checkIptablesProbe,
  IPSET_IN,
  IPSET_OUT,
  IPSETS,
  IPT_CHAINS,
  type IptablesProbeRules,
} from '../probe/probe-iptables';
import { type ProbeSetDump, parseProbeDump } from '../probe/probe-json';
import { PROBE_FAMILY, PROBE_TABLE, type ProbeRules, probeComment } from '../probe/probe-rules';
import { type ProbeSample, sampleFromDump } from '../probe/probe-sample';
import type { ProbeSensorStatus } from '../status/status-schema';
import type { Logger } from '../system/log';
import { NftSession } from '../system/nft-session';
import { type CommandResult, runCommand } from '../system/run-command';
import type { Unit } from '../system/unit';

export interface ProbeSensorOptions {
  /** The nft binary. */
  command: string;
  /** The fw3 fallback's binaries (default: found on PATH). */
  iptables?: { iptables: string; iptablesSave: string; iptablesRestore: string; ipset: string };
  mode: ProbeMode;
  /** Why it must not start now (shown in status; the next start() asks again), or undefined. */
  holdOff?: () => string | undefined;
  intervalMs: number;
  log: Logger;
  /** The table for the current config and LAN (a pure function's output). */
  rules: () => ProbeRules;
  /** The same for iptables + ipset. */
  iptablesRules: () => IptablesProbeRules;
  onSample: (sample: ProbeSample) => void;
  onStatus: () => void;
}

const NFT_TIMEOUT_MS = 5000;
/** With probe = auto, how often to try again where nft did not work. */
const AUTO_RETRY_MS = 60_000;
const RETRY_MAX_MS = 30_000;
const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;

/** Runs one command of the probe (argv, never a shell) with its time limit and output bound. */
function run(argv: string[], input?: string): Promise<CommandResult> {
  return runCommand(argv, {
    timeoutMs: NFT_TIMEOUT_MS,
    maxBytes: MAX_OUTPUT_BYTES,
    ...(input !== undefined ? { input } : {}),
  });
}

function why(r: CommandResult): string {
  return (r.error ?? (r.stderr.trim().split('\n')[0] || `exit code ${r.code}`)).slice(0, 300);
}

function failed(r: CommandResult): boolean {
  return r.code !== 0 || r.error !== undefined;
}

type Reading =
  | { sets: Record<string, ProbeSetDump>; names: { in: string[]; out: string[] } }
  | { lost: string }
  | { error: string };

/** One way of counting: install, read, remove. */
interface Backend {
  readonly name: 'nft' | 'iptables';
  /** Undefined when done, else why not. */
  install(): Promise<string | undefined>;
  read(): Promise<Reading>;
  remove(): Promise<string | undefined>;
  /** What the log says after an install. */
  describe(): string;
}

class NftBackend implements Backend {
  readonly name = 'nft';
  private rules?: ProbeRules;
  /** Reads go to one long-running `nft -j -i` instead of a new nft every interval. */
  private readonly session: NftSession;
  constructor(
    private readonly command: string,
    private readonly makeRules: () => ProbeRules,
  ) {
    this.session = new NftSession(command);
  }

  forget(): void {
    this.rules = undefined;
  }

  close(): void {
    this.session.close();
  }

  private current(): ProbeRules {
    this.rules ??= this.makeRules();
    return this.rules;
  }

  async install(): Promise<string | undefined> {
    // table …; delete table …; table … {…}: one transaction, never doubled.
    const r = await run([this.command, '-f', '-'], this.current().script);
    return failed(r) ? why(r) : undefined;
  }

  async read(): Promise<Reading> {
    const answer = await this.session.request(`list table ${PROBE_FAMILY} ${PROBE_TABLE}`, NFT_TIMEOUT_MS);
    if (!answer.ok) {
      if (/No such file or directory/.test(answer.error)) return { lost: 'the table is gone' };
      return { error: `reading the counters failed: ${answer.error.split('\n')[0]!.slice(0, 300)}` };
    }
    const dump = parseProbeDump(answer.stdout, PROBE_TABLE);
    if ('error' in dump) return { error: `cannot read nft's output: ${dump.error}` };
    const rules = this.current();
    const comment = probeComment(rules.fingerprint);
    for (const [chain, count] of Object.entries(rules.chainRules)) {
      const got = dump.chains[chain];
      if (!got || got.rules !== count || got.comments.some((c) => c !== comment)) {
        return { lost: got ? `chain ${chain} was changed` : `chain ${chain} is gone` };
      }
    }
    return { sets: dump.sets, names: rules.sets };
  }

  async remove(): Promise<string | undefined> {
    const r = await run([this.command, 'delete', 'table', PROBE_FAMILY, PROBE_TABLE]);
    return failed(r) && !/No such file or directory/.test(r.stderr) ? why(r) : undefined;
  }

  describe(): string {
    return `table ${PROBE_FAMILY} ${PROBE_TABLE} installed (${this.current().fingerprint})`;
  }
}

/** fw3-only routers: mangle chains replyguard_* and ipsets replyguard_* (src/probe/probe-iptables.ts). */
class IptablesBackend implements Backend {
  readonly name = 'iptables';
  private rules?: IptablesProbeRules;
  constructor(
    private readonly cmd: { iptables: string; iptablesSave: string; iptablesRestore: string; ipset: string },
    private readonly makeRules: () => IptablesProbeRules,
  ) {}

  forget(): void {
    this.rules = undefined;
  }

  private current(): IptablesProbeRules {
    this.rules ??= this.makeRules();
    return this.rules;
  }

  async install(): Promise<string | undefined> {
    const probe = await run([this.cmd.ipset, 'version']);
    if (failed(probe)) return `ipset: ${why(probe)}`;
    const removed = await this.remove();
    if (removed) return removed;
    const rules = this.current();
    const sets = await run([this.cmd.ipset, 'restore'], rules.ipsetScript);
    if (failed(sets)) return `ipset restore: ${why(sets)}`;
    const chains = await run([this.cmd.iptablesRestore, '-w', '--noflush'], rules.iptablesScript);
    if (failed(chains)) return `iptables-restore: ${why(chains)}`;
    return undefined;
  }

  async read(): Promise<Reading> {
    const save = await run([this.cmd.iptablesSave, '-t', 'mangle']);
    if (failed(save)) return { error: `iptables-save failed: ${why(save)}` };
    const check = checkIptablesProbe(save.stdout, this.current());
    if (!check.ok) return { lost: check.why ?? 'changed' };
    // In before out, as with nft: a reply passing during the reading never looks lost.
    const text: string[] = [];
    for (const set of [IPSET_IN, IPSET_OUT]) {
      const r = await run([this.cmd.ipset, 'save', set]);
      if (failed(r)) return /does not exist/.test(r.stderr) ? { lost: `set ${set} is gone` } : { error: why(r) };
      text.push(r.stdout);
    }
    return { sets: parseProbeIpsetCounters(text.join('\n')), names: this.current().sets };
  }

  /** Deletes our jumps (by their rule spec), chains and sets; what is already gone is fine. */
  async remove(): Promise<string | undefined> {
    const save = await run([this.cmd.iptablesSave, '-t', 'mangle']);
    if (failed(save)) return `iptables-save: ${why(save)}`;
    const { deletes } = checkIptablesProbe(save.stdout, { comment: '', chainRules: {} });
    for (const argv of deletes) await run([this.cmd.iptables, '-w', '-t', 'mangle', ...argv]);
    const declared = new Set(
      save.stdout
        .split('\n')
        .map((l) => /^:(\S+) /.exec(l)?.[1])
        .filter((c): c is string => c !== undefined),
    );
    for (const chain of IPT_CHAINS) {
      if (declared.has(chain)) await run([this.cmd.iptables, '-w', '-t', 'mangle', '-F', chain]);
    }
    for (const chain of IPT_CHAINS) {
      if (declared.has(chain)) await run([this.cmd.iptables, '-w', '-t', 'mangle', '-X', chain]);
    }
    for (const set of IPSETS) {
      const r = await run([this.cmd.ipset, 'destroy', set]);
      if (failed(r) && !/does not exist/.test(r.stderr)) return `ipset destroy ${set}: ${why(r)}`;
    }
    return undefined;
  }

  describe(): string {
    return `iptables chains and ipsets replyguard_* installed (${this.current().fingerprint}; fw3 fallback)`;
  }
}

export class ProbeSensor implements Unit<ProbeSensorStatus> {
  readonly name = 'probe';
  private readonly current: ProbeSensorStatus;
  private timer?: NodeJS.Timeout;
  private timerDue = 0;
  private busy?: Promise<void>;
  private stopping = false;
  private running = false;
  /** Installs so far; the detector starts over when it changes. */
  private generation = 0;
  private needInstall = true;
  private retryMs: number;
  private readonly nft: NftBackend;
  private readonly iptables: IptablesBackend;
  /** The backend that worked; until one has, each is tried in turn (nft first). */
  private backend?: Backend;
  /** Backends with something installed, to remove on stop. */
  private readonly installed = new Set<Backend>();

  constructor(private readonly opts: ProbeSensorOptions) {
    this.current = {
      state: 'off',
      interval_s: opts.intervalMs / 1000,
      keys: 0,
      reinstalls: 0,
      required: opts.mode === 'on',
    };
    this.retryMs = opts.intervalMs;
    this.nft = new NftBackend(opts.command, opts.rules);
    this.iptables = new IptablesBackend(
      opts.iptables ?? {
        iptables: 'iptables',
        iptablesSave: 'iptables-save',
        iptablesRestore: 'iptables-restore',
        ipset: 'ipset',
      },
      opts.iptablesRules,
    );
  }

  /** probe = off never starts; a start held off (see ProbeSensorOptions.holdOff) can be asked again. */
  async start(): Promise<void> {
    if (this.opts.mode === 'off' || this.running || this.stopping) return;
    const reason = this.opts.holdOff?.();
    if (reason !== undefined) {
      this.holdOff(reason);
      return;
    }
    this.running = true;
    this.current.state = 'installing';
    this.current.last_error = undefined;
    this.opts.onStatus();
    this.schedule(0);
  }

  status(): ProbeSensorStatus {
    return { ...this.current };
  }

  /** Not started, and why (shown in status). */
  private holdOff(reason: string): void {
    if (this.current.last_error === reason) return;
    this.current.last_error = reason;
    this.opts.log.info(`probe: off (${reason})`);
    this.opts.onStatus();
  }

  /** Take the next reading within ms (a deficit waits for confirmation). */
  pollSoon(ms: number): void {
    if (this.stopping || this.current.state !== 'running') return;
    if (this.timer && this.timerDue <= Date.now() + ms) return;
    this.schedule(ms);
  }

  /** The config or the LAN changed: a reading now finds the old fingerprint and installs the new rules. */
  rulesChanged(): void {
    this.nft.forget();
    this.iptables.forget();
    // A forward added in LuCI is counted from the Save & Apply on, not from the next interval.
    this.pollSoon(0);
  }

  /** Stops polling and removes what it installed. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.busy;
    for (const backend of this.installed) {
      const err = await backend.remove();
      if (err) this.opts.log.warn(`probe: cannot remove its ${backend.name} rules: ${err}`);
      else this.opts.log.info(`probe: ${backend.name} rules removed`);
    }
    this.nft.close();
    this.current.state = 'off';
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timerDue = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.busy) {
        // A tick is running; it schedules the next one when done.
        return;
      }
      this.busy = this.tick().finally(() => {
        this.busy = undefined;
      });
    }, ms);
  }

  private async tick(): Promise<void> {
    let next = this.opts.intervalMs;
    try {
      if (this.needInstall && !(await this.install())) {
        next = this.retryMs;
        return;
      }
      next = (await this.read()) ? this.opts.intervalMs : 0;
    } finally {
      if (!this.stopping && !this.timer) this.schedule(next);
    }
  }

  private async install(): Promise<boolean> {
    const candidates: Backend[] = this.backend ? [this.backend] : [this.nft, this.iptables];
    const reasons: string[] = [];
    for (const backend of candidates) {
      const err = await backend.install();
      if (this.stopping) {
        // The stop may have ended the install after nft committed it: removed either way.
        this.installed.add(backend);
        return false;
      }
      if (!err) {
        this.backend = backend;
        this.installed.add(backend);
        this.generation++;
        this.needInstall = false;
        this.retryMs = this.opts.intervalMs;
        this.current.state = 'running';
        this.current.backend = backend.name;
        this.current.since = new Date().toISOString();
        this.current.last_error = undefined;
        this.opts.log.info(`probe: ${backend.describe()}, reading every ${this.current.interval_s} s`);
        this.opts.onStatus();
        return true;
      }
      reasons.push(`${backend.name}: ${err}`);
    }
    const reason = reasons.join('; ').slice(0, 300);
    const changed = this.current.last_error !== reason;
    this.current.last_error = reason;
    if (this.opts.mode === 'auto' && !this.backend) {
      // auto: neither nft nor iptables works here; stay off, look again now and then.
      this.current.state = 'off';
      this.retryMs = AUTO_RETRY_MS;
      if (changed) this.opts.log.info(`probe: off (not usable here: ${reason})`);
    } else {
      this.current.state = 'failed';
      if (changed) this.opts.log.warn(`probe: cannot install its rules: ${reason}; trying again`);
      this.retryMs = Math.min(RETRY_MAX_MS, Math.max(this.opts.intervalMs, this.retryMs * 2));
    }
    this.opts.onStatus();
    return false;
  }

  /** One reading. False when the rules must be installed again (then the next tick comes at once). */
  private async read(): Promise<boolean> {
    const backend = this.backend;
    if (!backend) return false;
    const reading = await backend.read();
    const at = Date.now();
    if (this.stopping) return true;
    if ('lost' in reading) return this.lost(reading.lost);
    if ('error' in reading) {
      this.noteError(reading.error);
      return true;
    }
    if (this.current.state !== 'running' || this.current.last_error) {
      // Readings work again after failing: seeing again.
      if (this.current.state !== 'running') this.opts.log.info('probe: reading the counters again');
      this.current.state = 'running';
      this.current.last_error = undefined;
      this.opts.onStatus();
    }
    const sample = sampleFromDump(reading, reading.names, at, this.generation);
    if (this.current.keys !== sample.flows.length) {
      this.current.keys = sample.flows.length;
      this.opts.onStatus();
    }
    this.opts.onSample(sample);
    return true;
  }

  private lost(what: string): boolean {
    this.current.reinstalls++;
    this.needInstall = true;
    this.opts.log.warn(`probe: ${what} (firewall reload, proxy restart or a config change); installing it again`);
    this.opts.onStatus();
    return false;
  }

  /** A reading that failed: the probe sees nothing until one works again, so it is not running. */
  private noteError(message: string): void {
    if (this.current.last_error !== message) this.opts.log.warn(`probe: ${message}`);
    this.current.state = 'failed';
    this.current.last_error = message;
    this.opts.onStatus();
  }
}
