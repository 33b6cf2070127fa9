// Looks for programs that see the LAN's packets before netfilter: with tc, the BPF filters on each LAN
// interface's ingress (and its bridge ports'); without tc (OpenWrt's images have none unless tc-tiny or
// tc-full is installed), the traffic-control programs that running processes hold, read from /proc.
// With tc, a long-running `tc monitor` (restarted with backoff) says when a qdisc or filter changes, and
// only then is tc asked again (a new tc every 30 s costs the idle daemon ~0.05 s of CPU a minute); a
// slow safety read covers a monitor that missed something. Without tc, or while the monitor is down,
// it polls every interval: such a proxy is started or stopped by hand, not every second.

import { readdir, readFile, readlink } from 'node:fs/promises';
import {
  blindSpotText,
  type EbpfHook,
  hooksFromProcesses,
  hooksFromTc,
  type ProcessProgram,
} from '../detector/ebpf-hooks';
import { parseBpfFdinfo, TC_PROGRAM_TYPES } from '../net/bpf-fdinfo';
import { parseTcFilterJson, type TcBpfFilter } from '../net/tc-filter-json';
import type { EbpfSensorStatus } from '../status/status-schema';
import type { Logger } from '../system/log';
import { RestartingChild } from '../system/restarting-child';
import { runCommand } from '../system/run-command';
import type { Unit } from '../system/unit';

/** A router runs a few hundred processes at most; the scan stops there, and at so many descriptors each. */
const MAX_PIDS = 4096;
const MAX_FDS_PER_PID = 1024;
const TC_TIMEOUT_MS = 5000;
const BPF_PROG_LINK = 'anon_inode:bpf-prog';
/** Quiet time after the last monitor line before reading: attaching a program is a burst of lines. */
const MONITOR_DEBOUNCE_MS = 300;
const MONITOR_BACKOFF_MIN_MS = 1000;
const MONITOR_BACKOFF_MAX_MS = 300_000;
/** A monitor that ran this long before it ended starts again without waiting long. */
const MONITOR_STABLE_MS = 60_000;
/** With the monitor running, a reading at least this often anyway. */
const MONITOR_SAFETY_MS = 600_000;

export interface EbpfSensorOptions {
  /** Path of tc; null where there is none (then /proc is read). */
  tcCommand: string | null;
  procRoot?: string;
  /** Between readings without the monitor (no tc, or the monitor is down). */
  intervalMs: number;
  log: Logger;
  /** The interfaces whose ingress matters now: the LAN interfaces present and their bridge ports. */
  interfaces: () => string[];
  onStatus: () => void;
}

export class EbpfSensor implements Unit<EbpfSensorStatus> {
  readonly name = 'ebpf';
  private readonly current: EbpfSensorStatus = { state: 'off', hooks: [] };
  private timer?: NodeJS.Timeout;
  private busy?: Promise<void>;
  private again = false;
  private stopped = false;
  private started = false;
  /** `tc monitor`; none without tc. */
  private readonly monitor?: RestartingChild;
  private debounce?: NodeJS.Timeout;
  private lastReadAt = 0;

  constructor(private readonly opts: EbpfSensorOptions) {
    this.current.way = opts.tcCommand ? 'tc' : 'proc';
    this.current.watch = 'poll';
    if (opts.tcCommand) this.monitor = this.makeMonitor(opts.tcCommand);
  }

  /** Reads once (the monitor already listening), then keeps watching; resolves after the first reading. */
  async start(): Promise<void> {
    this.started = true;
    this.monitor?.start();
    this.pollSoon();
    await this.busy;
    this.timer = setInterval(() => {
      if (!this.monitor?.running || Date.now() - this.lastReadAt >= MONITOR_SAFETY_MS) this.pollSoon();
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    this.monitor?.stop();
  }

  status(): EbpfSensorStatus {
    return { ...this.current, hooks: [...this.current.hooks] };
  }

  /** Reads again now (a re-check, the LAN interfaces changed); one reading at a time. */
  pollSoon(): void {
    if (this.stopped || !this.started) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = this.poll().finally(() => {
      this.busy = undefined;
      if (this.again) {
        this.again = false;
        this.pollSoon();
      }
    });
  }

  private async poll(): Promise<void> {
    this.lastReadAt = Date.now();
    let hooks: EbpfHook[];
    try {
      hooks = this.opts.tcCommand ? await this.readTc(this.opts.tcCommand) : hooksFromProcesses(await this.scanProc());
    } catch (err) {
      this.fail((err as Error).message);
      return;
    }
    if (this.stopped) return;
    const changed = JSON.stringify(hooks) !== JSON.stringify(this.current.hooks) || this.current.state !== 'running';
    if (!changed) return;
    const before = blindSpotText(this.current.hooks);
    const now = blindSpotText(hooks);
    if (now && now !== before) this.opts.log.warn(now);
    else if (!now && before) this.opts.log.info('eBPF: no program before netfilter on the LAN any more');
    if (this.current.state === 'failed') this.opts.log.info('eBPF: reading again');
    this.current.hooks = hooks;
    this.current.state = 'running';
    delete this.current.last_error;
    this.current.since = new Date().toISOString();
    this.opts.onStatus();
  }

  /** Any line of `tc monitor` (a qdisc, chain or filter added, changed or deleted) means: read again. */
  private makeMonitor(tc: string): RestartingChild {
    return new RestartingChild([tc, 'monitor'], {
      minBackoffMs: MONITOR_BACKOFF_MIN_MS,
      maxBackoffMs: MONITOR_BACKOFF_MAX_MS,
      stableMs: MONITOR_STABLE_MS,
      onStdout: () => {
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => this.pollSoon(), MONITOR_DEBOUNCE_MS);
      },
      onUp: () => {
        this.current.watch = 'tc monitor';
        this.opts.onStatus();
      },
      onDown: (why, retryMs) => {
        this.opts.log.warn(
          `eBPF: tc monitor ${why.split('\n')[0]!.slice(0, 200)}; reading every ${this.opts.intervalMs / 1000} s meanwhile, monitor again in ${retryMs} ms`,
        );
        this.current.watch = 'poll';
        this.opts.onStatus();
        // What changed while it was down is read at once.
        this.pollSoon();
      },
      onRestarted: () => this.pollSoon(),
    });
  }

  private async readTc(tc: string): Promise<EbpfHook[]> {
    const readings: Array<{ ifname: string; filters: TcBpfFilter[] }> = [];
    for (const ifname of this.opts.interfaces()) {
      const r = await runCommand([tc, '-j', 'filter', 'show', 'dev', ifname, 'ingress'], {
        timeoutMs: TC_TIMEOUT_MS,
        maxBytes: 1024 * 1024,
      });
      // Gone between the address reading and now: the next reading has the new list.
      if (/Cannot find device/.test(r.stderr)) continue;
      if (r.error) throw new Error(r.error);
      if (r.code !== 0)
        throw new Error(
          `tc -j filter show dev ${ifname} ingress: ${r.stderr.trim().split('\n')[0] || `exit code ${r.code}`}`,
        );
      readings.push({ ifname, filters: parseTcFilterJson(r.stdout) });
    }
    return hooksFromTc(readings);
  }

  private async scanProc(): Promise<ProcessProgram[]> {
    const root = this.opts.procRoot ?? '/proc';
    const pids = (await readdir(root)).filter((n) => /^\d+$/.test(n)).slice(0, MAX_PIDS);
    const found: ProcessProgram[] = [];
    for (const pid of pids) {
      let fds: string[];
      try {
        fds = (await readdir(`${root}/${pid}/fd`)).slice(0, MAX_FDS_PER_PID);
      } catch {
        continue; // gone, or a kernel thread
      }
      for (const fd of fds) {
        try {
          if ((await readlink(`${root}/${pid}/fd/${fd}`)) !== BPF_PROG_LINK) continue;
          const program = parseBpfFdinfo(await readFile(`${root}/${pid}/fdinfo/${fd}`, 'utf8'));
          if (!program || !TC_PROGRAM_TYPES.has(program.type)) continue;
          const comm = (await readFile(`${root}/${pid}/comm`, 'utf8')).trim();
          found.push({ pid: Number(pid), comm, program });
        } catch {
          // closed meanwhile
        }
      }
    }
    return found;
  }

  private fail(why: string): void {
    const text = why.slice(0, 300);
    if (this.current.state === 'failed' && this.current.last_error === text) return;
    this.opts.log.warn(`eBPF: ${text}`);
    this.current.state = 'failed';
    this.current.last_error = text;
    this.current.since = new Date().toISOString();
    this.opts.onStatus();
  }
}
