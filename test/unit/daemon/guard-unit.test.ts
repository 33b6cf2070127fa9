// The daemon's guard (guard = auto) on golden rulesets, with the kernel side
// faked: the fake apply hands back the ruleset with the plan simulated in it,
// as the next read would show. Checks when it applies, re-applies, backs off,
// removes, and what status() says.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { GuardIoResult } from '../../../src/actions/guard-apply';
import type { Config } from '../../../src/config/config';
import { setMainOption } from '../../../src/config/config-edit';
import { parseConfigText } from '../../../src/config/config-text';
import { type GuardIo, GuardUnit } from '../../../src/daemon/guard-unit';
import type { GuardPlan } from '../../../src/guard/guard-plan';
import { simulateGuard, stripGuard } from '../../../src/guard/guard-simulate';
import { findGuard, type PresentGuard } from '../../../src/guard/guard-status';
import { makeSnapshot, type RulesetSnapshot } from '../../../src/ruleset/ruleset-snapshot';
import { readDumpDir } from '../../../src/sensors/ruleset-reader';
import { statusEvents } from '../../../src/status/status-events';
import { createLogger } from '../../../src/system/log';

const DIR = join(__dirname, '..', '..', 'golden', 'rulesets');
const ATTACKS = join(__dirname, '..', '..', 'fixtures', 'attacks');

function config(forwards = true): Config {
  const lines = ['[main]', 'lan_interfaces[] = br-lan', 'lan_subnets[] = 192.168.1.0/24'];
  if (forwards) lines.push('[forward.nas]', 'host = 192.168.1.10', 'port = 443', 'proto = tcp');
  return parseConfigText(`${lines.join('\n')}\n`, 'test.ini');
}

function snapshot(name: string): RulesetSnapshot {
  return makeSnapshot(readDumpDir(join(DIR, name)));
}

function withRuleset(s: RulesetSnapshot, ruleset: RulesetSnapshot['ruleset']): RulesetSnapshot {
  return { ...s, ruleset };
}

interface Harness {
  unit: GuardUnit;
  applies: GuardPlan[];
  removes: PresentGuard[];
  rereads: number;
  logs: string[];
  /** What the kernel holds after the fake I/O. */
  kernel: RulesetSnapshot;
}

function harness(
  fixture: string,
  opts: {
    mode?: 'off' | 'auto';
    forwards?: boolean;
    fail?: boolean;
    retryMs?: [number, number];
    /** How long the fake apply takes. */
    applyMs?: number;
    /** A reread gives the unit the kernel's state, as the daemon's ruleset unit does. */
    feedReads?: boolean;
  } = {},
): Harness {
  const h = { applies: [], removes: [], rereads: 0, logs: [], kernel: snapshot(fixture) } as unknown as Harness;
  const io: GuardIo = {
    async apply(plan): Promise<GuardIoResult> {
      h.applies.push(plan);
      if (opts.applyMs) await sleep(opts.applyMs);
      if (opts.fail) return { ok: false, commands: [], errors: ['nft -f -: Error: Could not process rule'] };
      h.kernel = withRuleset(h.kernel, simulateGuard(stripGuard(h.kernel.ruleset), plan.steps));
      return { ok: true, commands: [], errors: [] };
    },
    async remove(present): Promise<GuardIoResult> {
      h.removes.push(present);
      h.kernel = withRuleset(h.kernel, stripGuard(h.kernel.ruleset));
      return { ok: true, commands: [], errors: [] };
    },
  };
  h.unit = new GuardUnit({
    mode: opts.mode ?? 'auto',
    config: config(opts.forwards ?? true),
    log: createLogger('debug', (l) => h.logs.push(l)),
    reread: () => {
      h.rereads++;
      if (opts.feedReads) setImmediate(() => h.unit.onRead(h.kernel));
    },
    onChange: () => {},
    io,
    retryMs: opts.retryMs ?? [40, 320],
  });
  return h;
}

const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('guard unit (guard = auto)', () => {
  it('applies on the first read where replies are swallowed, then sees it in place', async () => {
    const h = harness('openclash-fw4-tun');
    h.unit.onRead(h.kernel);
    assert.equal(h.unit.status().state, 'missing');
    await tick();
    assert.equal(h.applies.length, 1);
    assert.equal(h.rereads, 1, 'an apply is verified by a fresh read');
    assert.match(h.logs.join(''), /info: guard: guard = auto: applied \d+ rule\(s\) in /);
    h.unit.onRead(h.kernel);
    const st = h.unit.status();
    assert.equal(st.state, 'in_place', st.summary);
    assert.equal(st.applies, 1);
    assert.ok(st.rules > 0);
    assert.equal(st.retry_at, undefined, 'a guard seen in place clears the retry');
    h.unit.onRead(h.kernel);
    await tick();
    assert.equal(h.applies.length, 1, 'nothing is applied while the guard is in place');
  });

  it('re-applies at once when a proxy restart took the guard out, and logs it', async () => {
    const h = harness('openclash-fw4-tun');
    h.unit.onRead(h.kernel);
    await tick();
    h.unit.onRead(h.kernel);
    const before = h.unit.status();
    // The proxy deletes and rebuilds its chains: the tagged rules are gone.
    h.kernel = withRuleset(h.kernel, stripGuard(h.kernel.ruleset));
    h.unit.onRead(h.kernel);
    await tick();
    assert.equal(h.applies.length, 2);
    assert.match(h.logs.join(''), /guard: re-applying: .*applied/);
    h.unit.onRead(h.kernel);
    const after = h.unit.status();
    assert.equal(after.state, 'in_place');
    assert.equal(after.applies, 2);
    // The event people can automate on.
    const docOf = (g: typeof before) => ({ guard: g, findings: [], ruleset: null, timeline: [] }) as never;
    const events = statusEvents(docOf(before), docOf(after));
    assert.deepEqual(
      events.map((e) => e.event_type),
      ['guard_applied'],
    );
    assert.match(events[0]!.summary, /applied again/);
  });

  it('an apply that does not take is retried with a growing delay, never in a loop', async () => {
    // Delays long enough that a loaded machine's slow ticks do not reach the first retry.
    const h = harness('openclash-fw4-tun', { fail: true, retryMs: [600, 2400] });
    const started = Date.now();
    h.unit.onRead(h.kernel);
    await tick();
    assert.equal(h.applies.length, 1);
    // Reads in quick succession (as each failed apply causes) do not apply again before the delay.
    for (let i = 0; i < 5; i++) h.unit.onRead(h.kernel);
    await tick();
    assert.equal(h.applies.length, 1);
    const st = h.unit.status();
    assert.equal(st.state, 'missing');
    assert.match(st.last_error ?? '', /apply failed: nft -f -: Error: Could not process rule/);
    assert.ok(st.retry_at, 'status says when it tries again');
    // The timer of the retry, each time fed with another read (as the daemon's reread does).
    const times: number[] = [];
    while (h.applies.length < 4 && Date.now() - started < 10_000) {
      const n = h.applies.length;
      await sleep(10);
      if (h.applies.length > n) {
        times.push(Date.now() - started);
        h.unit.onRead(h.kernel);
      }
    }
    assert.equal(h.applies.length, 4, `applies at ${times.join(', ')} ms`);
    // Delays 600, 1200, 2400 ms (capped): the gaps grow.
    assert.ok(times[1]! - times[0]! >= 900, `gaps: ${times.join(', ')}`);
    assert.equal(
      h.logs.filter((l) => l.startsWith('warn: guard: apply failed')).length,
      1,
      'the same error is logged once',
    );
    h.unit.stop();
  });

  it('guard = off: only reports; switching to auto applies, back to off removes exactly what is there', async () => {
    const h = harness('openclash-fw4-tun', { mode: 'off' });
    h.unit.onRead(h.kernel);
    await tick();
    assert.equal(h.applies.length, 0);
    assert.equal(h.unit.status().state, 'missing');
    assert.equal(h.unit.status().mode, 'off');
    await h.unit.setMode('auto', 'test');
    await tick();
    assert.equal(h.applies.length, 1);
    h.unit.onRead(h.kernel);
    assert.equal(h.unit.status().state, 'in_place');
    await h.unit.setMode('off', 'test');
    assert.equal(h.removes.length, 1);
    assert.ok(h.removes[0]!.rules.length > 0);
    h.unit.onRead(h.kernel);
    assert.equal(h.unit.status().state, 'missing');
    assert.equal(h.unit.status().rules, 0);
    assert.match(h.logs.join(''), /guard: auto → off \(test\)[\s\S]*guard: removed \d+ rule/);
  });

  it('switched off while an apply runs (HA ON then OFF): the guard is taken out again; the last mode decides', async () => {
    const race = JSON.parse(readFileSync(join(ATTACKS, 'guard-switch-race.json'), 'utf8')) as {
      steps: { at_ms: number; mode: 'auto' | 'off' }[];
      apply_takes_ms: number;
    };
    const h = harness('openclash-fw4-tun', { mode: 'off', applyMs: race.apply_takes_ms, feedReads: true });
    h.unit.onRead(h.kernel);
    const started = Date.now();
    const switches: Promise<void>[] = [];
    for (const step of race.steps) {
      await sleep(step.at_ms - (Date.now() - started));
      switches.push(h.unit.setMode(step.mode, 'switched from Home Assistant'));
    }
    await Promise.all(switches);
    // Until the removal and the read after it (which status reflects) are through.
    const settled = () => findGuard(h.kernel.ruleset).rules.length === 0 && h.unit.status().state !== 'in_place';
    for (let i = 0; i < 100 && !settled(); i++) await sleep(10);
    assert.equal(h.applies.length, 1);
    assert.equal(findGuard(h.kernel.ruleset).rules.length, 0, 'no guard rule is left in the firewall');
    assert.equal(findGuard(h.kernel.ruleset).ownTable, false, 'no guard table is left');
    const st = h.unit.status();
    assert.equal(st.mode, 'off');
    assert.notEqual(st.state, 'in_place');
    assert.match(h.logs.join(''), /auto → off[\s\S]*applied \d+ rule\(s\)[\s\S]*guard: removed \d+ rule/);
    // Reads go on: nothing is applied or removed again.
    const removes = h.removes.length;
    h.unit.onRead(h.kernel);
    await sleep(20);
    assert.equal(h.applies.length, 1);
    assert.equal(h.removes.length, removes);
  });

  it('switched off and on again during an apply: one apply, nothing removed', async () => {
    const h = harness('openclash-fw4-tun', { mode: 'off', applyMs: 30, feedReads: true });
    h.unit.onRead(h.kernel);
    const on = h.unit.setMode('auto', 'test');
    await sleep(5);
    await h.unit.setMode('off', 'test');
    await h.unit.setMode('auto', 'test');
    await on;
    for (let i = 0; i < 100 && h.unit.status().state !== 'in_place'; i++) await sleep(10);
    await sleep(30);
    assert.equal(h.applies.length, 1, h.logs.join(''));
    assert.ok(findGuard(h.kernel.ruleset).rules.length > 0, 'the guard is in place');
    assert.equal(h.unit.status().state, 'in_place');
  });

  it('a config reload that sets guard = off removes it; its forwards are used from then on', async () => {
    const h = harness('openclash-fw4-tun');
    h.unit.onRead(h.kernel);
    await tick();
    h.unit.onRead(h.kernel);
    await h.unit.setConfig(config(true), 'off', 'config reloaded');
    assert.equal(h.removes.length, 1);
    await h.unit.setConfig(config(false), 'auto', 'config reloaded');
    h.unit.onRead(h.kernel);
    await tick();
    assert.equal(h.applies.length, 1, 'no forwards: nothing to guard');
    assert.equal(h.unit.status().state, 'no_forwards');
  });

  it('no proxy: not needed, nothing applied', async () => {
    const h = harness('empty');
    h.unit.onRead(h.kernel);
    await tick();
    assert.equal(h.applies.length, 0);
    assert.equal(h.unit.status().state, 'not_needed');
  });

  it('before the first read: unknown', () => {
    const h = harness('openclash-fw4-tun');
    assert.equal(h.unit.status().state, 'unknown');
  });
});

describe('setMainOption (the Guard switch kept across restarts)', () => {
  const UCI = `# replyguard\nconfig main 'main'\n\t# comment kept\n\tlist lan_interfaces 'br-lan'\n\nconfig mqtt 'mqtt'\n\toption enabled '0'\n`;

  it('UCI: adds the option under the main section, keeps every other line', () => {
    const out = setMainOption(UCI, '/etc/config/replyguard', 'guard', 'auto');
    assert.equal(out, UCI.replace("config main 'main'\n", "config main 'main'\n\toption guard 'auto'\n"));
    assert.equal(parseConfigText(out, '/etc/config/replyguard').main.guard, 'auto');
  });

  it('UCI: rewrites the line in place, keeping its comment and indentation', () => {
    const text = UCI.replace('\t# comment kept\n', "  option guard 'auto' # mine\n");
    const out = setMainOption(text, 'x', 'guard', 'off');
    assert.equal(out, text.replace("option guard 'auto' # mine", "option guard 'off' # mine"));
  });

  it('INI: rewrites or adds; CRLF stays CRLF', () => {
    const ini = '[main]\r\nguard = auto ; by HA\r\nlan_interfaces[] = br-lan\r\n';
    assert.equal(setMainOption(ini, 'c.ini', 'guard', 'off'), ini.replace('guard = auto', 'guard = off'));
    const none = '[forward.nas]\nhost = 192.168.1.10\nport = 443\n';
    const out = setMainOption(none, 'c.ini', 'guard', 'auto');
    assert.equal(parseConfigText(out, 'c.ini').main.guard, 'auto');
    assert.equal(parseConfigText(out, 'c.ini').forwards[0]?.host, '192.168.1.10');
  });

  it('refuses what it cannot do safely, naming why', () => {
    const twoOnOneLine = "config main 'main'; option guard 'off'; option log_level 'info'\n";
    assert.throws(() => setMainOption(twoOnOneLine, 'x', 'guard', 'auto'), /holds more than this option/);
    assert.throws(() => setMainOption(UCI, 'x', 'guard', "auto'; rm"), /refusing to write/);
    assert.throws(() => setMainOption(UCI, 'x', 'guard', 'sometimes'), /guard/);
  });
});
