// The guard inside the daemon (guard = auto): after every read of the
// ruleset, decides from the pure guard status whether the guard is in place
// and effective; when it is needed and is not (a proxy restart or a firewall
// reload took it out), applies the plan again, logs it and asks for a fresh
// read to verify. Applies that do not take are retried with a growing delay,
// so a proxy that keeps rebuilding its chains is never fought in a loop.
// Switching from auto to off takes the guard out; stopping the daemon leaves
// it in place (the forward keeps working while replyguard is down).

import type { Config, GuardMode } from '../config/config';
import { applyGuard, type GuardIoResult, removeGuard } from '../guard/guard-apply';
import { guardInputFor } from '../guard/guard-input';
import type { GuardPlan } from '../guard/guard-plan';
import { findGuard, type GuardStatus, guardStatus, type PresentGuard } from '../guard/guard-status';
import type { RulesetSnapshot } from '../ruleset/ruleset-snapshot';
import type { GuardStatusPart } from '../status/status-document';
import type { Logger } from '../util/log';

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

const kernelIo: GuardIo = { apply: (plan, present) => applyGuard(plan, present), remove: (p) => removeGuard(p) };

export class GuardUnit {
  private mode: GuardMode;
  private config: Config;
  private snapshot?: RulesetSnapshot;
  private last?: GuardStatus;
  private busy = false;
  private again = false;
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
    this.check();
  }

  /** A re-read config: its forwards, and its guard option (a change of mode applies or removes). */
  setConfig(config: Config, mode: GuardMode, why: string): Promise<void> {
    this.config = config;
    if (mode !== this.mode) return this.setMode(mode, why);
    this.check();
    return Promise.resolve();
  }

  /** off → auto applies at once; auto → off takes the guard out. */
  async setMode(mode: GuardMode, why: string): Promise<void> {
    if (mode === this.mode) return;
    const was = this.mode;
    this.mode = mode;
    this.failures = 0;
    this.retryAt = undefined;
    clearTimeout(this.retryTimer);
    this.opts.log.info(`guard: ${was} → ${mode} (${why})`);
    if (mode === 'auto') this.check();
    else await this.remove();
    this.opts.onChange();
  }

  stop(): void {
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
    if (this.busy) {
      this.again = true;
      return;
    }
    const wait = (this.retryAt ?? 0) - this.now();
    if (wait > 0) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.check(), wait);
      return;
    }
    void this.apply(s);
  }

  private async apply(s: GuardStatus): Promise<void> {
    this.busy = true;
    const first = this.applies === 0;
    const why = first ? 'guard = auto' : `re-applying: ${s.summary}`;
    let res: GuardIoResult;
    try {
      res = await this.io.apply(s.plan, s.present);
    } catch (err) {
      res = { ok: false, commands: [], errors: [(err as Error).message] };
    }
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
    this.busy = false;
    this.opts.onChange();
    if (this.stopped) return;
    this.opts.reread();
    if (this.again) {
      this.again = false;
      this.check();
    }
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
    if (res.ok) {
      this.lastError = undefined;
      this.opts.log.info(`guard: removed ${present.rules.length} rule(s)`);
    } else this.setError(`remove failed: ${res.errors.join('; ')}`);
    this.opts.reread();
  }

  private setError(msg: string): void {
    if (msg !== this.lastError) this.opts.log.warn(`guard: ${msg}`);
    this.lastError = msg;
  }
}
