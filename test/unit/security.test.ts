// Security: no command is built from a string and nothing reaches a
// shell; names from the ruleset (chains, tables, comments, set names) reach
// the kernel tools only as single argv elements or as nft script tokens that
// cannot end a statement; the MQTT password is never in a log line, in
// status.json, in `replyguard status` or in a config error.

import assert from 'node:assert/strict';
import childProcess from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  applyGuard,
  iptablesInsertArgv,
  nftApplyScript,
  nftRemoveScript,
  removeGuard,
} from '../../src/actions/guard-apply';
import type { ForwardConfig } from '../../src/config/config';
import { ConfigError } from '../../src/config/config';
import { ConfigProblems } from '../../src/config/config-build';
import { parseConfigText } from '../../src/config/config-text';
import { guardFixes } from '../../src/detector/rule-attribution';
import { planGuard } from '../../src/guard/guard-plan';
import { renderPlan, stepCommand } from '../../src/guard/guard-render';
import { findGuard } from '../../src/guard/guard-status';
import { isNftName } from '../../src/guard/guard-table';
import { brokerLabel, mqttSettings, mqttSettingsChanged } from '../../src/mqtt/mqtt-settings';
import { MqttConnection } from '../../src/outputs/mqtt-connection';
import { explainPacket, renderExplain } from '../../src/ruleset/explain-text';
import { makeSnapshot, type RulesetDumps } from '../../src/ruleset/ruleset-snapshot';
import { readDumpDir } from '../../src/sensors/ruleset-reader';
import { buildStatus } from '../../src/status/status-document';
import { renderStatusText } from '../../src/status/status-text';
import { createLogger } from '../../src/system/log';
import { check } from '../helpers/fuzz-kit';

const ROOT = join(__dirname, '..', '..');
const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The code without comments (strings kept): a comment saying "never a shell" is not a finding. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

describe('no shell: the sources', () => {
  const files = sourceFiles(SRC).map((f) => ({ name: relative(ROOT, f), text: code(readFileSync(f, 'utf8')) }));

  it('reads the sources', () => assert.ok(files.length > 50));

  it("imports only spawn/spawnSync/execFile/execFileSync from child_process (never exec, execSync, fork's shell)", () => {
    const allowed = new Set(['spawn', 'spawnSync', 'execFile', 'execFileSync', 'ChildProcess', 'SpawnOptions']);
    for (const f of files) {
      for (const m of f.text.matchAll(/import\s*(type\s*)?\{([^}]*)\}\s*from\s*['"](?:node:)?child_process['"]/g)) {
        const names = m[2]!.split(',').map(
          (s) =>
            s
              .replace(/\btype\b/, '')
              .trim()
              .split(/\s+as\s+/)[0]!,
        );
        for (const n of names.filter(Boolean)) assert.ok(allowed.has(n), `${f.name} imports ${n} from child_process`);
      }
      assert.doesNotMatch(f.text, /import\s+\*\s+as\s+\w+\s+from\s+['"](?:node:)?child_process['"]/, f.name);
      assert.doesNotMatch(f.text, /require\(\s*['"](?:node:)?child_process['"]\s*\)/, f.name);
      assert.doesNotMatch(f.text, /(?<![.\w])(exec|execSync)\s*\(/, `${f.name} calls exec/execSync`);
    }
  });

  it('has no shell option, no sh -c, no shell binary', () => {
    for (const f of files) {
      assert.doesNotMatch(f.text, /\bshell\s*:/, `${f.name} passes a shell option`);
      assert.doesNotMatch(f.text, /['"`](?:\/bin\/|\/usr\/bin\/)?(?:ba|a|da|z)?sh['"`]/, `${f.name} names a shell`);
      assert.doesNotMatch(f.text, /\b(?:ba|a|da|z)?sh\s+-c\b/, `${f.name} runs sh -c`);
    }
  });

  it('passes every command as a program and an argv array, never one command string', () => {
    let calls = 0;
    for (const f of files) {
      for (const m of f.text.matchAll(/\b(spawn|spawnSync|execFile|execFileSync)\(([^,)]*)(,|\))/g)) {
        calls++;
        // The program is a variable or a literal path/name, never a template or a concatenation.
        assert.doesNotMatch(m[2]!, /[`+]|\s['"]|['"][^'"]*\s[^'"]*['"]/, `${f.name}: ${m[0]}`);
        assert.equal(m[3], ',', `${f.name}: ${m[0]} without an argv array`);
      }
    }
    assert.ok(calls >= 5, `found ${calls} spawn calls`);
  });
});

// ---------------------------------------------------------------------------
// Names from the ruleset on their way to nft and iptables

const FIXTURES = join(ROOT, 'test', 'golden', 'rulesets');
const FORWARDS: ForwardConfig[] = [
  { name: 'nas', host: '192.168.1.10', port: 443, proto: 'tcp' },
  { name: 'wg', host: '192.168.1.10', port: 51820, proto: 'udp' },
];

/** The shell's field separator: a space-free word that a shell still splits. */
const IFS = '$' + '{IFS}';
/** Hostile names: shell syntax, and nft statement separators that would add a statement to `nft -f`. */
const SHELL_EVIL = ['$(touch /tmp/x)', '`touch /tmp/x`', ';touch /tmp/x', '\'"\\', '|id&&id>x'];
const NFT_EVIL = [
  '\nflush ruleset\nadd chain inet fw4 x',
  ';flush ruleset',
  ' handle 1',
  ' }',
  ' "x"',
  '#comment',
  ...SHELL_EVIL,
];

function plannedWith(dumps: RulesetDumps, natBackend: 'auto' | 'iptables' = 'auto') {
  const ruleset = makeSnapshot(dumps).ruleset;
  return {
    ruleset,
    plan: planGuard({ ruleset, forwards: FORWARDS, lanSubnets: ['192.168.1.0/24'], iif: 'br-lan', natBackend }),
  };
}

/**
 * Every occurrence of `name` in an nft script is one token: a plain nft identifier, or a whole
 * double-quoted string that cannot end the statement (nft strings have no escapes: a name with a
 * quote or a line break cannot be written at all).
 */
function assertOnlyQuoted(script: string, name: string): void {
  if (isNftName(name)) return;
  for (let i = script.indexOf(name); i >= 0; i = script.indexOf(name, i + 1)) {
    const quoted = script[i - 1] === '"' && script[i + name.length] === '"' && !/["\n\r]/.test(name);
    assert.ok(quoted, `the nft script carries ${JSON.stringify(name)} unquoted:\n${script}`);
  }
}

/** nft -j of a fixture with every "from" JSON string token renamed. */
function renamedNft(fixture: string, from: string, to: string): RulesetDumps {
  const dumps = readDumpDir(join(FIXTURES, fixture));
  dumps.nftJson = dumps.nftJson!.replaceAll(JSON.stringify(from), JSON.stringify(to));
  return dumps;
}

/** A tagged guard rule (as `remove` finds and deletes them) in chain `chain` of `inet fw4`. */
function withTaggedRule(dumps: RulesetDumps, table: string, chain: string): RulesetDumps {
  const doc = JSON.parse(dumps.nftJson!) as { nftables: unknown[] };
  doc.nftables.push(
    { chain: { family: 'inet', table, name: chain, handle: 998 } },
    {
      rule: {
        family: 'inet',
        table,
        chain,
        handle: 999,
        comment: 'replyguard-guard',
        expr: [{ counter: { packets: 0, bytes: 0 } }, { return: null }],
      },
    },
  );
  return { ...dumps, nftJson: JSON.stringify(doc) };
}

describe('names from the ruleset: nft script and argv (guard plan, apply, remove)', () => {
  it('the fixtures plan an insert into the proxy chain (nft: inet fw4 openclash_mangle; iptables: mangle openclash)', () => {
    const nft = plannedWith(readDumpDir(join(FIXTURES, 'openclash-fw4-fakeip')));
    assert.ok(
      nft.plan.steps.some((s) => s.op === 'insert' && s.chain === 'openclash_mangle' && s.table === 'inet fw4'),
    );
    const ipt = plannedWith(readDumpDir(join(FIXTURES, 'openclash-fw3-fakeip')), 'iptables');
    assert.ok(ipt.plan.steps.some((s) => s.backend === 'iptables' && s.chain === 'openclash'));
  });

  for (const evil of NFT_EVIL) {
    const chain = `openclash_mangle${evil}`;
    it(`nft: chain ${JSON.stringify(chain)} never reaches the script unquoted`, () => {
      const { ruleset, plan } = plannedWith(renamedNft('openclash-fw4-fakeip', 'openclash_mangle', chain));
      assert.ok(
        ruleset.tables.some((t) => t.chains.some((c) => c.name === chain)),
        'the loader kept the name',
      );
      const script = nftApplyScript(plan.steps, findGuard(ruleset));
      assertOnlyQuoted(script, chain);
      // Not silently: the plan says why the replies that chain takes stay unguarded.
      assert.ok(
        plan.notes.some((n) => n.includes('cannot be written into an nft script')),
        plan.notes.join('\n'),
      );
    });

    const table = `fw4${evil}`;
    it(`nft: table ${JSON.stringify(table)} never reaches the script unquoted`, () => {
      const { ruleset, plan } = plannedWith(renamedNft('openclash-fw4-fakeip', 'fw4', table));
      assertOnlyQuoted(nftApplyScript(plan.steps, findGuard(ruleset)), table);
    });

    it(`nft: a tagged rule in chain ${JSON.stringify(chain)} is not deleted through an unquoted name`, () => {
      const dumps = withTaggedRule(readDumpDir(join(FIXTURES, 'openclash-fw4-fakeip')), 'fw4', chain);
      const present = findGuard(makeSnapshot(dumps).ruleset);
      assert.ok(
        present.rules.some((r) => r.chain === chain),
        'findGuard sees the tagged rule',
      );
      assertOnlyQuoted(nftRemoveScript(present), chain);
    });
  }

  it('nft: any suffix on the proxy chain name (generated, 60 names) — planned only when nft can take it as written', () => {
    const base = readDumpDir(join(FIXTURES, 'openclash-fw4-fakeip'));
    check(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }), (suffix) => {
        const chain = `openclash_mangle${suffix}`;
        const dumps = { ...base, nftJson: base.nftJson!.replaceAll('"openclash_mangle"', JSON.stringify(chain)) };
        const { ruleset, plan } = plannedWith(dumps);
        assertOnlyQuoted(nftApplyScript(plan.steps, findGuard(ruleset)), chain);
        if (isNftName(chain))
          assert.ok(
            plan.steps.some((s) => s.chain === chain),
            'a plain name is still guarded',
          );
      }),
      60,
    );
  });

  // iptables-save prints no spaces or double quotes in chain names (its loader would read them as syntax).
  for (const evil of SHELL_EVIL.map((e) => e.replace(/ /g, IFS).replace(/["\\]/g, ''))) {
    const chain = `openclash${evil}`;
    it(`iptables: chain ${JSON.stringify(chain)} is one argv element, never part of another`, () => {
      const dumps = readDumpDir(join(FIXTURES, 'openclash-fw3-fakeip'));
      dumps.iptablesSave = dumps.iptablesSave!.replace(/(^|[\s:])openclash(?=\s|$)/gm, `$1${chain}`);
      const { plan } = plannedWith(dumps, 'iptables');
      const steps = plan.steps.filter((s) => s.backend === 'iptables');
      assert.ok(steps.length > 0 && steps.every((s) => s.chain === chain), renderPlan(plan));
      for (const s of steps) {
        const argv = iptablesInsertArgv(s)!;
        assert.equal(argv.filter((a) => a === chain).length, 1, argv.join(' | '));
        assert.ok(
          argv.every((a) => a === chain || !a.includes(evil)),
          argv.join(' | '),
        );
      }
    });
  }
});

// ---------------------------------------------------------------------------
// apply/remove run with a recording spawn: what would reach the kernel tools

interface Spawned {
  cmd: string;
  args: unknown;
  options: Record<string, unknown> | undefined;
  stdin: string;
}

describe('guard apply/remove: the commands they run (spawn recorded, nothing executed)', () => {
  const cp = childProcess as unknown as Record<string, unknown>;
  const real = { spawn: cp.spawn, spawnSync: cp.spawnSync, exec: cp.exec, execSync: cp.execSync };
  let spawned: Spawned[] = [];

  beforeEach(() => {
    spawned = [];
    cp.spawn = (cmd: string, args: unknown, options?: Record<string, unknown>) => {
      const rec: Spawned = { cmd, args, options, stdin: '' };
      spawned.push(rec);
      const child = new EventEmitter() as EventEmitter & Record<string, unknown>;
      const stream = () =>
        Object.assign(new EventEmitter(), {
          setEncoding: function (this: unknown) {
            return this;
          },
        });
      child.stdout = stream();
      child.stderr = stream();
      child.stdin = Object.assign(new EventEmitter(), {
        end: (data?: string) => {
          rec.stdin += data ?? '';
        },
      });
      child.kill = () => true;
      setImmediate(() => child.emit('close', 0));
      return child;
    };
    for (const k of ['spawnSync', 'exec', 'execSync'])
      cp[k] = () => {
        throw new Error(`${k} must not be called here`);
      };
  });
  afterEach(() => Object.assign(cp, real));

  function assertArgvOnly(names: string[]): void {
    assert.ok(spawned.length > 0, 'something was run');
    for (const s of spawned) {
      assert.ok(!s.options?.shell, `${s.cmd} with a shell`);
      assert.match(s.cmd, /^(\/[\w/.-]+\/)?(nft|ip6?tables(-legacy|-nft)?)$/, s.cmd);
      assert.ok(Array.isArray(s.args) && s.args.every((a) => typeof a === 'string'), `${s.cmd}: argv`);
      for (const n of names) {
        for (const a of s.args as string[])
          assert.ok(a === n || !a.includes(n), `${s.cmd}: ${n} inside ${JSON.stringify(a)}`);
        assertOnlyQuoted(s.stdin, n);
      }
    }
  }

  it('apply and remove on an nft ruleset with hostile chain names', async () => {
    const chain = 'openclash_mangle\nflush ruleset\nadd chain inet fw4 x';
    const dumps = withTaggedRule(renamedNft('openclash-fw4-fakeip', 'openclash_mangle', chain), 'fw4', `${chain}2`);
    const { ruleset, plan } = plannedWith(dumps);
    await applyGuard(plan, findGuard(ruleset), { timeoutMs: 1000 });
    await removeGuard(findGuard(ruleset), { timeoutMs: 1000 });
    assert.ok(
      spawned.some((s) => /nft$/.test(s.cmd) && s.stdin !== ''),
      'nft ran with a script',
    );
    assertArgvOnly([chain, `${chain}2`]);
  });

  it('apply and remove on an iptables ruleset with hostile chain names', async () => {
    const chain = `openclash;touch${IFS}/tmp/x\`id\`$(id)`;
    const dumps = readDumpDir(join(FIXTURES, 'openclash-fw3-fakeip'));
    dumps.iptablesSave = dumps.iptablesSave!.replace(/(^|[\s:])openclash(?=\s|$)/gm, `$1${chain}`);
    const { ruleset, plan } = plannedWith(dumps, 'iptables');
    await applyGuard(plan, findGuard(ruleset), { timeoutMs: 1000 });
    assert.ok(
      spawned.some((s) => (s.args as string[]).includes(chain)),
      'iptables ran with the chain as an argument',
    );
    assertArgvOnly([chain]);
  });

  it('explain on a ruleset with hostile names runs nothing and prints the names as text only', () => {
    const chain = 'openclash_mangle$(touch /tmp/x)';
    const snap = makeSnapshot(renamedNft('openclash-fw4-fakeip', 'openclash_mangle', chain));
    const report = explainPacket(snap, {
      proto: 'tcp',
      src: '192.168.1.10',
      sport: 443,
      dst: '203.0.113.50',
      dport: 40000,
    });
    assert.notEqual(typeof report, 'string');
    assert.equal(typeof renderExplain(report as Exclude<typeof report, string>), 'string');
    assert.equal(spawned.length, 0);
  });

  it('fix lines and `guard plan` commands keep ruleset names one literal word when pasted into a shell', () => {
    // What a shell makes of a printed command: its words, with the command replaced by printf (nothing runs).
    const words = (line: string): string[] => {
      const cmd = line.replace(/^(nft|ip6?tables(-legacy)?) /, "printf '%s\\n' ");
      const out = childProcess.execFileSync('bash', ['-c', cmd], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
      return out.split('\n').slice(0, -1);
    };
    rmSync('/tmp/rg-pwned', { force: true });
    for (const evil of [`x$(touch${IFS}/tmp/rg-pwned)`, 'x`id`', "x';id;'", 'x|id&']) {
      // An iptables chain may be named so (no spaces): the in-chain step and its printed command.
      const step = {
        backend: 'iptables' as const,
        op: 'insert' as const,
        table: 'nat',
        chain: evil,
        rule: '',
        argv: [
          '-s',
          '192.168.1.10',
          '-p',
          'tcp',
          '!',
          '--syn',
          '-m',
          'comment',
          '--comment',
          'replyguard-guard',
          '-j',
          'RETURN',
        ],
        why: '',
        forward: 'nas',
        family: 4 as const,
      };
      const w = words(stepCommand(step as unknown as Parameters<typeof stepCommand>[0]));
      assert.ok(w.includes(evil), `${evil} → ${JSON.stringify(w)}`);
      assert.ok(w.includes('!') && w.includes('replyguard-guard'));
      // The attributed fix line for a reply taken in a chain of that name.
      const line = guardFixes(
        {
          fate: 'proxied',
          packet: 'ack',
          certain: true,
          rule: { backend: 'iptables', table: 'nat', chain: evil, position: 1, text: '-j REDIRECT' },
          evaluation: {
            how: { kind: 'redirect', port: 7892 },
            responsible: { backend: 'iptables', table: 'nat', chain: evil, text: '-j REDIRECT --to-ports 7892' },
            path: [],
          },
        } as unknown as Parameters<typeof guardFixes>[0],
        '192.168.1.10',
        443,
        'tcp',
      )[0]!.text;
      const cmd = /(iptables -t nat -I .* -j RETURN)/.exec(line)?.[1];
      assert.ok(cmd, line);
      assert.ok(words(cmd).includes(evil), `${evil} in ${cmd}`);
    }
    // nft rules hold `&`, `|`, `(` and quotes: one word each, exactly the rule.
    const { plan } = plannedWith(readDumpDir(join(FIXTURES, 'openclash-fw4-tun')));
    for (const st of plan.steps.filter((x) => x.backend === 'nft' && x.op !== 'create-table')) {
      const w = words(stepCommand(st));
      assert.equal(w.at(-1), st.rule, stepCommand(st));
      assert.equal(w.at(-2), st.chain);
    }
    assert.equal(existsSync('/tmp/rg-pwned'), false);
  });
});

// ---------------------------------------------------------------------------
// The MQTT password

const PASSWORD = 'hunter2-S3cr3t!pw';

function configWithPassword(url = 'mqtt://127.0.0.1:1883') {
  return parseConfigText(
    `[main]\n[mqtt]\nenabled = 1\nurl = ${url}\nusername = ha\npassword = ${PASSWORD}\n[forward.nas]\nhost = 192.168.1.10\nport = 443\n`,
    '/etc/replyguard.ini',
  );
}

/** A broker that answers every CONNECT with the given CONNACK return code and records what it got. */
async function fakeBroker(
  returnCode: number,
): Promise<{ port: number; received: Buffer[]; close: () => Promise<void> }> {
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const srv = createServer((s) => {
    sockets.add(s);
    s.on('data', (d) => {
      received.push(d);
      if (d[0] === 0x10) s.write(Buffer.from([0x20, 0x02, 0x00, returnCode]));
    });
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    received,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

describe('the MQTT password never shows', () => {
  it('is read from the config (the tests below use it)', () => {
    assert.equal(configWithPassword().mqtt.password, PASSWORD);
  });

  for (const [label, code] of [
    ['accepted', 0],
    ['refused (not authorised)', 5],
  ] as const) {
    it(`in log lines and connection status, login ${label}`, async () => {
      const broker = await fakeBroker(code);
      const lines: string[] = [];
      const config = configWithPassword(`mqtt://127.0.0.1:${broker.port}`);
      const conn = new MqttConnection({
        settings: mqttSettings(config.mqtt, 'unit'),
        subscriptions: ['homeassistant/status'],
        log: createLogger('debug', (l) => lines.push(l)),
        onConnect: () => {},
        onMessage: () => {},
        onStateChange: () => {},
        backoffMs: [50],
      });
      conn.start();
      const want = code === 0 ? 'connected' : 'failed';
      for (let i = 0; i < 100 && conn.state !== want; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(conn.state, want, lines.join(''));
      const status = conn.status();
      await conn.stop([]);
      await broker.close();
      // The broker did get it (so the test is about the right value) …
      assert.ok(Buffer.concat(broker.received).includes(PASSWORD), 'the CONNECT carried the password');
      // … and nothing people or files see has it.
      assert.ok(lines.length > 0);
      assert.ok(!lines.join('').includes(PASSWORD), lines.join(''));
      assert.ok(!JSON.stringify(status).includes(PASSWORD), JSON.stringify(status));
      const doc = buildStatus({
        version: '0',
        nodeId: 'unit',
        startedAt: 0,
        now: 1000,
        conntrack: { state: 'running', events: 0, lost: 0, resyncs: 0, restarts: 0, parse_errors: 0 },
        lostRecently: false,
        lan: { interfaces: ['br-lan'], subnets: [], source: 'test', router_addresses: [] },
        forwards: config.forwards,
        findings: [],
        counters: { candidates: 0, hijackedReplies: 0, flowsTracked: 0, flowsEvicted: 0, findingsEvicted: 0 },
        problemHoldS: 900,
        outputs: { mqtt: status },
      });
      assert.ok(!JSON.stringify(doc).includes(PASSWORD), 'status.json');
      assert.ok(!renderStatusText(doc, 1000, 90).includes(PASSWORD), 'replyguard status');
    });
  }

  it('in the broker label, even for a URL with credentials', () => {
    assert.equal(brokerLabel(`mqtt://ha:${PASSWORD}@broker:1883`), 'mqtt://broker:1883');
    assert.ok(!brokerLabel(`mqtts://ha:${PASSWORD}@[fd00::1]`).includes(PASSWORD));
  });

  it('in the reload message (names of changed settings, not values)', () => {
    const a = configWithPassword().mqtt;
    const changed = mqttSettingsChanged(a, { ...a, password: 'other' });
    assert.deepEqual(changed, ['password']);
  });

  it('in config errors, also with credentials in a URL the validator rejects, or text after a quoted password', () => {
    const cases = [
      `[mqtt]\nurl = http://ha:${PASSWORD}@broker\n`,
      `[mqtt]\nurl = mqtt://ha:${PASSWORD}@\n`,
      `[mqtt]\nurl = mqtt://ha:${PASSWORD}@bro ker\n`,
      `[mqtt]\nurl = mqtt://ha:${PASSWORD}@broker\n`,
      `[mqtt]\npassword = "x"${PASSWORD}\n`,
      `[mqtt]\npassword = '${PASSWORD}\n`,
      `[mqtt]\npassword = "${PASSWORD}\u0001"\n`,
      `[mqtt]\npassword[] = ${PASSWORD}\n`,
      `[mqtt]\npassword ${PASSWORD}\n`,
      `[mqtt]\nurl = ha:${PASSWORD}@broker\n`,
    ];
    for (const text of cases) {
      let message = '';
      try {
        parseConfigText(text, '/etc/replyguard.ini');
      } catch (err) {
        assert.ok(err instanceof ConfigError || err instanceof ConfigProblems, String(err));
        message = err.message;
      }
      assert.ok(message !== '', `no error for ${JSON.stringify(text)}`);
      assert.ok(!message.includes(PASSWORD), message);
    }
    for (const text of [
      `config mqtt 'mqtt'\n\toption url 'http://ha:${PASSWORD}@broker'\n`,
      `config mqtt 'mqtt'\n\toption password '${PASSWORD}\n`,
      `config mqtt 'mqtt'\n\toption password ${PASSWORD} extra\n`,
      `config mqtt 'mqtt'\n\tlist password '${PASSWORD}'\n`,
    ]) {
      let message = '';
      try {
        parseConfigText(text, '/etc/config/replyguard');
      } catch (err) {
        message = (err as Error).message;
      }
      assert.ok(message !== '' && !message.includes(PASSWORD), message);
    }
  });
});
