// `replyguard guard` for IPv6 on a real kernel, where the proxy handles IPv6. The lab
// with ipv6 on: the outside client (3fff:ffff::50) reaches the LAN server [2001:db8:50::10] through the
// main router's plain v6 forward; the server's v6 gateway is the side router, whose proxy takes LAN IPv6
// in its own chain openclash_mangle_v6 (OpenClash's IPv6 TProxy, or TUN), with OpenClash's localnetwork6.
// The built bundle runs inside the side router's namespace with a config declaring a v4 and a v6 forward,
// TCP and UDP each. Before: the v6 TLS connection and the v6 UDP echo fail (and the v4 ones); explain and
// diagnose say the v6 replies are taken in openclash_mangle_v6. After `guard apply`: TLS + HTTP 200
// repeatedly over v6 and v4, both UDP echoes; the proxy still marks a LAN host's own new v6 connection;
// explain says forwarded. After `guard remove`: the v6 forward fails again and `nft list ruleset` (and
// the legacy iptables/ip6tables dumps) equal what they were before apply.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUNDLE, ensureBundle, normaliseDump } from '../helpers/bundle';
import { CLIENT_SERVICE_PORT, createLab, type Lab, type LabAddr6, type ProxyMode } from '../lab/lab';

const PROXY_MARK = 0x162;

async function dumpsOf(lab: Lab): Promise<string> {
  const nft = await lab.exec(lab.ns.side, ['nft', 'list', 'ruleset']);
  assert.equal(nft.code, 0, nft.stderr);
  const parts = [normaliseDump(nft.stdout)];
  for (const tool of ['iptables-legacy-save', 'ip6tables-legacy-save']) {
    const r = await lab.exec(lab.ns.side, [tool]);
    parts.push(`== ${tool}\n${normaliseDump(r.stdout)}`);
  }
  return parts.join('\n');
}

function v6(lab: Lab): LabAddr6 {
  assert.ok(lab.addr6, 'the lab was made without ipv6');
  return lab.addr6;
}

function writeConfig(dir: string, lab: Lab): string {
  const config = join(dir, 'replyguard.ini');
  const forward = (name: string, host: string, port: number, proto: string) => [
    `[forward.${name}]`,
    `host = ${host}`,
    `port = ${port}`,
    `proto = ${proto}`,
  ];
  const lines = [
    '[main]',
    'lan_interfaces = br-lan',
    ...forward('nas', lab.addr.server, lab.forward.serverPort, 'tcp'),
    ...forward('wg', lab.addr.server, lab.forward.udpServerPort, 'udp'),
    ...forward('nas6', v6(lab).server, lab.forward.serverPort, 'tcp'),
    ...forward('wg6', v6(lab).server, lab.forward.udpServerPort, 'udp'),
  ];
  writeFileSync(config, `${lines.join('\n')}\n`);
  return config;
}

/** The fields of the bundle's --json documents that this test reads. */
interface PacketDoc {
  forward: string;
  kind: string;
  verdict: string;
}
interface Doc {
  verdict?: string;
  responsible?: unknown;
  forwards?: { name: string; status: string }[];
  steps?: { op: string; family: number; table: string; chain: string; rule: string }[];
  before?: PacketDoc[];
  after?: PacketDoc[];
  in_place?: boolean;
  effective?: boolean;
  needed?: boolean;
  changed?: boolean;
}

async function bundle(lab: Lab, argv: string[]): Promise<{ code: number | null; out: string; doc: Doc }> {
  const res = await lab.exec(lab.ns.side, [process.execPath, BUNDLE, ...argv], { timeoutMs: 20_000 });
  let doc: Doc = {};
  if (argv.includes('--json')) {
    assert.ok(res.stdout.trim().startsWith('{'), `${argv.join(' ')} printed no JSON: ${res.stdout}\n${res.stderr}`);
    doc = JSON.parse(res.stdout) as Doc;
  }
  return { code: res.code, out: res.stdout + res.stderr, doc };
}

/**
 * An observer after the proxy's mangle chain (priority mangle + 1) that counts the LAN server's own new
 * v6 connection to the outside client carrying the proxy's mark — the mark that routes it into the proxy
 * (TPROXY: the local socket; TUN: utun). The lab's TPROXY rule has its counter after `tproxy`, which a
 * packet without a proxy socket never reaches, so the proxy's own counters cannot show it.
 */
function observer(lab: Lab): string {
  return `table inet rg_lab_observe {
  chain pre {
    type filter hook prerouting priority mangle + 1; policy accept;
    ip6 saddr ${v6(lab).server} ip6 daddr ${v6(lab).client} tcp dport ${CLIENT_SERVICE_PORT} meta mark ${PROXY_MARK} counter
  }
}
`;
}

async function markedOutbound(lab: Lab): Promise<number> {
  const r = await lab.exec(lab.ns.side, ['nft', 'list', 'chain', 'inet', 'rg_lab_observe', 'pre']);
  const m = /counter packets (\d+)/.exec(r.stdout);
  assert.ok(m, `observer counter not found: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

async function assertWorks(lab: Lab, family: 4 | 6, times: number, context: string): Promise<void> {
  for (let i = 0; i < times; i++) {
    const r = await lab.tlsThroughForward({ family, timeoutMs: 5000 });
    assert.equal(r.detail, 'HTTP 200', `IPv${family} attempt ${i + 1} (${context}): ${r.detail}`);
  }
}

/** Both TLS forwards (v4, v6) fail; both UDP forwards fail where the mode takes UDP, else work. Probed at once. */
async function assertBroken(lab: Lab, udpTaken: boolean, context: string): Promise<void> {
  const [tls6, udp6, tls4, udp4] = await Promise.all([
    lab.tlsThroughForward({ family: 6, timeoutMs: 2000 }),
    lab.udpThroughForward({ family: 6, timeoutMs: 1500 }),
    lab.tlsThroughForward({ timeoutMs: 2000 }),
    lab.udpThroughForward({ timeoutMs: 1500 }),
  ]);
  assert.equal(tls6.ok, false, `v6 TLS forward ${context}: ${tls6.detail}`);
  assert.equal(tls4.ok, false, `v4 TLS forward ${context}: ${tls4.detail}`);
  assert.equal(udp6.ok, !udpTaken, `v6 UDP forward ${context}: ${udp6.detail}`);
  assert.equal(udp4.ok, !udpTaken, `v4 UDP forward ${context}: ${udp4.detail}`);
}

interface ModeCase {
  mode: ProxyMode;
  /** The proxy takes the (v6) UDP forward's replies. */
  udp: boolean;
  /** The plan's IPv6 steps (table chain: rule) for the server's v6 address. */
  v6Steps: (server6: string, lab: Lab) => string[];
  /** The v6 replies before the guard: forward kind verdict. */
  before6: string[];
  /** How the lab shows that the proxy still takes a LAN host's own new v6 connection. */
  lanProof: 'mark' | 'listener';
  /** The chain explain names for the v6 reply. */
  responsible: RegExp;
}

const TAG = 'comment "replyguard-guard"';
const MANGLE_V6 = (server6: string, lab: Lab) => [
  `inet fw4 openclash_mangle_v6: ip6 saddr ${server6} tcp sport ${lab.forward.serverPort} tcp flags & (fin|syn|rst|ack) != syn ct state { invalid, new } counter return ${TAG}`,
  `inet fw4 openclash_mangle_v6: ip6 saddr ${server6} udp sport ${lab.forward.udpServerPort} counter return ${TAG}`,
];

const CASES: ModeCase[] = [
  // OpenClash IPv6 Redirect (ipv6_mode 1): the mid-stream pickup is redirected; the nat guard (own table).
  {
    mode: 'nft-redirect',
    udp: false,
    v6Steps: (server6, lab) => [
      `inet replyguard_guard nat_pre: meta nfproto ipv6 ip6 saddr ${server6} tcp sport ${lab.forward.serverPort} tcp flags & (fin|syn|rst|ack) != syn counter dnat ip6 to ip6 daddr ${TAG}`,
    ],
    before6: ['nas6 synack forwarded', 'nas6 ack proxied', 'wg6 udp forwarded'],
    lanProof: 'listener',
    responsible: /openclash_v6/,
  },
  // OpenClash IPv6 TProxy (ipv6_mode 0) and TUN (ipv6_mode 2): the SYN-ACK is taken in openclash_mangle_v6.
  {
    mode: 'nft-tproxy',
    udp: true,
    v6Steps: MANGLE_V6,
    before6: ['nas6 synack proxied', 'nas6 ack proxied', 'wg6 udp proxied'],
    lanProof: 'mark',
    responsible: /openclash_mangle_v6/,
  },
  {
    mode: 'tun',
    udp: true,
    v6Steps: MANGLE_V6,
    before6: ['nas6 synack proxied', 'nas6 ack proxied', 'wg6 udp proxied'],
    lanProof: 'mark',
    responsible: /openclash_mangle_v6/,
  },
  // nikki with IPv6 on: one set of chains for both families; TCP redirected in lan_redirect (the nat guard,
  // own table), UDP marked into its tun in lan_tun (a UDP return there).
  {
    mode: 'nikki',
    udp: true,
    v6Steps: (server6, lab) => [
      `inet replyguard_guard nat_pre: meta nfproto ipv6 ip6 saddr ${server6} tcp sport ${lab.forward.serverPort} tcp flags & (fin|syn|rst|ack) != syn counter dnat ip6 to ip6 daddr ${TAG}`,
      `inet nikki lan_tun: ip6 saddr ${server6} udp sport ${lab.forward.udpServerPort} counter return ${TAG}`,
    ],
    before6: ['nas6 synack forwarded', 'nas6 ack proxied', 'wg6 udp proxied'],
    lanProof: 'listener',
    responsible: /lan_redirect/,
  },
];

for (const c of CASES) {
  const { mode } = c;
  describe(`guard for IPv6 on the live kernel, ${mode}`, () => {
    let lab: Lab;
    let dir: string;
    let config: string;

    before(async () => {
      ensureBundle();
      lab = await createLab({ mode, ipv6: true, tag: 'g6' });
      dir = mkdtempSync(join(tmpdir(), 'rg-guard6-'));
      config = writeConfig(dir, lab);
      if (c.lanProof === 'mark') {
        const r = await lab.exec(lab.ns.side, ['nft', '-f', '-'], { input: observer(lab) });
        assert.equal(r.code, 0, r.stderr);
      }
    });
    after(async () => {
      await lab?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const guard = (sub: string, json = true) =>
      bundle(lab, ['guard', sub, '--config', config, ...(json ? ['--json'] : [])]);
    const explain6 = () =>
      bundle(lab, [
        'explain',
        '--from',
        `[${v6(lab).server}]:${lab.forward.serverPort}`,
        '--to',
        `[${v6(lab).client}]:40000`,
        '--json',
      ]);

    it('v6 forward: fails before, works after apply (v4 too), the proxy keeps LAN IPv6, remove restores the exact ruleset', async (t) => {
      const started = Date.now();
      const server6 = v6(lab).server;
      const pristine = await dumpsOf(lab);
      await assertBroken(lab, c.udp, 'without a guard');

      // explain and diagnose agree on where the v6 reply goes.
      const ex = await explain6();
      assert.equal(ex.doc.verdict, 'proxied', ex.out);
      assert.match(JSON.stringify(ex.doc.responsible), c.responsible);
      const diag = await bundle(lab, ['diagnose', '--config', config, '--json']);
      const diagOf = (name: string) => diag.doc.forwards?.find((f) => f.name === name)?.status;
      assert.equal(diagOf('nas6'), 'at_risk', diag.out);
      if (c.udp) assert.equal(diagOf('wg6'), 'at_risk', diag.out);
      else assert.notEqual(diagOf('wg6'), 'at_risk', diag.out);

      // The plan's IPv6 rules, and the v6 replies on the model before and after them.
      const plan = await guard('plan');
      assert.equal(plan.code, 0, plan.out);
      const v6Steps = (plan.doc.steps ?? []).filter((s) => s.family === 6 && s.op !== 'create-table');
      assert.deepEqual(
        v6Steps.map((s) => `${s.table} ${s.chain}: ${s.rule}`),
        c.v6Steps(server6, lab),
        plan.out,
      );
      const packets6 = (list: PacketDoc[] = []) =>
        list.filter((p) => p.forward.endsWith('6')).map((p) => `${p.forward} ${p.kind} ${p.verdict}`);
      assert.deepEqual(packets6(plan.doc.before), c.before6);
      assert.deepEqual(packets6(plan.doc.after), ['nas6 synack forwarded', 'nas6 ack forwarded', 'wg6 udp forwarded']);
      const statusBefore = (await guard('status')).doc;
      assert.equal(statusBefore.in_place, false);
      assert.equal(statusBefore.needed, true);

      const applied = await guard('apply', false);
      assert.equal(applied.code, 0, applied.out);
      await assertWorks(lab, 6, 3, applied.out);
      await assertWorks(lab, 4, 2, applied.out);
      const [u6, u4] = await Promise.all([
        lab.udpThroughForward({ family: 6, timeoutMs: 3000 }),
        lab.udpThroughForward({ timeoutMs: 3000 }),
      ]);
      assert.equal(u6.ok, true, `v6 UDP forward with the guard: ${u6.detail}`);
      assert.equal(u4.ok, true, `v4 UDP forward with the guard: ${u4.detail}`);

      // The proxy still takes a LAN host's own new v6 connection (and v4: guard-live.test.ts shows it per mode).
      if (c.lanProof === 'mark') {
        const marked = await markedOutbound(lab);
        const out6 = await lab.outboundFromServer({ family: 6, timeoutMs: 2000 });
        assert.equal(out6.ok, false, `a LAN host's own v6 connection bypassed the proxy: ${out6.detail}`);
        const markedAfter = await markedOutbound(lab);
        assert.ok(
          markedAfter > marked,
          `the LAN host's v6 SYN did not carry the proxy's mark (${marked} → ${markedAfter})`,
        );
      } else {
        const accepts = lab.proxyAccepts();
        const out6 = await lab.outboundFromServer({ family: 6, timeoutMs: 2000 });
        const deadline = Date.now() + 2000;
        while (lab.proxyAccepts() === accepts && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.ok(
          lab.proxyAccepts() > accepts,
          `the proxy listener did not get the LAN host's v6 connection: ${out6.detail}`,
        );
      }

      const exAfter = await explain6();
      assert.equal(exAfter.doc.verdict, 'forwarded', exAfter.out);
      const st = (await guard('status')).doc;
      assert.equal(st.in_place, true, JSON.stringify(st, null, 1));
      assert.equal(st.effective, true, JSON.stringify(st, null, 1));

      const withGuard = await dumpsOf(lab);
      const again = await guard('apply');
      assert.equal(again.code, 0, again.out);
      assert.equal(again.doc.changed, false);
      assert.equal(await dumpsOf(lab), withGuard);

      const removed = await guard('remove');
      assert.equal(removed.code, 0, removed.out);
      assert.equal(await dumpsOf(lab), pristine, 'guard remove must restore the ruleset exactly');
      await assertBroken(lab, c.udp, 'after remove');
      t.diagnostic(`${mode}: ${Date.now() - started} ms`);
    });
  });
}
