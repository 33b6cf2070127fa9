// Owns the watch on this router's ruleset: a long-running `nft monitor
// ruleset` child (restarted with backoff) whose every line (except those
// about replyguard's own tables) triggers a debounced re-read; a slow safety
// poll (60 s) of what nft monitor cannot show (`ip rule`, tcp_loose), with
// the whole ruleset text (`nft -s list ruleset`, legacy iptables-save) every
// tenth time; and on routers with legacy iptables rules a poll of
// `iptables-save` every 10 s. A full read (readLiveRuleset) runs only when something
// changed; a new snapshot is handed on only when its fingerprint (what
// matters to packets: no counters, no handles, no own tables) differs.
// Decides nothing.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { LoadIssue } from '../ruleset/model';
import { rulesetFingerprint } from '../ruleset/ruleset-diff';
import type { RulesetSnapshot } from '../ruleset/ruleset-snapshot';
import type { RulesetWatchState } from '../status/status-schema';
import type { Logger } from '../system/log';
import { RestartingChild } from '../system/restarting-child';
import { runCommand } from '../system/run-command';
import { which } from '../system/which';
import { readLiveRuleset, type SensorResult } from './ruleset-reader';

export interface RulesetWatchStatus {
  state: RulesetWatchState;
  /** How changes are noticed: "nft monitor" (+ "iptables-save poll"), or "poll" alone. */
  watch: string;
  /** Firewall backends in the last snapshot: nft, iptables (legacy or nft variant). */
  backend: string;
  /** rulesetFingerprint of the last snapshot. */
  fingerprint?: string;
  /** When a change of the fingerprint was last seen (ISO); absent until the first change after start. */
  changed_at?: string;
  read_at?: string;
  /** Full reads done (initial + on change). */
  reads: number;
  /** Times the `nft monitor` child was restarted. */
  restarts: number;
  monitor_pid?: number;
  last_error?: string;
}

export interface WatchedSnapshot {
  snapshot: RulesetSnapshot;
  fingerprint: string;
  problems: LoadIssue[];
  /** The previous one (undefined for the first read). */
  previous?: { snapshot: RulesetSnapshot; fingerprint: string };
}

export interface RulesetWatchOptions {
  log: Logger;
  onSnapshot: (w: WatchedSnapshot) => void;
  /** Every completed read, changed or not (the guard checks its rules, which the fingerprint leaves out). */
  onRead?: (snapshot: RulesetSnapshot) => void;
  onStatus?: () => void;
  /** Quiet time after the last monitor line before re-reading (default 500 ms: a proxy restart is one burst). */
  debounceMs?: number;
  /** The slow safety poll (default 60 s): policy routing and tcp_loose; the whole ruleset text every fullCheckEvery-th time. */
  safetyPollMs?: number;
  /** The iptables-save poll where legacy iptables rules exist (they make no nft monitor events). */
  legacyPollMs?: number;
  /** Tests: replaces the full read. */
  read?: () => Promise<SensorResult>;
  /** Tests: the nft binary (absent = found in sbin). */
  nftCommand?: string | null;
  /** Tests: the legacy iptables-save binary (absent = found in sbin; null = none). */
  legacySaveCommand?: string | null;
  /** Every how many safety polls the whole ruleset text is checked too (default 10: every 10 min). */
  fullCheckEvery?: number;
  /** Where /proc/sys is (tests). */
  procSys?: string;
}

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 60_000;
const STABLE_MS = 30_000;

/**
 * A monitor line about replyguard's own tables (the probe, the trace table) is no change. The
 * guard's table and rules are not counted as own: when something deletes them, the guard must hear.
 */
export function isOwnMonitorLine(line: string): boolean {
  if (/\breplyguard_guard\b|replyguard-guard/.test(line)) return false;
  return /\b(inet|ip|ip6) replyguard(_trace)?\b/.test(line) || /\breplyguard_/.test(line);
}

/** Strips what changes with traffic from `nft -s list ruleset` / iptables-save text: own tables, counters. */
export function cheapNormalize(text: string): string {
  const out: string[] = [];
  let skipDepth = 0;
  for (const line of text.split('\n')) {
    if (skipDepth > 0) {
      skipDepth += (line.match(/\{/g) ?? []).length - (line.match(/\}/g) ?? []).length;
      continue;
    }
    if (/^table \S+ replyguard/.test(line)) {
      skipDepth = (line.match(/\{/g) ?? []).length - (line.match(/\}/g) ?? []).length;
      continue;
    }
    if (/replyguard_/.test(line)) continue;
    if (/^#/.test(line)) continue; // iptables-save's "# Generated … on <date>"
    out.push(line.replace(/\[\d+:\d+\]/g, '[]').replace(/ expires \S+/g, ''));
  }
  return out.join('\n');
}

function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

export class RulesetWatch {
  readonly status: RulesetWatchStatus = { state: 'stopped', watch: '', backend: '', reads: 0, restarts: 0 };
  /** The `nft monitor ruleset` child; none where there is no nft. */
  private readonly monitor?: RestartingChild;
  private stopping = true;
  private debounceTimer?: NodeJS.Timeout;
  private safetyTimer?: NodeJS.Timeout;
  private legacyTimer?: NodeJS.Timeout;
  private reading?: Promise<void>;
  private readAgain = false;
  private last?: { snapshot: RulesetSnapshot; fingerprint: string };
  /** The last fingerprints() before a read (see there). */
  private light?: string;
  private full?: string;
  private polls = 0;
  private legacyText?: string;
  private readonly nft: string | null;
  private readonly legacySave: string | null;

  constructor(private readonly opts: RulesetWatchOptions) {
    this.nft = opts.nftCommand !== undefined ? opts.nftCommand : which('nft');
    this.legacySave =
      opts.legacySaveCommand !== undefined
        ? opts.legacySaveCommand
        : (which('iptables-legacy-save') ?? (this.nft ? null : which('iptables-save')));
    if (this.nft) this.monitor = this.makeMonitor(this.nft);
  }

  /** The last snapshot read, if any. */
  get current(): { snapshot: RulesetSnapshot; fingerprint: string } | undefined {
    return this.last;
  }

  /** Reads once (resolves after the first snapshot was handed on), then watches. */
  async start(): Promise<void> {
    if (!this.stopping) return;
    this.stopping = false;
    this.status.state = 'starting';
    // The monitor first: a change during the first read then causes another read, never a miss.
    if (this.monitor) this.monitor.start();
    else this.status.state = 'polling';
    this.status.watch = this.nft ? 'nft monitor' : 'poll';
    await this.fullRead();
    if (this.stopping) return;
    if (this.legacyActive()) this.status.watch += ' + iptables-save poll';
    this.safetyTimer = setInterval(() => void this.safetyPoll(), this.opts.safetyPollMs ?? 60_000);
    this.safetyTimer.unref();
    this.armLegacyPoll();
    this.opts.onStatus?.();
  }

  stop(): void {
    this.stopping = true;
    clearTimeout(this.debounceTimer);
    clearInterval(this.safetyTimer);
    clearInterval(this.legacyTimer);
    this.monitor?.stop();
    delete this.status.monitor_pid;
    this.status.state = 'stopped';
  }

  childPids(): number[] {
    const pid = this.monitor?.pid;
    return pid !== undefined ? [pid] : [];
  }

  /** Re-read now (a "re-check" button, or a caller that knows something changed). */
  refresh(): Promise<void> {
    return this.fullRead();
  }

  private legacyActive(): boolean {
    if (!this.legacySave) return false;
    if (!this.nft) return true;
    return (this.legacyText ?? '').split('\n').some((l) => l.startsWith('*'));
  }

  private armLegacyPoll(): void {
    clearInterval(this.legacyTimer);
    if (!this.legacyActive() || this.stopping) return;
    this.legacyTimer = setInterval(() => void this.legacyPoll(), this.opts.legacyPollMs ?? 10_000);
    this.legacyTimer.unref();
  }

  private async legacyPoll(): Promise<void> {
    if (!this.legacySave) return;
    const res = await runCommand([this.legacySave], { timeoutMs: 10_000 });
    if (res.error || res.code !== 0) return;
    const text = cheapNormalize(res.stdout);
    if (this.legacyText !== undefined && text !== this.legacyText) {
      this.opts.log.debug('ruleset watch: iptables-save changed');
      this.schedule(0);
    }
    this.legacyText = text;
  }

  /** tcp_loose straight from /proc (no process). */
  private tcpLoose(): string {
    try {
      return readFileSync(`${this.opts.procSys ?? '/proc/sys'}/net/netfilter/nf_conntrack_tcp_loose`, 'utf8').trim();
    } catch {
      return 'unreadable';
    }
  }

  /**
   * Fingerprints of what the read depends on, without a full read: `light` (policy routing and
   * tcp_loose: what nft monitor does not show) and `full` (light + `nft -s list ruleset` + legacy
   * iptables-save), each over text with counters and replyguard's own tables left out.
   */
  private async fingerprints(full: boolean): Promise<{ light: string; full?: string }> {
    const cmds: string[][] = [['ip', 'rule', 'show']];
    if (full && this.nft) cmds.push([this.nft, '-s', 'list', 'ruleset']);
    if (full && this.legacySave) cmds.push([this.legacySave]);
    const results = await Promise.all(cmds.map((c) => runCommand(c, { timeoutMs: 10_000 })));
    const texts = results.map((r) =>
      r.error || r.code !== 0 ? `failed ${r.error ?? r.code}` : cheapNormalize(r.stdout),
    );
    const light = hash(`${texts[0]}\n\u0000\n${this.tcpLoose()}`);
    if (!full) return { light };
    if (this.legacySave) {
      const r = results[results.length - 1]!;
      if (!r.error && r.code === 0) this.legacyText = texts[texts.length - 1];
    }
    return { light, full: hash(`${light}\n\u0000\n${texts.slice(1).join('\n\u0000\n')}`) };
  }

  /**
   * Every safety poll checks policy routing and tcp_loose (one `ip rule` and a /proc read); every
   * FULL_CHECK_EVERY-th poll, or every poll when nft monitor is not running, the whole ruleset text.
   */
  private async safetyPoll(): Promise<void> {
    if (this.stopping) return;
    this.polls++;
    const full = !this.monitor?.running || this.polls % (this.opts.fullCheckEvery ?? 10) === 0;
    const wasLegacy = this.legacyActive();
    const f = await this.fingerprints(full);
    if (this.legacyActive() !== wasLegacy) this.armLegacyPoll();
    const changed = f.light !== this.light || (f.full !== undefined && f.full !== this.full);
    if (changed) {
      this.opts.log.debug(`ruleset watch: safety poll (${full ? 'full' : 'routing'}) saw a change`);
      this.light = f.light;
      if (f.full !== undefined) this.full = f.full;
      this.schedule(0);
    }
  }

  private schedule(delayMs = this.opts.debounceMs ?? 500): void {
    if (this.stopping) return;
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => void this.fullRead(), delayMs);
  }

  private fullRead(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.readAgain = false;
        // The fingerprints before the read: a change in between makes the next safety poll read again.
        const f = await this.fingerprints(true);
        this.light = f.light;
        this.full = f.full;
        await this.readOnce();
      } while (this.readAgain && !this.stopping);
      this.reading = undefined;
    })();
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    let res: SensorResult;
    try {
      res = await (this.opts.read ?? (() => readLiveRuleset()))();
    } catch (err) {
      this.status.last_error = (err as Error).message;
      this.opts.log.warn(`ruleset watch: read failed: ${this.status.last_error}`);
      this.opts.onStatus?.();
      return;
    }
    if (this.stopping && this.last) return;
    const now = Date.now();
    this.status.reads++;
    this.status.read_at = new Date(now).toISOString();
    const fingerprint = rulesetFingerprint(res.snapshot.ruleset);
    this.opts.onRead?.(res.snapshot);
    const backends = new Set<string>();
    for (const t of res.snapshot.ruleset.tables)
      backends.add(t.backend === 'nft' ? 'nft' : `iptables${t.variant ? `-${t.variant}` : ''}`);
    this.status.backend = [...backends].sort().join('+') || 'none';
    const problems = res.problems;
    const errors = problems.filter((p) => p.severity === 'error' || /not installed/.test(p.message));
    // A firewall tool that failed or timed out (nft -j, iptables-save) leaves the snapshot incomplete: say so.
    const toolFailed = problems.filter(
      (p) => /^(nft -j|ip6?tables-save)$/.test(p.source) && !/not installed/.test(p.message),
    );
    const shown = errors[0] ?? toolFailed[0];
    if (shown) {
      const text = `${shown.source}: ${shown.message}`;
      if (text !== this.status.last_error) this.opts.log.warn(`ruleset watch: ${text}`);
      this.status.last_error = text;
    } else if (this.status.last_error && !this.status.last_error.startsWith('nft monitor'))
      delete this.status.last_error;
    if (this.last && this.last.fingerprint === fingerprint) {
      this.opts.onStatus?.();
      return;
    }
    const previous = this.last;
    this.last = { snapshot: res.snapshot, fingerprint };
    this.status.fingerprint = fingerprint;
    if (previous) this.status.changed_at = new Date(now).toISOString();
    this.opts.onSnapshot({ snapshot: res.snapshot, fingerprint, problems, ...(previous ? { previous } : {}) });
    this.opts.onStatus?.();
  }

  private makeMonitor(nft: string): RestartingChild {
    return new RestartingChild([nft, 'monitor', 'ruleset'], {
      minBackoffMs: BACKOFF_MIN_MS,
      maxBackoffMs: BACKOFF_MAX_MS,
      stableMs: STABLE_MS,
      // Any line that is not about replyguard's own tables means a change. A line cut in two by a chunk
      // boundary may cause one needless re-read (its fingerprint is then unchanged): harmless.
      onStdout: (chunk) => {
        if (chunk.split('\n').some((line) => line.trim() !== '' && !isOwnMonitorLine(line))) this.schedule();
      },
      onUp: (pid) => {
        if (pid !== undefined) this.status.monitor_pid = pid;
        this.status.state = 'running';
        delete this.status.last_error;
        this.opts.onStatus?.();
      },
      onDown: (why, retryMs) => {
        delete this.status.monitor_pid;
        this.status.last_error = `nft monitor: ${why}`;
        this.status.state = 'restarting';
        this.status.restarts++;
        this.opts.log.warn(`ruleset watch: nft monitor ${why}; restarting in ${retryMs} ms`);
        this.opts.onStatus?.();
      },
      // Whatever changed while it was down is caught by a read after the restart.
      onRestarted: () => this.schedule(0),
    });
  }
}
