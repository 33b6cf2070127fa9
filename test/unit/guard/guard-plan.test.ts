// The guard plan on every golden ruleset: which steps, and — applied to the
// model (simulateGuard) — the forwards' replies evaluate to forwarded while a
// LAN host's own new connection keeps its verdict. Plus the pure parts of
// apply (nft script, iptables argv) and status on the simulated ruleset.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { iptablesDeleteArgv, nftApplyScript, nftRemoveScript, splitSaveLine } from '../../../src/actions/guard-apply';
import type { ForwardConfig } from '../../../src/config/config';
import { parseConfigText } from '../../../src/config/config-text';
import type { GuardInput } from '../../../src/guard/guard-input';
import { checkPackets, type GuardPacket, guardPackets, swallowed } from '../../../src/guard/guard-packets';
import { planGuard } from '../../../src/guard/guard-plan';
import { renderPlan } from '../../../src/guard/guard-render';
import { simulateGuard, stripGuard } from '../../../src/guard/guard-simulate';
import { findGuard, guardStatus } from '../../../src/guard/guard-status';
import { GUARD_TAG } from '../../../src/guard/guard-table';
import { recognizeProxies } from '../../../src/ruleset/recognize-proxy';
import { makeSnapshot } from '../../../src/ruleset/ruleset-snapshot';
import { readDumpDir } from '../../../src/sensors/ruleset-reader';

const DIR = join(__dirname, '..', '..', 'golden', 'rulesets');
const FIXTURES = readdirSync(DIR).filter((n) => statSync(join(DIR, n)).isDirectory());

const FORWARDS: ForwardConfig[] = [
  { name: 'nas', host: '192.168.1.10', port: 443, proto: 'tcp' },
  { name: 'wg', host: '192.168.1.10', port: 51820, proto: 'udp' },
];

function input(name: string, forwards: ForwardConfig[] = FORWARDS, extra: Partial<GuardInput> = {}): GuardInput {
  const snap = makeSnapshot(readDumpDir(join(DIR, name)));
  return { ruleset: snap.ruleset, forwards, lanSubnets: ['192.168.1.0/24'], iif: 'br-lan', ...extra };
}

/** `op table chain` of each step: what the plan touches, per fixture. */
const EXPECTED: Record<string, string[]> = {
  empty: [],
  homeproxy: [],
  'homeproxy-tun': [],
  'homeproxy-redirect-tun': [],
  'openclash-fw4-redirhost-common-ports': [],
  'shellcrash-iptables': [],
  'shellclash-iptables': [],
  'shellclash-iptables-allports': ['create-table inet replyguard_guard nat_pre', 'add inet replyguard_guard nat_pre'],
  'shellcrash-nft': [],
  'shellcrash-nft-tproxy': [],
  'shellcrash-nft-tun': [],
  'shellcrash-nft-mix': [],
  'shellcrash-nft-tproxy-allports': ['insert inet shellcrash prerouting', 'insert inet shellcrash prerouting'],
  nikki: [
    'create-table inet replyguard_guard nat_pre',
    'add inet replyguard_guard nat_pre',
    'insert inet nikki lan_tun',
  ],
  'nikki-tproxy-ipv6': ['insert inet nikki lan_tproxy', 'insert inet nikki lan_tproxy'],
  'nikki-tun': ['insert inet nikki lan_tun', 'insert inet nikki lan_tun'],
  'nikki-redirect-tproxy': [
    'create-table inet replyguard_guard nat_pre',
    'add inet replyguard_guard nat_pre',
    'insert inet nikki lan_tproxy',
  ],
  'openclash-fw3-redirhost': [
    'create-table inet replyguard_guard nat_pre',
    'add inet replyguard_guard nat_pre',
    'insert mangle openclash',
  ],
  'openclash-fw3-tun': ['insert mangle openclash', 'insert mangle openclash'],
  'openclash-fw3-mix': [
    'create-table inet replyguard_guard nat_pre',
    'add inet replyguard_guard nat_pre',
    'insert mangle openclash',
  ],
  'openclash-fw3-fakeip': [
    'create-table inet replyguard_guard nat_pre',
    'add inet replyguard_guard nat_pre',
    'insert mangle openclash',
  ],
  'openclash-fw3-ipv6': [
    'create-table inet replyguard_guard nat_pre',
    'add inet replyguard_guard nat_pre',
    'insert mangle openclash',
  ],
  // The masquerade of bypass_gateway_compatible needs the identity source NAT binding as well.
  'openclash-fw4-bypass-gateway-compatible': [
    'create-table inet replyguard_guard nat_pre',
    'create-table inet replyguard_guard nat_post',
    'add inet replyguard_guard nat_pre',
    'insert inet fw4 openclash_mangle',
    'add inet replyguard_guard nat_post',
    'add inet replyguard_guard nat_post',
  ],
  'openclash-fw4-china-ip-route-8k': [
    'create-table inet replyguard_guard nat_pre',
    'add inet replyguard_guard nat_pre',
    'insert inet fw4 openclash_mangle',
  ],
  'openclash-fw4-fakeip': [
    'create-table inet replyguard_guard nat_pre',
    'add inet replyguard_guard nat_pre',
    'insert inet fw4 openclash_mangle',
  ],
  'openclash-fw4-0.46-fakeip': [
    'create-table inet replyguard_guard nat_pre',
    'add inet replyguard_guard nat_pre',
    'insert inet fw4 openclash_mangle',
  ],
  'openclash-fw4-ipv6-tproxy': [
    'create-table inet replyguard_guard nat_pre',
    'add inet replyguard_guard nat_pre',
    'insert inet fw4 openclash_mangle',
  ],
  'openclash-fw4-ipv6-redirect': [
    'create-table inet replyguard_guard nat_pre',
    'add inet replyguard_guard nat_pre',
    'insert inet fw4 openclash_mangle',
  ],
  'openclash-fw4-mix': [
    'create-table inet replyguard_guard nat_pre',
    'add inet replyguard_guard nat_pre',
    'insert inet fw4 openclash_mangle',
  ],
  'openclash-fw4-tun': ['insert inet fw4 openclash_mangle', 'insert inet fw4 openclash_mangle'],
  'passwall-nft': ['insert inet passwall PSW_MANGLE'],
  'passwall-fw3': ['insert mangle PSW'],
  'passwall-nft-tproxy': ['insert inet passwall PSW_MANGLE'],
  'passwall-fw3-tproxy': ['insert mangle PSW'],
  'passwall2-nft': ['insert inet passwall2 PSW2_MANGLE'],
  'passwall2-nft-25.11': ['insert inet passwall2 PSW2_MANGLE'],
  'passwall2-fw3': [
    'create-table inet replyguard_guard nat_pre',
    'add inet replyguard_guard nat_pre',
    'insert mangle PSW2',
  ],
  'passwall2-fw3-tproxy': ['insert mangle PSW2'],
  'passwall2-nft-redirect': [
    'create-table inet replyguard_guard nat_pre',
    'add inet replyguard_guard nat_pre',
    'insert inet passwall2 PSW2_MANGLE',
  ],
  // An unrecognised proxy's own base chain (attributed to "unknown transparent proxy").
  'unknown-tproxy': ['insert inet sbx pre', 'insert inet sbx pre'],
};

describe('guard plan on every golden ruleset', () => {
  for (const name of FIXTURES) {
    it(`${name}: the planned rules, applied to the model, let the replies through and nothing else changes`, () => {
      const inp = input(name);
      const plan = planGuard(inp);
      const shape = plan.steps.map((s) => `${s.op} ${s.table} ${s.chain}`);
      assert.ok(name in EXPECTED, `no expected plan for fixture ${name}`);
      assert.deepEqual(shape, EXPECTED[name], renderPlan(plan));
      const swallowedBefore = plan.before.some(swallowed);
      assert.equal(plan.status, plan.steps.length > 0 ? 'ok' : swallowedBefore ? 'not-applicable' : 'nothing-to-do');
      // Every step is tagged, explained, and goes into our own table or a chain a recognised proxy owns.
      const proxies = recognizeProxies(inp.ruleset);
      for (const s of plan.steps) {
        assert.equal(s.tag, GUARD_TAG);
        assert.ok(s.why.length > 40, s.why);
        if (s.op === 'create-table') continue;
        assert.ok(s.model, 'each rule step carries its model');
        if (s.backend === 'nft') assert.match(s.rule, /comment "replyguard-guard"$/);
        else assert.deepEqual(s.argv?.slice(-6), ['-m', 'comment', '--comment', GUARD_TAG, '-j', 'RETURN']);
        if (s.table === 'inet replyguard_guard') continue;
        const key = s.backend === 'nft' ? `${s.table} ${s.chain}` : `ip ${s.table} ${s.chain}`;
        assert.ok(
          proxies.some((p) => p.chains.includes(key)),
          `${key} is not a chain of a recognised proxy`,
        );
      }
      // Simulated: every reply forwarded, the LAN host's SYN keeps its verdict.
      const after = simulateGuard(inp.ruleset, plan.steps);
      const status = guardStatus({ ...inp, ruleset: after });
      if (plan.status === 'ok') {
        assert.equal(status.effective, true, JSON.stringify(status.packets, null, 1));
        assert.equal(status.inPlace, true);
        assert.equal(status.missing.length, 0);
        for (const p of status.packets.filter((x) => x.kind !== 'lan-syn')) assert.equal(p.verdict, 'forwarded');
      }
      const synBefore = plan.before.find((p) => p.kind === 'lan-syn');
      const synAfter = status.packets.find((p) => p.kind === 'lan-syn');
      assert.equal(synAfter?.verdict, synBefore?.verdict, 'a LAN host’s own new connection must keep its verdict');
      assert.equal(synAfter?.how, synBefore?.how);
      // Planning again on the guarded ruleset gives the same plan (the guard is ignored when planning).
      assert.deepEqual(
        planGuard({ ...inp, ruleset: after }).steps.map((s) => s.rule),
        plan.steps.map((s) => s.rule),
      );
      // And stripping the guard gives the original rules back.
      const stripped = stripGuard(after);
      assert.equal(
        stripped.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.map((r) => r.text))).join('\n'),
        inp.ruleset.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.map((r) => r.text))).join('\n'),
      );
    });
  }

  it("changes nothing for packets other than the forwards' replies (other hosts, other ports, LAN hosts' own traffic)", () => {
    const others: GuardPacket[] = [
      { forward: 'x', proto: 'tcp', kind: 'synack', from: '192.168.1.11:443', to: '203.0.113.50:40000' },
      { forward: 'x', proto: 'tcp', kind: 'ack', from: '192.168.1.11:443', to: '203.0.113.50:40000' },
      { forward: 'x', proto: 'tcp', kind: 'ack', from: '192.168.1.10:8443', to: '203.0.113.50:40000' },
      { forward: 'x', proto: 'udp', kind: 'udp', from: '192.168.1.10:5353', to: '203.0.113.50:40000' },
      { forward: 'x', proto: 'udp', kind: 'udp', from: '192.168.1.11:51820', to: '203.0.113.50:40000' },
      { forward: 'x', proto: 'tcp', kind: 'lan-syn', from: '192.168.1.10:443', to: '203.0.113.50:443' },
      { forward: 'x', proto: 'tcp', kind: 'lan-syn', from: '192.168.1.20:40000', to: '198.51.100.7:80' },
    ];
    let planned = 0;
    for (const name of FIXTURES) {
      const inp = input(name);
      const plan = planGuard(inp);
      if (plan.steps.length === 0) continue;
      planned++;
      const before = checkPackets(inp.ruleset, others, 'br-lan').map((c) => c.check);
      const after = checkPackets(simulateGuard(inp.ruleset, plan.steps), others, 'br-lan').map((c) => c.check);
      assert.deepEqual(
        after.map((c) => `${c.from} ${c.kind}: ${c.verdict} ${c.how ?? ''} ${c.by ?? ''}`),
        before.map((c) => `${c.from} ${c.kind}: ${c.verdict} ${c.how ?? ''} ${c.by ?? ''}`),
        name,
      );
    }
    assert.ok(planned >= 9, `only ${planned} fixtures had a plan`);
  });

  it('without forwards: guards TCP from the LAN to public addresses (no UDP), and still only what the proxy takes', () => {
    const plan = planGuard(input('openclash-fw4-tun', []));
    assert.equal(plan.scope, 'lan');
    assert.equal(plan.steps.length, 1);
    assert.match(
      plan.steps[0]!.rule,
      /^ip saddr \{ 192\.168\.1\.0\/24 \} ip daddr != \{ 0\.0\.0\.0\/8, .*\} meta l4proto tcp tcp flags & \(fin\|syn\|rst\|ack\) != syn ct state \{ invalid, new \} counter return comment "replyguard-guard"$/,
    );
    const st = guardStatus({
      ...input('openclash-fw4-tun', []),
      ruleset: simulateGuard(input('openclash-fw4-tun', []).ruleset, plan.steps),
    });
    assert.equal(st.effective, true);
    const nat = planGuard(input('openclash-fw4-fakeip', []));
    assert.deepEqual(
      nat.steps.map((s) => `${s.op} ${s.table}`),
      ['create-table inet replyguard_guard', 'add inet replyguard_guard'],
    );
    assert.match(nat.steps[1]!.rule, /dnat ip to ip daddr comment "replyguard-guard"$/);
  });

  it("OpenClash with IPv6 on: a v6 forward's guard goes where its IPv6 chains take the replies", () => {
    const v6: ForwardConfig[] = [
      { name: 'nas6', host: '2001:db8:50::10', port: 443, proto: 'tcp' },
      { name: 'wg6', host: '2001:db8:50::10', port: 51820, proto: 'udp' },
    ];
    const want: Record<string, string[]> = {
      // TProxy (ipv6_mode 0): the SYN-ACK is taken in mangle, so both returns go to the top of openclash_mangle_v6.
      'openclash-fw4-ipv6-tproxy': ['insert inet fw4 openclash_mangle_v6', 'insert inet fw4 openclash_mangle_v6'],
      // Redirect (ipv6_mode 1): the identity dnat ip6 for TCP, the UDP return in openclash_mangle_v6.
      'openclash-fw4-ipv6-redirect': [
        'create-table inet replyguard_guard nat_pre',
        'add inet replyguard_guard nat_pre',
        'insert inet fw4 openclash_mangle_v6',
      ],
    };
    for (const [name, shape] of Object.entries(want)) {
      const inp = input(name, v6, { lanSubnets: ['192.168.1.0/24', '2001:db8:50::/64'] });
      const plan = planGuard(inp);
      assert.deepEqual(
        plan.steps.map((s) => `${s.op} ${s.table} ${s.chain}`),
        shape,
        renderPlan(plan),
      );
      for (const s of plan.steps.filter((x) => x.op !== 'create-table'))
        assert.match(s.rule, /ip6 saddr 2001:db8:50::10 /);
      const status = guardStatus({ ...inp, ruleset: simulateGuard(inp.ruleset, plan.steps) });
      assert.equal(status.effective, true, JSON.stringify(status.packets, null, 1));
      for (const p of status.packets.filter((x) => x.kind !== 'lan-syn')) assert.equal(p.verdict, 'forwarded', p.from);
      const synBefore = plan.before.find((p) => p.kind === 'lan-syn');
      const synAfter = status.packets.find((p) => p.kind === 'lan-syn');
      assert.equal(synAfter?.verdict, synBefore?.verdict, 'a LAN host’s own new connection keeps its verdict');
    }
  });

  it("OpenClash on fw3 with IPv6 on: a v6 forward's guard is an ip6tables RETURN at the top of mangle openclash", () => {
    // ipv6_mode 0: ip6tables mangle openclash TPROXYs TCP and UDP (init.d/openclash 2960, 2971), so both returns go there.
    const inp = input(
      'openclash-fw3-ipv6',
      [
        { name: 'nas6', host: '2001:db8:50::10', port: 443, proto: 'tcp' },
        { name: 'wg6', host: '2001:db8:50::10', port: 51820, proto: 'udp' },
      ],
      { lanSubnets: ['192.168.1.0/24', '2001:db8:50::/64'] },
    );
    const plan = planGuard(inp);
    assert.deepEqual(
      plan.steps.map((s) => `${s.op} ${s.backend} ${s.table} ${s.chain}`),
      ['insert ip6tables mangle openclash', 'insert ip6tables mangle openclash'],
      renderPlan(plan),
    );
    for (const s of plan.steps) assert.match(s.rule, /^-s 2001:db8:50::10 -p (tcp|udp) /);
    const status = guardStatus({ ...inp, ruleset: simulateGuard(inp.ruleset, plan.steps) });
    assert.equal(status.effective, true, JSON.stringify(status.packets, null, 1));
    for (const p of status.packets.filter((x) => x.kind !== 'lan-syn')) assert.equal(p.verdict, 'forwarded', p.from);
    assert.equal(status.packets.find((p) => p.kind === 'lan-syn')?.verdict, 'proxied');
  });

  it('--nat iptables: a RETURN at the top of the proxy nat chain instead of the own table', () => {
    const plan = planGuard(input('openclash-fw4-fakeip', FORWARDS, { natBackend: 'iptables' }));
    assert.deepEqual(
      plan.steps.map((s) => `${s.op} ${s.table} ${s.chain}`),
      ['insert inet fw4 openclash', 'insert inet fw4 openclash_mangle'],
    );
    assert.match(
      plan.steps[0]!.rule,
      /^ip saddr 192\.168\.1\.10 tcp sport 443 tcp flags & \(fin\|syn\|rst\|ack\) != syn counter return/,
    );
    const fw3 = planGuard(input('openclash-fw3-fakeip', FORWARDS, { natBackend: 'iptables' }));
    assert.deepEqual(
      fw3.steps.map((s) => `${s.backend} ${s.table} ${s.chain} ${s.argv?.join(' ')}`),
      [
        'iptables nat openclash -s 192.168.1.10 -p tcp --sport 443 ! --syn -m comment --comment replyguard-guard -j RETURN',
        'iptables mangle openclash -s 192.168.1.10 -p udp --sport 51820 -m comment --comment replyguard-guard -j RETURN',
      ],
    );
    assert.equal(fw3.steps[0]!.variant, 'legacy');
    const st = guardStatus({
      ...input('openclash-fw3-fakeip', FORWARDS, { natBackend: 'iptables' }),
      ruleset: simulateGuard(input('openclash-fw3-fakeip').ruleset, fw3.steps),
    });
    assert.equal(st.effective, true);
  });

  it('OpenClash: prints the lan_ac_traffic entries that do the same through its own settings', () => {
    const plan = planGuard(input('openclash-fw4-fakeip'));
    const text = plan.native.join('\n');
    assert.match(text, /uci add openclash lan_ac_traffic/);
    assert.match(text, /src_ip='192\.168\.1\.10'/);
    assert.match(text, /src_port='443'/);
    assert.match(text, /src_port='51820'/);
    assert.match(text, /proto='udp'/);
    assert.match(text, /common_ports/);
    assert.deepEqual(planGuard(input('passwall2-nft')).native, []);
  });

  it('OpenClash with Bypass Gateway Compatible on: common ports spare the replies only with the masquerade off', () => {
    const on = planGuard(input('openclash-fw4-bypass-gateway-compatible')).native.join('\n');
    assert.match(on, /common_ports='1'` together with\n# `uci set openclash\.config\.bypass_gateway_compatible='0'`/);
    const off = planGuard(input('openclash-fw4-fakeip')).native.join('\n');
    assert.match(off, /common_ports='1'` also spares the replies/);
    assert.doesNotMatch(off, /bypass_gateway_compatible/);
  });
});

describe('guard apply scripts (pure parts)', () => {
  it('nft: one transaction; inserts in reverse so they end up in plan order; existing guard deleted first', () => {
    const inp = input('openclash-fw4-tun');
    const plan = planGuard(inp);
    const fresh = nftApplyScript(plan.steps, { rules: [], ownTable: false, ownChains: [] }).trim().split('\n');
    assert.equal(fresh.length, 2);
    assert.match(fresh[0]!, /^insert rule inet fw4 openclash_mangle ip saddr 192\.168\.1\.10 udp sport 51820/);
    assert.match(fresh[1]!, /^insert rule inet fw4 openclash_mangle ip saddr 192\.168\.1\.10 tcp sport 443/);
    const again = nftApplyScript(plan.steps, {
      rules: [{ backend: 'nft', table: 'inet fw4', chain: 'openclash_mangle', handle: 42, text: 'x' }],
      ownTable: true,
      ownChains: ['nat_pre'],
    });
    assert.match(
      again,
      /^delete rule inet fw4 openclash_mangle handle 42\ntable inet replyguard_guard\ndelete table inet replyguard_guard\ninsert/,
    );
    const nat = planGuard(input('openclash-fw4-fakeip'));
    const script = nftApplyScript(nat.steps, { rules: [], ownTable: false, ownChains: [] });
    assert.match(
      script,
      /^table inet replyguard_guard\ndelete table inet replyguard_guard\ntable inet replyguard_guard \{\n {2}chain nat_pre \{\n {4}type nat hook prerouting priority dstnat - 10; policy accept;\n {2}\}\n\}\nadd rule inet replyguard_guard nat_pre meta nfproto ipv4 ip saddr 192\.168\.1\.10 tcp sport 443 /,
    );
    assert.equal(nftRemoveScript({ rules: [], ownTable: false, ownChains: [] }), '');
  });

  it('iptables: deletes a tagged rule by the spec iptables-save lists', () => {
    const line =
      '-A openclash -s 192.168.1.10/32 -p udp -m udp --sport 51820 -m comment --comment "replyguard-guard" -j RETURN';
    assert.deepEqual(splitSaveLine(line).slice(-4), ['--comment', 'replyguard-guard', '-j', 'RETURN']);
    const argv = iptablesDeleteArgv({ backend: 'iptables', table: 'mangle', chain: 'openclash', text: line });
    assert.ok(argv);
    assert.deepEqual(argv!.slice(1), [
      '-w',
      '-t',
      'mangle',
      '-D',
      'openclash',
      '-s',
      '192.168.1.10/32',
      '-p',
      'udp',
      '-m',
      'udp',
      '--sport',
      '51820',
      '-m',
      'comment',
      '--comment',
      'replyguard-guard',
      '-j',
      'RETURN',
    ]);
  });

  it('findGuard finds exactly the tagged rules and the own table, nothing else', () => {
    const inp = input('openclash-fw4-fakeip');
    assert.deepEqual(findGuard(inp.ruleset), { rules: [], ownTable: false, ownChains: [] });
    const plan = planGuard(inp);
    const found = findGuard(simulateGuard(inp.ruleset, plan.steps));
    assert.equal(found.ownTable, true);
    assert.deepEqual(
      found.rules.map((r) => `${r.table} ${r.chain}`),
      ['inet fw4 openclash_mangle', 'inet replyguard_guard nat_pre'],
    );
  });
});

// An IPv6 TPROXY chain as OpenClash's ipv6_mode 0 has it, dumped with nft 1.0.6 before and after the
// plan's own script (nftApplyScript) was applied in a network namespace.
const V6_BASE = {
  nftables: [
    { table: { family: 'inet', name: 'fw4', handle: 1 } },
    {
      chain: {
        family: 'inet',
        table: 'fw4',
        name: 'mangle_prerouting',
        handle: 1,
        type: 'filter',
        hook: 'prerouting',
        prio: -150,
        policy: 'accept',
      },
    },
    { chain: { family: 'inet', table: 'fw4', name: 'openclash_mangle_v6', handle: 2 } },
    {
      rule: {
        family: 'inet',
        table: 'fw4',
        chain: 'mangle_prerouting',
        handle: 3,
        expr: [
          { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv6' } },
          { jump: { target: 'openclash_mangle_v6' } },
        ],
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'fw4',
        chain: 'openclash_mangle_v6',
        handle: 4,
        expr: [
          { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'tcp' } },
          { mangle: { key: { meta: { key: 'mark' } }, value: 354 } },
          { tproxy: { family: 'ip6', port: 7895 } },
          { counter: { packets: 0, bytes: 0 } },
          { accept: null },
        ],
      },
    },
  ],
};
const V6_GUARDED = {
  nftables: [
    { table: { family: 'inet', name: 'fw4', handle: 1 } },
    {
      chain: {
        family: 'inet',
        table: 'fw4',
        name: 'mangle_prerouting',
        handle: 1,
        type: 'filter',
        hook: 'prerouting',
        prio: -150,
        policy: 'accept',
      },
    },
    { chain: { family: 'inet', table: 'fw4', name: 'openclash_mangle_v6', handle: 2 } },
    {
      rule: {
        family: 'inet',
        table: 'fw4',
        chain: 'mangle_prerouting',
        handle: 3,
        expr: [
          { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv6' } },
          { jump: { target: 'openclash_mangle_v6' } },
        ],
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'fw4',
        chain: 'openclash_mangle_v6',
        handle: 6,
        comment: 'replyguard-guard',
        expr: [
          { match: { op: '==', left: { payload: { protocol: 'ip6', field: 'saddr' } }, right: 'fd00::10' } },
          { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'sport' } }, right: 443 } },
          {
            match: {
              op: '!=',
              left: { '&': [{ payload: { protocol: 'tcp', field: 'flags' } }, ['fin', 'syn', 'rst', 'ack']] },
              right: 'syn',
            },
          },
          { match: { op: '==', left: { ct: { key: 'state' } }, right: { set: ['invalid', 'new'] } } },
          { counter: { packets: 0, bytes: 0 } },
          { return: null },
        ],
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'fw4',
        chain: 'openclash_mangle_v6',
        handle: 4,
        expr: [
          { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'tcp' } },
          { mangle: { key: { meta: { key: 'mark' } }, value: 354 } },
          { tproxy: { family: 'ip6', port: 7895 } },
          { counter: { packets: 0, bytes: 0 } },
          { accept: null },
        ],
      },
    },
  ],
};
const V6_ROUTING = {
  ip6Rule: JSON.stringify([
    { priority: 0, src: 'all', table: 'local' },
    { priority: 100, src: 'all', fwmark: '0x162', table: '354' },
    { priority: 32766, src: 'all', table: 'main' },
  ]),
  ip6Route: JSON.stringify([
    { type: 'local', dst: 'default', dev: 'lo', table: '354' },
    { dst: 'default', gateway: 'fd00::1', dev: 'br-lan' },
  ]),
};

describe('guard for IPv6 (where the proxy handles IPv6)', () => {
  const forwards: ForwardConfig[] = [
    { name: 'nas6', host: 'fd00::10', port: 443, proto: 'tcp' },
    { name: 'wg6', host: 'fd00::10', port: 51820, proto: 'udp' },
  ];
  const inputOf = (json: object): GuardInput => ({
    ruleset: makeSnapshot({ nftJson: JSON.stringify(json), ...V6_ROUTING }).ruleset,
    forwards,
    lanSubnets: ['fd00::/64'],
    iif: 'br-lan',
  });

  it('plans a return for the v6 server at the top of the v6 mangle chain; the kernel-listed result is in place and effective', () => {
    const plan = planGuard(inputOf(V6_BASE));
    assert.deepEqual(
      plan.steps.map((s) => `${s.op} ${s.table} ${s.chain} ${s.rule}`),
      [
        'insert inet fw4 openclash_mangle_v6 ip6 saddr fd00::10 tcp sport 443 tcp flags & (fin|syn|rst|ack) != syn ct state { invalid, new } counter return comment "replyguard-guard"',
      ],
    );
    assert.deepEqual(
      plan.before.map((p) => `${p.kind} ${p.verdict}`),
      ['synack proxied', 'ack proxied', 'udp forwarded', 'lan-syn proxied'],
    );
    const st = guardStatus(inputOf(V6_GUARDED));
    assert.equal(st.inPlace, true, st.summary);
    assert.equal(st.effective, true, JSON.stringify(st.packets, null, 1));
    assert.equal(st.packets.find((p) => p.kind === 'lan-syn')?.verdict, 'proxied');
    assert.equal(nftRemoveScript(st.present), 'delete rule inet fw4 openclash_mangle_v6 handle 6\n');
  });

  it("walks the v6 replies to a public peer: OpenClash's localnetwork6 (it holds 2001:db8::/32) does not hide them", () => {
    // As nft 1.0.6 lists OpenClash's set and its early return (the lab's nft-tproxy mode with ipv6).
    const set = {
      set: {
        family: 'inet',
        name: 'localnetwork6',
        table: 'fw4',
        type: 'ipv6_addr',
        handle: 5,
        flags: ['interval'],
        elem: ['::', '::1', { prefix: { addr: '2001:db8::', len: 32 } }, { prefix: { addr: 'fe80::', len: 10 } }],
      },
    };
    const early = {
      rule: {
        family: 'inet',
        table: 'fw4',
        chain: 'openclash_mangle_v6',
        handle: 14,
        expr: [
          { match: { op: '==', left: { payload: { protocol: 'ip6', field: 'daddr' } }, right: '@localnetwork6' } },
          { counter: { packets: 0, bytes: 0 } },
          { return: null },
        ],
      },
    };
    const [table, ...rest] = V6_BASE.nftables;
    const tproxyAt = rest.findIndex((o) => (o as { rule?: { handle: number } }).rule?.handle === 4);
    const json = { nftables: [table, set, ...rest.slice(0, tproxyAt), early, ...rest.slice(tproxyAt)] };
    const plan = planGuard(inputOf(json));
    assert.deepEqual(
      plan.before.map((p) => `${p.kind} ${p.verdict}`),
      ['synack proxied', 'ack proxied', 'udp forwarded', 'lan-syn proxied'],
    );
    assert.ok(
      plan.before.every((p) => !p.to.startsWith('[2001:db8:')),
      JSON.stringify(plan.before),
    );
    assert.equal(plan.steps.length, 1, JSON.stringify(plan, null, 1));
    assert.match(plan.steps[0]!.rule, /^ip6 saddr fd00::10 tcp sport 443 /);
  });

  it('adds no IPv6 rule where the proxy does not take IPv6 replies', () => {
    const plan = planGuard({
      ...input('openclash-fw4-fakeip'),
      forwards: [],
      lanSubnets: ['192.168.1.0/24', 'fd00::/64'],
    });
    assert.ok(
      plan.steps.every((s) => !s.rule.includes('ip6')),
      'no v6 rule where the proxy does not take v6 replies',
    );
  });
});

describe('config option guard', () => {
  it('is off unless set; auto is accepted; anything else is an error', () => {
    assert.equal(parseConfigText('[main]\n', '/x.ini').main.guard, undefined);
    assert.equal(parseConfigText('[main]\nguard = auto\n', '/x.ini').main.guard, 'auto');
    assert.equal(parseConfigText('[main]\nguard = off\n', '/x.ini').main.guard, 'off');
    assert.throws(() => parseConfigText('[main]\nguard = on\n', '/x.ini'), /guard.*not one of: off, auto/);
  });
});

describe('guard planning grows linearly with the forwards', () => {
  // test/fixtures/attacks/forwards-1000.uci: 1,000 declared TCP forwards. Every planned guard rule sits
  // at the top of the proxy's chain; each forward's replies must meet its own rule, not all of them.
  const all = parseConfigText(
    readFileSync(join(__dirname, '..', '..', 'fixtures', 'attacks', 'forwards-1000.uci'), 'utf8'),
    '/etc/config/replyguard',
  ).forwards;

  const visitsFor = (forwards: ForwardConfig[]) => {
    const plan = planGuard(input('openclash-fw4-tun', forwards));
    assert.equal(plan.steps.filter((s) => s.op !== 'create-table').length, forwards.length);
    assert.ok(
      plan.after.every((c) => !swallowed(c)),
      'every forward guarded',
    );
    const base = stripGuard(input('openclash-fw4-tun', forwards).ruleset);
    const checked = checkPackets(simulateGuard(base, plan.steps), guardPackets({ forwards, lanSubnets: [] }), 'br-lan');
    return checked.reduce((n, c) => n + (c.ev?.ruleVisits ?? Number.NaN), 0);
  };

  it('4× the forwards cost about 4× the rule visits (not 16×)', () => {
    const quarter = visitsFor(all.slice(0, 250));
    const full = visitsFor(all);
    assert.ok(full / quarter < 5, `rule visits: ${quarter} for 250 forwards, ${full} for 1,000`);
  });
});
