// Checks that the lab reproduces the incident: forwards work without a proxy,
// nat REDIRECT (iptables or nft) resets them, the guard fixes them, and
// destroy() leaves nothing behind. Run as root:
//   node --import tsx --test test/lab/lab-selfcheck.test.ts

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { CLIENT_SERVICE_PORT, createLab, type Lab, type LabOptions, type ProxyMode } from './lab';

const PROXY_MODES: ProxyMode[] = ['iptables-redirect', 'nft-redirect'];

function hostLines(argv: string[]): string[] {
  const [cmd, ...args] = argv;
  const result = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 5000 });
  return result.stdout.split('\n').filter((line) => line.trim() !== '');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Creates a lab, hands it to body, then destroys it and proves nothing is left. */
async function withLab(opts: LabOptions, body: (lab: Lab) => Promise<void>, log: (msg: string) => void) {
  const started = Date.now();
  const lab = await createLab(opts);
  log(`${opts.mode}${opts.guard ? ' (guarded)' : ''}: created in ${Date.now() - started} ms`);
  const namespaces = Object.values(lab.ns);
  try {
    await body(lab);
  } finally {
    // Everything running in the lab's namespaces must die with it.
    const pids = namespaces.flatMap((ns) => hostLines(['ip', 'netns', 'pids', ns]).map(Number));
    assert.ok(pids.length >= 2, `expected lab services, found pids ${pids}`);
    const stopping = Date.now();
    await lab.destroy();
    log(`${opts.mode}: destroyed in ${Date.now() - stopping} ms`);
    await lab.destroy(); // idempotent
    const left = hostLines(['ip', 'netns', 'list']).map((line) => line.split(' ')[0]);
    assert.deepEqual(
      namespaces.filter((ns) => left.includes(ns)),
      [],
    );
    assert.deepEqual(pids.filter(isAlive), []);
  }
}

/** The side router's conntrack entries for the server's outbound connection. */
async function outboundEntries(lab: Lab): Promise<string> {
  const argv = ['conntrack', '-L', '-p', 'tcp', '--orig-dst', lab.addr.client, '--dport', String(CLIENT_SERVICE_PORT)];
  return (await lab.exec(lab.ns.side, argv)).stdout;
}

test('mode none: forwards and outbound traffic work', async (t) => {
  await withLab(
    { mode: 'none' },
    async (lab) => {
      const tls = await lab.tlsThroughForward();
      t.diagnostic(`none: tls ${JSON.stringify(tls)}`);
      assert.equal(tls.ok, true, tls.detail);
      const udp = await lab.udpThroughForward();
      assert.equal(udp.ok, true, udp.detail);
      const out = await lab.outboundFromServer();
      assert.equal(out.ok, true, out.detail);
      assert.equal(lab.proxyAccepts(), 0);
    },
    (msg) => t.diagnostic(msg),
  );
});

for (const mode of PROXY_MODES) {
  test(`${mode}: the forward is reset, the guard fixes it, LAN traffic is still proxied`, async (t) => {
    await withLab(
      { mode },
      async (lab) => {
        const broken = await lab.tlsThroughForward();
        t.diagnostic(`${mode}: tls ${JSON.stringify(broken)}`);
        assert.equal(broken.ok, false);
        assert.match(broken.detail, /reset/i);

        // Only TCP is redirected in this mode.
        const udp = await lab.udpThroughForward();
        assert.equal(udp.ok, true, udp.detail);

        const out = await lab.outboundFromServer();
        t.diagnostic(`${mode}: outbound ${JSON.stringify(out)}`);
        assert.equal(lab.proxyAccepts(), 1, 'the proxy listener accepted the outbound connection');
        assert.match(await outboundEntries(lab), new RegExp(`sport=${lab.forward.redirectPort}\\b`));

        await lab.setGuard(true);
        await lab.setGuard(true); // no-op when already on
        const guarded = await lab.tlsThroughForward();
        assert.equal(guarded.ok, true, guarded.detail);
        await lab.outboundFromServer();
        assert.equal(lab.proxyAccepts(), 2, 'a connection that starts with SYN is still proxied under the guard');

        await lab.setGuard(false);
        const again = await lab.tlsThroughForward();
        assert.equal(again.ok, false, 'removing the guard brings the reset back');
      },
      (msg) => t.diagnostic(msg),
    );
  });

  test(`${mode}: guard: true applies the guard at creation`, async (t) => {
    await withLab(
      { mode, guard: true },
      async (lab) => {
        const tls = await lab.tlsThroughForward();
        assert.equal(tls.ok, true, tls.detail);
      },
      (msg) => t.diagnostic(msg),
    );
  });
}

test('two labs created in parallel both work', async (t) => {
  const started = Date.now();
  const labs = await Promise.all([
    createLab({ mode: 'none', tag: 'para' }),
    createLab({ mode: 'nft-redirect', tag: 'parb' }),
  ]);
  t.diagnostic(`two labs created in ${Date.now() - started} ms`);
  try {
    const [plain, proxied] = labs;
    assert.notEqual(plain!.id, proxied!.id);
    const [ok, reset] = await Promise.all([plain!.tlsThroughForward(), proxied!.tlsThroughForward()]);
    assert.equal(ok.ok, true, ok.detail);
    assert.equal(reset.ok, false, reset.detail);
  } finally {
    await Promise.all(labs.map((lab) => lab.destroy()));
  }
  const left = hostLines(['ip', 'netns', 'list']).join('\n');
  for (const lab of labs) assert.equal(left.includes(`rg${lab.id}-`), false);
});
