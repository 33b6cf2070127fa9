// Fuzz: the ruleset loaders — nft -j, iptables-save, ipset save,
// ip -j rule / route / addr — on random text, on random JSON and on mutated
// real dumps (test/golden/rulesets). Each input must load within the time
// bound, without an exception (ip -j addr: only its own "ip -j addr: …"
// Error, which its callers catch), into the documented shape: arrays that are
// arrays, base chains with a real hook, issues that say something.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseIpAddrJson } from '../../../src/net/ip-addr-json';
import { loadIpRouteJson } from '../../../src/ruleset/ip-route-json';
import { loadIpRuleJson } from '../../../src/ruleset/ip-rule-json';
import { loadIpsetSave } from '../../../src/ruleset/ipset-save';
import { loadIptablesSave, tokenize } from '../../../src/ruleset/iptables-save';
import type { Table } from '../../../src/ruleset/model';
import { loadNftJson } from '../../../src/ruleset/nft-json';
import {
  assertIssues,
  assertNoPollution,
  check,
  goldenRulesetFiles,
  mutatedJson,
  mutatedText,
  nestText,
  oddJson,
  randomText,
  timed,
  UNPRINTABLE,
} from '../../helpers/fuzz-kit';

const HOOKS = new Set(['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress']);
const BACKENDS = new Set(['nft', 'iptables', 'ip6tables', 'ipset']);

function assertTables(tables: unknown): void {
  assert.ok(Array.isArray(tables));
  for (const t of tables as Table[]) {
    assert.ok(BACKENDS.has(t.backend), `backend ${t.backend}`);
    assert.equal(typeof t.family, 'string');
    assert.equal(typeof t.name, 'string');
    assert.ok(Array.isArray(t.chains) && Array.isArray(t.sets));
    for (const c of t.chains) {
      assert.equal(typeof c.name, 'string');
      // A base chain has a real hook and a numeric priority; a regular chain has neither key.
      if ('hook' in c) {
        assert.ok(HOOKS.has(c.hook as string), `chain ${c.name}: hook ${String(c.hook)}`);
        assert.ok(Number.isFinite(c.priority), `chain ${c.name}: priority ${String(c.priority)}`);
      }
      assert.ok(Array.isArray(c.rules));
      c.rules.forEach((r, i) => {
        assert.equal(r.position, i + 1);
        assert.equal(typeof r.text, 'string');
        assert.ok(Array.isArray(r.matches) && Array.isArray(r.ops));
        for (const m of r.matches) assert.ok(m.kind === 'cmp' || m.kind === 'unknown', `match kind ${m.kind}`);
        for (const o of r.ops) assert.equal(typeof o.kind, 'string');
        if (r.comment !== undefined) assert.equal(typeof r.comment, 'string');
      });
    }
    for (const s of t.sets) {
      assert.equal(typeof s.name, 'string');
      assert.ok(Array.isArray(s.keyType) && s.keyType.every((k) => typeof k === 'string'));
      assert.ok(Array.isArray(s.flags) && s.flags.every((k) => typeof k === 'string'));
      assert.ok(Array.isArray(s.elements));
    }
  }
}

// ---------------------------------------------------------------------------

const NFT = goldenRulesetFiles('nft.json').map(([, t]) => t);
const NFT_SMALL = goldenRulesetFiles('nft.json', 14 * 1024).map(([, t]) => t);
const IPT = goldenRulesetFiles('iptables-save.txt').map(([, t]) => t);
const IPSET = goldenRulesetFiles('ipset.txt').map(([, t]) => t);
const IP_RULE = goldenRulesetFiles('ip-rule.json').map(([, t]) => t);
const IP_ROUTE = goldenRulesetFiles('ip-route.json').map(([, t]) => t);
const IP_ADDR = goldenRulesetFiles('ip-addr.json').map(([, t]) => t);

function nft(text: string): void {
  const r = timed('loadNftJson', () => loadNftJson(text));
  assertTables(r.tables);
  assertIssues(r.issues);
  for (const t of r.tables) assert.equal(t.backend, 'nft');
}

/** One nft -j document with `v` in every place an expression, a value or a name can be. */
function nftDocWith(v: unknown): string {
  return JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6' } },
      { table: { family: 'inet', name: 't' } },
      { chain: { family: 'inet', table: 't', name: 'c', type: v, hook: 'prerouting', prio: v, policy: v } },
      { chain: { family: 'inet', table: 't', name: v } },
      {
        rule: {
          family: 'inet',
          table: 't',
          chain: 'c',
          handle: v,
          comment: v,
          expr: [
            v,
            { match: { op: '==', left: v, right: v } },
            { match: { op: v, left: { meta: { key: v } }, right: v } },
            { match: { op: 'in', left: { payload: { protocol: v, field: v } }, right: { set: [v] } } },
            { match: { op: '==', left: { ct: { key: v, dir: v } }, right: v } },
            { match: { op: '==', left: { fib: { flags: v, result: v } }, right: v } },
            { match: { op: '==', left: { '&': [v, v] }, right: v } },
            { match: { op: '==', left: { concat: [v, v] }, right: { concat: [v] } } },
            { mangle: { key: { meta: { key: 'mark' } }, value: v } },
            { mangle: { key: v, value: { '|': [v, v] } } },
            { vmap: { key: v, data: { set: [[v, v]] } } },
            { counter: { packets: v, bytes: v } },
            { log: { prefix: v } },
            { jump: { target: v } },
            { redirect: { port: v } },
            { dnat: { addr: v, port: v, family: v } },
            { tproxy: { addr: v, port: v } },
            { xt: { type: v, name: v } },
            { [typeof v === 'string' ? v : 'quota']: v },
          ],
        },
      },
      { set: { family: 'inet', table: 't', name: 's', type: v, flags: v, elem: [v, { elem: { val: v } }] } },
      { map: { family: 'inet', table: 't', name: 'm', type: [v, v], map: 'verdict', elem: [[v, v], v] } },
      { set: { family: v, table: v, name: v } },
      v,
    ],
  });
}

describe('fuzz: nft -j loader (loadNftJson)', () => {
  it('has golden dumps to mutate', () => assert.ok(NFT.length >= 10 && NFT_SMALL.length >= 5));

  it('random text: 1000 inputs', () => {
    check(fc.property(randomText(), nft), 1000);
  });

  it('random JSON documents and wrong-typed values in every slot: 1500 inputs', () => {
    check(
      fc.property(oddJson(), (v) => {
        nft(JSON.stringify(v) ?? '');
        nft(JSON.stringify({ nftables: v }));
        nft(nftDocWith(v));
      }),
      500,
    );
  });

  it('mutated golden dumps (structure and text): 1500 inputs', () => {
    check(fc.property(mutatedJson(NFT_SMALL), nft), 1500);
    assertNoPollution();
  });

  it('deep nesting (1e5 levels) is an issue, not a stack overflow', () => {
    const rule = (expr: string) =>
      `{"nftables":[{"table":{"family":"inet","name":"t"}},{"rule":{"family":"inet","table":"t","chain":"c","expr":[${expr}]}}]}`;
    for (const depth of [100, 1000, 20_000, 100_000]) {
      // Built as text: JSON.stringify itself overflows on such values.
      nft(rule(nestText(depth)));
      nft(rule(`{"match":{"op":"==","left":${nestText(depth, '{"meta":{"key":"mark"}}')},"right":1}}`));
      nft(rule(`{"match":{"op":"==","left":{"meta":{"key":"mark"}},"right":{"set":[${nestText(depth)}]}}}`));
      const r = loadNftJson(rule(nestText(depth)));
      assert.ok(depth < 64 || r.issues.some((i) => /nested deeper/.test(i.message)), 'said so');
    }
  });

  it('objects whose toString is not a function (String(x) would throw)', () => {
    nft(nftDocWith(UNPRINTABLE));
  });

  it('the largest real dump (8k-prefix set) loads within the bound', () => {
    const [big] = goldenRulesetFiles('nft.json', 1 << 22).sort((a, b) => b[1].length - a[1].length);
    assert.ok(big && big[1].length > 100_000);
    nft(big[1]);
  });
});

// ---------------------------------------------------------------------------

function ipt(text: string, family: 4 | 6): void {
  const r = timed('loadIptablesSave', () => loadIptablesSave(text, family));
  assertTables(r.tables);
  assertIssues(r.issues);
  for (const t of r.tables) {
    assert.ok(t.backend === 'iptables' || t.backend === 'ip6tables');
    if (t.variant !== undefined) assert.ok(t.variant === 'legacy' || t.variant === 'nft');
  }
}

describe('fuzz: iptables-save loader (loadIptablesSave)', () => {
  it('has golden dumps to mutate', () => assert.ok(IPT.length >= 2));

  it('random text: 1000 inputs (as iptables-save and as ip6tables-save)', () => {
    check(
      fc.property(randomText(), fc.constantFrom<4 | 6>(4, 6), (s, fam) => ipt(s, fam)),
      1000,
    );
  });

  it('mutated golden dumps: 2500 inputs', () => {
    check(
      fc.property(mutatedText(IPT, 6), fc.constantFrom<4 | 6>(4, 6), (s, fam) => ipt(s, fam)),
      2500,
    );
    assertNoPollution();
  });

  it('table and chain names that are Object.prototype properties are plain names', () => {
    for (const table of ['__proto__', 'constructor', 'toString', 'nat'])
      for (const chain of ['toString', 'name', 'length', '__proto__', 'PREROUTING']) {
        const text = `*${table}\n:${chain} ACCEPT [0:0]\n-A ${chain} -j ${chain}\nCOMMIT\n`;
        ipt(text, 4);
        const [t] = loadIptablesSave(text, 4).tables;
        assert.equal(t?.name, table);
        assert.deepEqual(
          t.chains.map((c) => [c.name, c.rules.map((r) => r.ops)]),
          [[chain, [[{ kind: 'jump', chain }]]]],
          `${table} ${chain}`,
        );
      }
  });

  it('huge lines and many chains stay within the bound', () => {
    ipt(`*nat\n:A - [0:0]\n-A A ${'-p tcp '.repeat(2000)}-j RETURN\nCOMMIT\n`, 4);
    // Was quadratic in the number of chains (1500 chains: 0.35 s unloaded); now linear.
    ipt(
      `*nat\n${Array.from({ length: 1500 }, (_, i) => `:C${i} - [0:0]\n-A C${i} -j C${i + 1}`).join('\n')}\nCOMMIT\n`,
      4,
    );
    ipt(`# Generated by iptables-save v1.8.7 ${'Generated by iptables-save '.repeat(2000)}\n`, 4);
  });

  it('tokenize: quoted words come back whole (round trip)', () => {
    const word = fc.string({ minLength: 1, maxLength: 12 }).filter((w) => !/[\s"\\]/.test(w));
    const quoted = fc.string({ maxLength: 12 }).filter((w) => !/[\t]/.test(w));
    check(
      fc.property(
        fc.array(
          fc.oneof(
            word,
            quoted.map((q) => ({ q })),
          ),
          { maxLength: 10 },
        ),
        (parts) => {
          const line = parts
            .map((p) => (typeof p === 'string' ? p : `"${p.q.replace(/[\\"]/g, (c) => `\\${c}`)}"`))
            .join(' ');
          const want = parts.map((p) => (typeof p === 'string' ? p : p.q));
          assert.deepEqual(tokenize(line), want);
        },
      ),
      1000,
    );
  });
});

// ---------------------------------------------------------------------------

function ipset(text: string): void {
  const r = timed('loadIpsetSave', () => loadIpsetSave(text));
  assertIssues(r.issues);
  assert.ok(Array.isArray(r.sets));
  for (const s of r.sets) {
    assert.equal(typeof s.name, 'string');
    assert.ok(Array.isArray(s.keyType) && Array.isArray(s.flags) && Array.isArray(s.elements));
    for (const e of s.elements) assert.equal(typeof e.kind, 'string');
  }
}

describe('fuzz: ipset save loader (loadIpsetSave)', () => {
  it('has golden dumps to mutate', () => assert.ok(IPSET.length >= 1));

  it('random text: 1000 inputs', () => {
    check(fc.property(randomText(), ipset), 1000);
  });

  it('mutated golden dumps: 2000 inputs', () => {
    check(fc.property(mutatedText(IPSET, 6), ipset), 2000);
    assertNoPollution();
  });

  it('sets named like Object.prototype properties', () => {
    for (const n of ['__proto__', 'constructor', 'toString']) {
      const text = `create ${n} hash:ip,port family inet\nadd ${n} 1.2.3.4,tcp:80\nadd ${n} 1.2.3.4,tcp:${n}\n`;
      ipset(text);
      const { sets } = loadIpsetSave(text);
      assert.deepEqual(
        sets.map((s) => [s.name, s.elements.length]),
        [[n, 1]],
        `set ${n}: its one readable element`,
      );
    }
  });
});

// ---------------------------------------------------------------------------

function ipRule(text: string, family: 4 | 6): void {
  const r = timed('loadIpRuleJson', () => loadIpRuleJson(text, family));
  assertIssues(r.issues);
  assert.ok(Array.isArray(r.rules));
  for (const x of r.rules) {
    assert.equal(typeof x.priority, 'number');
    assert.equal(typeof x.table, 'string');
    assert.equal(x.family, family);
    for (const k of ['src', 'dst', 'iif', 'action'] as const)
      if (x[k] !== undefined) assert.equal(typeof x[k], 'string', k);
    for (const k of ['fwmark', 'fwmask'] as const) if (x[k] !== undefined) assert.equal(typeof x[k], 'number', k);
  }
}

function ipRoute(text: string, family: 4 | 6): void {
  const r = timed('loadIpRouteJson', () => loadIpRouteJson(text, family));
  assertIssues(r.issues);
  assert.ok(Array.isArray(r.routes));
  for (const x of r.routes) {
    for (const k of ['table', 'type', 'dst'] as const) assert.equal(typeof x[k], 'string', k);
    assert.ok(x.family === 4 || x.family === 6);
    if (x.metric !== undefined) assert.equal(typeof x.metric, 'number');
  }
}

function ipAddr(text: string): void {
  let out: ReturnType<typeof parseIpAddrJson>;
  try {
    out = timed('parseIpAddrJson', () => parseIpAddrJson(text));
  } catch (err) {
    // Its contract: an Error naming the dump for text that is not a JSON array (callers catch it).
    assert.ok(err instanceof Error && err.message.startsWith('ip -j addr: '), String(err));
    return;
  }
  assert.ok(Array.isArray(out));
  for (const i of out) {
    assert.equal(typeof i.ifname, 'string');
    assert.equal(typeof i.up, 'boolean');
    for (const a of i.addresses) {
      assert.ok(a.family === 4 || a.family === 6);
      assert.equal(typeof a.address, 'string');
      assert.equal(typeof a.prefixlen, 'number');
      assert.equal(typeof a.scope, 'string');
    }
  }
}

describe('fuzz: ip -j rule / route / addr', () => {
  it('has golden dumps to mutate', () => assert.ok(IP_RULE.length >= 5 && IP_ROUTE.length >= 5 && IP_ADDR.length >= 5));

  it('random text: 500 inputs each', () => {
    check(
      fc.property(randomText(), fc.constantFrom<4 | 6>(4, 6), (s, fam) => {
        ipRule(s, fam);
        ipRoute(s, fam);
        ipAddr(s);
      }),
      500,
    );
  });

  it('wrong-typed values in every field: 800 inputs each', () => {
    check(
      fc.property(oddJson(), (v) => {
        const rule = { priority: v, table: v, not: v, src: v, srclen: v, dst: v, dstlen: v, iif: v, fwmark: v };
        const rule2 = { priority: 1, table: v, fwmask: v, action: v, type: v, goto: v };
        ipRule(JSON.stringify([rule, rule2, v]), 4);
        ipRoute(
          JSON.stringify([{ dst: v, table: v, type: v, dev: v, gateway: v, metric: v }, { dst: 'default' }, v]),
          6,
        );
        ipAddr(
          JSON.stringify([{ ifname: 'x', flags: v, addr_info: v }, { ifname: 'y', addr_info: [v, { local: v }] }, v]),
        );
        ipAddr(JSON.stringify(v) ?? '');
      }),
      800,
    );
  });

  it('mutated golden dumps: 1000 inputs each', () => {
    check(
      fc.property(mutatedJson(IP_RULE), (s) => ipRule(s, 4)),
      1000,
    );
    check(
      fc.property(mutatedJson(IP_ROUTE), (s) => ipRoute(s, 4)),
      1000,
    );
    check(fc.property(mutatedJson(IP_ADDR), ipAddr), 1000);
    assertNoPollution();
  });
});
