// `replyguard guard` on a real kernel, every lab mode: the built bundle runs
// inside the side router's namespace with a config naming the forwards.
// Before: the outside TLS connection through the forward fails. After
// `guard apply`: it succeeds, repeatedly (and the UDP forward where the mode
// takes UDP), while the proxy still takes a LAN host's own new connections;
// `guard status` says in place and effective; a second apply changes nothing.
// After `guard remove`: it fails again and `nft list ruleset` / `iptables-save`
// equal what they were before apply (counters normalised).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUNDLE, ensureBundle, normaliseDump } from '../helpers/bundle';
import { createLab, type Lab, MODE_TRAITS, type ProxyMode } from '../lab/lab';

interface StatusJson {
  in_place: boolean;
  effective: boolean;
  needed: boolean;
  rules: { table: string; chain: string; text: string }[];
}

const MODES: ProxyMode[] = [
  'iptables-redirect',
  'openclash-fw3',
  'nft-redirect',
  'openclash-fw4-fakeip',
  'nft-tproxy',
  'tun',
  'passwall2-tproxy',
  'passwall',
  'shellcrash',
  'nikki',
];

function writeConfig(dir: string, lab: Lab, forwards: boolean): string {
  const config = join(dir, forwards ? 'replyguard.ini' : 'lan-only.ini');
  const lines = ['[main]', 'lan_interfaces = br-lan'];
  if (forwards)
    lines.push(
      '[forward.nas]',
      `host = ${lab.addr.server}`,
      `port = ${lab.forward.serverPort}`,
      'proto = tcp',
      '[forward.wg]',
      `host = ${lab.addr.server}`,
      `port = ${lab.forward.udpServerPort}`,
      'proto = udp',
    );
  writeFileSync(config, `${lines.join('\n')}\n`);
  return config;
}

async function runGuard(
  lab: Lab,
  config: string,
  sub: string,
  opts: { json?: boolean; extra?: string[] } = {},
): Promise<{ code: number | null; out: string; doc: unknown }> {
  const json = opts.json ?? true;
  const argv = [
    process.execPath,
    BUNDLE,
    'guard',
    sub,
    '--config',
    config,
    ...(opts.extra ?? []),
    ...(json ? ['--json'] : []),
  ];
  const res = await lab.exec(lab.ns.side, argv, { timeoutMs: 20_000 });
  let doc: unknown;
  if (json) {
    assert.ok(res.stdout.trim().startsWith('{'), `guard ${sub} printed no JSON: ${res.stdout}\n${res.stderr}`);
    doc = JSON.parse(res.stdout);
  }
  return { code: res.code, out: res.stdout + res.stderr, doc };
}

/** nft list ruleset + both iptables-save variants, normalised. */
async function dumpsOf(lab: Lab): Promise<string> {
  const nft = await lab.exec(lab.ns.side, ['nft', 'list', 'ruleset']);
  const parts = [normaliseDump(nft.stdout)];
  for (const tool of ['iptables-legacy-save', 'iptables-nft-save']) {
    const r = await lab.exec(lab.ns.side, [tool]);
    parts.push(`== ${tool}\n${normaliseDump(r.stdout)}`);
  }
  return parts.join('\n');
}

async function assertWorks(lab: Lab, times: number, context: string): Promise<void> {
  for (let i = 0; i < times; i++) {
    const r = await lab.tlsThroughForward({ timeoutMs: 5000 });
    assert.equal(r.detail, 'HTTP 200', `attempt ${i + 1} (${context}): ${r.detail}`);
  }
}

for (const mode of MODES) {
  describe(`guard on the live kernel, ${mode}`, () => {
    let lab: Lab;
    let dir: string;
    let config: string;
    const traits = MODE_TRAITS[mode];

    before(async () => {
      ensureBundle();
      lab = await createLab({ mode, tag: 'gd' });
      dir = mkdtempSync(join(tmpdir(), 'rg-guard-'));
      config = writeConfig(dir, lab, true);
    });
    after(async () => {
      await lab?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const guard = (sub: string, json = true) => runGuard(lab, config, sub, { json });
    const dumps = () => dumpsOf(lab);

    it('breaks the forward before, fixes it with apply (repeatedly), keeps the proxy for LAN hosts, and remove restores the exact ruleset', async () => {
      const pristine = await dumps();
      const first = await lab.tlsThroughForward({ timeoutMs: 3000 });
      assert.equal(first.ok, false, `without a guard the forward must fail in ${mode}`);
      if (traits.udp) assert.equal((await lab.udpThroughForward({ timeoutMs: 1500 })).ok, false);

      const plan = await guard('plan');
      assert.equal(plan.code, 0, plan.out);
      const statusBefore = (await guard('status')).doc as StatusJson;
      assert.equal(statusBefore.in_place, false);
      assert.equal(statusBefore.effective, false);
      assert.equal(statusBefore.needed, true);

      const applied = await guard('apply', false);
      assert.equal(applied.code, 0, applied.out);
      for (let i = 0; i < 3; i++) {
        const r = await lab.tlsThroughForward({ timeoutMs: 5000 });
        assert.equal(r.ok, true, `attempt ${i + 1} with the guard: ${r.detail}\n${applied.out}`);
        assert.equal(r.detail, 'HTTP 200');
      }
      if (traits.udp) {
        const u = await lab.udpThroughForward({ timeoutMs: 3000 });
        assert.equal(u.ok, true, `UDP forward with the guard: ${u.detail}\n${applied.out}`);
      }
      // The proxy still takes the LAN host's own new connections.
      const acceptsBefore = lab.proxyAccepts();
      const outbound = await lab.outboundFromServer({ timeoutMs: 3000 });
      if (traits.redirectPort !== undefined) {
        const deadline = Date.now() + 2000;
        while (lab.proxyAccepts() === acceptsBefore && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        assert.ok(
          lab.proxyAccepts() > acceptsBefore,
          `the proxy listener did not get the LAN host's connection (${outbound.detail})`,
        );
      } else {
        // TPROXY/TUN: the lab's proxy has no listener; a connection the proxy takes never reaches the internet host.
        assert.equal(outbound.ok, false, `a LAN host's own connection bypassed the proxy: ${outbound.detail}`);
      }

      const st = (await guard('status')).doc as StatusJson;
      assert.equal(st.in_place, true, JSON.stringify(st, null, 1));
      assert.equal(st.effective, true, JSON.stringify(st, null, 1));
      assert.ok(st.rules.length > 0);
      const status = await guard('status', false);
      assert.equal(status.code, 0, status.out);

      // Idempotent: a second apply changes nothing.
      const withGuard = await dumps();
      const again = await guard('apply');
      assert.equal(again.code, 0, again.out);
      assert.equal((again.doc as { changed: boolean }).changed, false);
      assert.equal(await dumps(), withGuard);

      const removed = await guard('remove');
      assert.equal(removed.code, 0, removed.out);
      assert.equal(await dumps(), pristine, 'guard remove must restore the ruleset exactly');
      const broken = await lab.tlsThroughForward({ timeoutMs: 3000 });
      assert.equal(broken.ok, false, 'after remove the forward must fail again');
      const nothing = await guard('remove');
      assert.equal(nothing.code, 1, nothing.out);
    });
  });
}

// The own nat table survives the proxy rebuilding its chains; an in-chain guard does not, and status says so.
for (const mode of ['nft-redirect', 'tun'] as ProxyMode[]) {
  describe(`guard across a proxy restart, ${mode}`, () => {
    let lab: Lab;
    let dir: string;
    before(async () => {
      ensureBundle();
      lab = await createLab({ mode, tag: 'gr' });
      dir = mkdtempSync(join(tmpdir(), 'rg-guard-'));
    });
    after(async () => {
      await lab?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it(
      mode === 'nft-redirect'
        ? 'the identity-NAT table stays in force when the proxy deletes and rebuilds its table'
        : 'status reports the guard gone after the proxy rebuilds its chain; apply puts it back',
      async () => {
        const config = writeConfig(dir, lab, true);
        assert.equal((await runGuard(lab, config, 'apply')).code, 0);
        await assertWorks(lab, 1, 'applied');
        await lab.reloadProxyRules();
        const st = (await runGuard(lab, config, 'status')).doc as StatusJson;
        if (mode === 'nft-redirect') {
          assert.equal(st.in_place, true, JSON.stringify(st, null, 1));
          assert.equal(st.effective, true);
          await assertWorks(lab, 2, 'after the proxy rebuilt its table');
        } else {
          assert.equal(st.in_place, false, JSON.stringify(st, null, 1));
          assert.equal(st.effective, false);
          assert.equal((await lab.tlsThroughForward({ timeoutMs: 3000 })).ok, false);
          const again = await runGuard(lab, config, 'apply');
          assert.equal(again.code, 0, again.out);
          await assertWorks(lab, 2, 'applied again');
        }
        assert.equal((await runGuard(lab, config, 'remove')).code, 0);
      },
    );
  });
}

type Variant = 'lan' | 'nat-iptables' | 'legacy' | 'legacy-nat-iptables';
const VARIANT_TITLES: Record<Variant, string> = {
  lan: 'without forwards',
  'nat-iptables': 'with --nat iptables',
  legacy: 'with the proxy in iptables-legacy',
  'legacy-nat-iptables': 'with the proxy in iptables-legacy and --nat iptables',
};

/** Moves the lab's fw3 nat rules from iptables-nft to iptables-legacy (an older OpenWrt's fw3). */
async function toLegacy(lab: Lab): Promise<void> {
  const side = lab.ns.side;
  const save = await lab.exec(side, ['iptables-nft-save', '-t', 'nat']);
  assert.equal(save.code, 0, save.stderr);
  for (const argv of [
    ['iptables-nft', '-w', '-t', 'nat', '-F'],
    ['iptables-nft', '-w', '-t', 'nat', '-X'],
    ['nft', 'delete', 'table', 'ip', 'nat'],
  ]) {
    const r = await lab.exec(side, argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  }
  const restore = await lab.exec(side, ['iptables-legacy-restore', '-w'], { input: save.stdout });
  assert.equal(restore.code, 0, restore.stderr);
  const legacy = await lab.exec(side, ['iptables-legacy-save', '-t', 'nat']);
  assert.match(legacy.stdout, /REDIRECT --to-ports/);
}

// Without declared forwards (TCP from the LAN to public addresses), the in-chain nat fallback (--nat iptables),
// and fw3 on iptables-legacy.
for (const [mode, variant] of [
  ['nft-redirect', 'lan'],
  ['nft-tproxy', 'lan'],
  ['iptables-redirect', 'nat-iptables'],
  ['nikki', 'nat-iptables'],
  ['iptables-redirect', 'legacy'],
  ['iptables-redirect', 'legacy-nat-iptables'],
] as [ProxyMode, Variant][]) {
  describe(`guard ${VARIANT_TITLES[variant]}, ${mode}`, () => {
    let lab: Lab;
    let dir: string;
    before(async () => {
      ensureBundle();
      lab = await createLab({ mode, tag: 'gv' });
      dir = mkdtempSync(join(tmpdir(), 'rg-guard-'));
      if (variant.startsWith('legacy')) await toLegacy(lab);
    });
    after(async () => {
      await lab?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('fixes the forward and is removed without a trace', async () => {
      const config = writeConfig(dir, lab, variant !== 'lan');
      const extra = variant.endsWith('nat-iptables') ? ['--nat', 'iptables'] : [];
      const pristine = await dumpsOf(lab);
      assert.equal((await lab.tlsThroughForward({ timeoutMs: 3000 })).ok, false);
      const applied = await runGuard(lab, config, 'apply', { json: false, extra });
      assert.equal(applied.code, 0, applied.out);
      if (extra.length > 0) assert.doesNotMatch(applied.out, /replyguard_guard/);
      else if (MODE_TRAITS[mode].redirectPort !== undefined) assert.match(applied.out, /table inet replyguard_guard/);
      if (variant === 'lan') assert.match(applied.out, /192\.168\.50\.0\/24/);
      if (variant === 'legacy-nat-iptables') assert.match(applied.out, /iptables-legacy -w -t nat -I openclash 1/);
      await assertWorks(lab, 3, applied.out);
      const acceptsBefore = lab.proxyAccepts();
      const outbound = await lab.outboundFromServer({ timeoutMs: 3000 });
      if (MODE_TRAITS[mode].redirectPort !== undefined) {
        const deadline = Date.now() + 2000;
        while (lab.proxyAccepts() === acceptsBefore && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        assert.ok(
          lab.proxyAccepts() > acceptsBefore,
          `the LAN host's connection bypassed the proxy: ${outbound.detail}`,
        );
      } else assert.equal(outbound.ok, false, `the LAN host's connection bypassed the proxy: ${outbound.detail}`);
      const st = (await runGuard(lab, config, 'status', { extra })).doc as StatusJson;
      assert.equal(st.in_place && st.effective, true, JSON.stringify(st, null, 1));
      assert.equal((await runGuard(lab, config, 'remove')).code, 0);
      assert.equal(await dumpsOf(lab), pristine);
      assert.equal((await lab.tlsThroughForward({ timeoutMs: 3000 })).ok, false);
    });
  });
}

// OpenClash's bypass_gateway_compatible masquerades the picked-up replies too: the guard adds an identity
// source NAT binding (srcnat - 10) to its identity destination NAT binding.
describe('guard with OpenClash bypass_gateway_compatible (masquerade), nft-redirect', () => {
  let lab: Lab;
  let dir: string;
  before(async () => {
    ensureBundle();
    lab = await createLab({ mode: 'nft-redirect', tag: 'gm' });
    dir = mkdtempSync(join(tmpdir(), 'rg-guard-'));
    const post = `table inet fw4 {
  chain srcnat {
    type nat hook postrouting priority srcnat; policy accept;
    meta nfproto ipv4 counter jump openclash_post comment "OpenClash Bypass Gateway Compatible"
  }
  chain openclash_post {
    mark 0x162 counter accept
    ip daddr @localnetwork counter return
    ct direction reply counter return
    fib saddr type != { local } counter masquerade
  }
}
`;
    const r = await lab.exec(lab.ns.side, ['nft', '-f', '-'], { input: post });
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fixes the forward with nat_pre + nat_post, keeps the proxy, and is removed without a trace', async () => {
    const config = writeConfig(dir, lab, true);
    const pristine = await dumpsOf(lab);
    assert.equal((await lab.tlsThroughForward({ timeoutMs: 3000 })).ok, false);
    const applied = await runGuard(lab, config, 'apply', { json: false });
    assert.equal(applied.code, 0, applied.out);
    assert.match(applied.out, /nat_post .*snat ip to ip saddr/);
    await assertWorks(lab, 3, applied.out);
    const acceptsBefore = lab.proxyAccepts();
    await lab.outboundFromServer({ timeoutMs: 3000 });
    const deadline = Date.now() + 2000;
    while (lab.proxyAccepts() === acceptsBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(lab.proxyAccepts() > acceptsBefore);
    assert.equal((await runGuard(lab, config, 'remove')).code, 0);
    assert.equal(await dumpsOf(lab), pristine);
    assert.equal((await lab.tlsThroughForward({ timeoutMs: 3000 })).ok, false);
  });
});
