// The guard inside the daemon (guard = auto): after every read of the
// ruleset, decides from the pure guard status whether the guard is in place
// and effective; when it is needed and is not (a proxy restart or a firewall
// reload took it out), applies the plan again, logs it and asks for a fresh
// read to verify. Applies that do not take are retried with a growing delay,
// so a proxy that keeps rebuilding its chains is never fought in a loop.
// Switching from auto to off takes the guard out; stopping the daemon leaves
// it in place (the forward keeps working while replyguard is down).
// Applies and removes run one at a time through one queue, and each looks at
// the mode when its turn comes: a switch to off during an apply removes what
// that apply added (found by the read that follows it), whatever the order.

import { applyGuard, type GuardIoResult, removeGuard } from '../actions/guard-apply';
import type { Config, GuardMode } from '../config/config';
import { guardInputFor } from '../guard/guard-input';
import type { GuardPlan } from '../guard/guard-plan';
import { findGuard, type GuardStatus, guardStatus, type PresentGuard } from '../guard/guard-status';
import type { RulesetSnapshot } from '../ruleset/ruleset-snapshot';
import type { GuardStatusPart } from '../status/status-schema';
import type { Logger } from '../system/log';
import type { Unit } from '../system/unit';

/** The kernel side; tests put a fake here. */
export interface GuardIo {
  apply(plan: GuardPlan, present: PresentGuard): Promise<GuardIoResult>;
  remove(present: PresentGuard): Promise<GuardIoResult>;
}

export interface GuardUnitOptions {
  mode: GuardMode;
  config: Config;
  log: Logger;
  /** Ask for a fresh ruleset read: an apply or remove is verified by the read that follows. */
  reread: () => void;
  /** Something in status() changed. */
  onChange: () => void;
  io?: GuardIo;
  /** Delay before the n-th retry of an apply that did not take: first, max (ms). */
  retryMs?: [number, number];
  now?: () => number;
}

const DEFAULT_RETRY_MS: [number, number] = [1000, 300_000];
/** After switching to off, a remove that keeps failing is tried this often, then left to the user. */
const MAX_REMOVE_FAILURES = 3;

const kernelIo: GuardIo = { apply: (plan, present) => applyGuard(plan, present), remove: (p) => removeGuard(p) };

export class GuardUnit implements Unit<GuardStatusPart> {
  readonly name = 'guard';
  private mode: GuardMode;
  private config: Config;
  private snapshot?: RulesetSnapshot;
  private last?: GuardStatus;
  /** The apply or remove running now, if any; the next waits for it. */
  private queue: Promise<void> = Promise.resolve();
  private applyQueued = false;
  private applying = false;
  private removeQueued = false;
  private removeFailures = 0;
  /** An apply or remove ran since the last read: the snapshot no longer shows the kernel. */
  private stale = false;
  /** Switched to off and no read has yet shown the guard gone: every read removes what it shows. */
  private removing = false;
  /** Applies since the guard was last seen in place and effective. */
  private failures = 0;
  private retryAt?: number;
  private retryTimer?: NodeJS.Timeout;
  private applies = 0;
  private lastApply?: number;
  private lastError?: string;
  private stopped = false;
  private readonly io: GuardIo;
  private readonly now: () => number;

  constructor(private readonly opts: GuardUnitOptions) {
    this.mode = opts.mode;
    this.config = opts.config;
    this.io = opts.io ?? kernelIo;
    this.now = opts.now ?? Date.now;
  }

  get currentMode(): GuardMode {
    return this.mode;
  }

  /** Every read of the ruleset, changed or not: a guard rule deleted by a proxy is no fingerprint change. */
  onRead(snapshot: RulesetSnapshot): void {
    this.snapshot = snapshot;
    this.stale = false;
    this.check();
  }

  /** A re-read config: its forwards, and its guard option (a change of mode applies or removes). */
  setConfig(config: Config, mode: GuardMode, why: string): Promise<void> {
    this.config = config;
    if (mode !== this.mode) return this.setMode(mode, why);
    this.check();
    return Promise.resolve();
  }

  /** off → auto applies at once; auto → off takes the guard out (also what an apply running now adds). */
  async setMode(mode: GuardMode, why: string): Promise<void> {
    if (mode === this.mode) return;
    const was = this.mode;
    this.mode = mode;
    this.failures = 0;
    this.retryAt = undefined;
    clearTimeout(this.retryTimer);
    this.opts.log.info(`guard: ${was} → ${mode} (${why})`);
    this.removing = mode === 'off';
    this.removeFailures = 0;
    if (mode === 'auto') this.check();
    else await this.enqueueRemove();
    this.opts.onChange();
  }

  /** Nothing to start: it acts on the ruleset reads it is given (onRead). */
  async start(): Promise<void> {}

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.mode === 'auto' && (this.last?.present.rules.length ?? 0) > 0)
      this.opts.log.info('guard: left in place at stop (replyguard guard remove takes it out)');
  }

  status(): GuardStatusPart {
    const s = this.last;
    const base = {
      mode: this.mode,
      applies: this.applies,
      last_apply: this.lastApply === undefined ? null : new Date(this.lastApply).toISOString(),
      ...(this.lastError ? { last_error: this.lastError } : {}),
      ...(this.mode === 'auto' && this.retryAt !== undefined && this.retryAt > this.now()
        ? { retry_at: new Date(this.retryAt).toISOString() }
        : {}),
    };
    if (!this.snapshot) return { ...base, state: 'unknown', summary: 'the ruleset was not read yet', rules: 0 };
    if (!s) {
      return {
        ...base,
        state: 'no_forwards',
        summary: 'no forwards declared: the guard exempts only the replies of declared forwards',
        rules: findGuard(this.snapshot.ruleset).rules.length,
      };
    }
    const state: GuardStatusPart['state'] = !s.needed
      ? 'not_needed'
      : s.inPlace && s.effective
        ? 'in_place'
        : s.inPlace
          ? 'ineffective'
          : 'missing';
    return { ...base, state, summary: s.summary, rules: s.present.rules.length };
  }

  private check(): void {
    if (!this.snapshot || this.stopped) return;
    if (this.mode === 'off' && this.removing && !this.stale) {
      const present = findGuard(this.snapshot.ruleset);
      if (present.rules.length > 0 || present.ownTable) void this.enqueueRemove();
      else if (!this.removeQueued) this.removing = false;
    }
    const before = this.last;
    this.last = this.config.forwards.length > 0 ? guardStatus(guardInputFor(this.config, this.snapshot)) : undefined;
    const s = this.last;
    if (before?.summary !== s?.summary) this.opts.onChange();
    if (!s || this.mode !== 'auto') return;
    if (!s.needed || (s.inPlace && s.effective)) {
      if (this.failures > 0 || this.retryAt !== undefined) this.opts.onChange();
      this.failures = 0;
      this.retryAt = undefined;
      clearTimeout(this.retryTimer);
      return;
    }
    if (s.plan.steps.length === 0) {
      this.setError(`cannot guard: ${s.plan.notes[0] ?? s.summary}`);
      return;
    }
    // The read that follows the running apply (or remove) decides whether another is needed.
    if (this.applyQueued || this.applying || this.stale) return;
    const wait = (this.retryAt ?? 0) - this.now();
    if (wait > 0) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.check(), wait);
      return;
    }
    this.applyQueued = true;
    void this.enqueue(() => {
      this.applyQueued = false;
      // The mode, the forwards or the ruleset may have changed while waiting: decide on the latest.
      if (this.mode !== 'auto' || this.stopped || this.stale || this.last === undefined) return Promise.resolve();
      if (!this.last.needed || (this.last.inPlace && this.last.effective) || this.last.plan.steps.length === 0)
        return Promise.resolve();
      return this.apply(this.last);
    });
  }

  /** Runs `op` after every operation queued before it (at most one apply and one remove wait). */
  private enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => {});
    return next;
  }

  private enqueueRemove(): Promise<void> {
    if (this.removeQueued) return this.queue;
    this.removeQueued = true;
    return this.enqueue(() => {
      this.removeQueued = false;
      return this.mode === 'off' ? this.remove() : Promise.resolve();
    });
  }

  private async apply(s: GuardStatus): Promise<void> {
    const first = this.applies === 0;
    const why = first ? 'guard = auto' : `re-applying: ${s.summary}`;
    let res: GuardIoResult;
    this.applying = true;
    try {
      res = await this.io.apply(s.plan, s.present);
    } catch (err) {
      res = { ok: false, commands: [], errors: [(err as Error).message] };
    } finally {
      this.applying = false;
    }
    this.stale = true;
    this.applies++;
    this.lastApply = this.now();
    this.failures++;
    const [firstMs, maxMs] = this.opts.retryMs ?? DEFAULT_RETRY_MS;
    this.retryAt = this.now() + Math.min(maxMs, firstMs * 2 ** (this.failures - 1));
    const rules = s.plan.steps.filter((x) => x.op !== 'create-table').length;
    if (res.ok) {
      this.lastError = undefined;
      const where = [...new Set(s.plan.steps.map((x) => `${x.table} ${x.chain}`))].join(', ');
      this.opts.log.info(`guard: ${why}: applied ${rules} rule(s) in ${where}`);
    } else this.setError(`apply failed: ${res.errors.join('; ')}`);
    this.opts.onChange();
    if (this.stopped) return;
    this.opts.reread();
  }

  private async remove(): Promise<void> {
    const present = this.snapshot ? findGuard(this.snapshot.ruleset) : undefined;
    if (!present || (present.rules.length === 0 && !present.ownTable)) return;
    let res: GuardIoResult;
    try {
      res = await this.io.remove(present);
    } catch (err) {
      res = { ok: false, commands: [], errors: [(err as Error).message] };
    }
    this.stale = true;
    if (res.ok) {
      this.lastError = undefined;
      this.opts.log.info(`guard: removed ${present.rules.length} rule(s)`);
    } else {
      this.setError(`remove failed: ${res.errors.join('; ')}`);
      // Reported in status; not fought over on every read.
      if (++this.removeFailures >= MAX_REMOVE_FAILURES) this.removing = false;
    }
    this.opts.reread();
  }

  private setError(msg: string): void {
    if (msg !== this.lastError) this.opts.log.warn(`guard: ${msg}`);
    this.lastError = msg;
  }
}
