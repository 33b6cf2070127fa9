// The probe's table over its life, on a real kernel: installed once on start,
// back within 2 × probe_interval after `nft flush ruleset`, a deleted table or
// a flushed chain (and detecting again), never doubled, gone after stop;
// probe = off, or auto without a LAN interface, installs nothing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningDaemon, startDaemon } from '../helpers/daemon';
import { createLab, type Lab } from '../lab/lab';
import { activeHijacks, probeConfig, sideTables, sleep, startProbeDaemon } from '../lab/probe-helpers';

const INTERVAL_S = 2;
const BACK_MS = 2 * INTERVAL_S * 1000;
const TLS_SERVER = '192.168.50.10:443';

async function waitForTable(lab: Lab, limitMs: number): Promise<number> {
  const started = Date.now();
  // Look a little past the limit so that a late table is reported with its time, not as a timeout.
  while (Date.now() - started < limitMs + 3000) {
    const tables = await sideTables(lab);
    if (tables.includes('inet replyguard')) return Date.now() - started;
    await sleep(50);
  }
  return Number.POSITIVE_INFINITY;
}

async function probeRuleCount(lab: Lab): Promise<number> {
  const r = await lab.exec(lab.ns.side, ['nft', 'list', 'table', 'inet', 'replyguard']);
  return r.stdout.split('\n').filter((l) => l.includes('update @')).length;
}

describe('probe lifecycle (nft-tproxy lab)', () => {
  let lab: Lab;
  let daemon: RunningDaemon;
  before(async () => {
    lab = await createLab({ mode: 'nft-tproxy', tag: 'plife' });
    daemon = await startProbeDaemon(lab, { intervalS: INTERVAL_S });
  });
  after(async () => {
    await daemon?.stop();
    await lab?.destroy();
  });

  it('installs exactly one table of its own next to the proxy', async () => {
    const tables = await sideTables(lab);
    assert.deepEqual(
      tables.filter((t) => t === 'inet replyguard'),
      ['inet replyguard'],
    );
    assert.ok(tables.includes('inet fw4'), 'the proxy table is untouched');
    assert.equal(await probeRuleCount(lab), 4, 'pre and post: TCP and UDP rules');
    const s = daemon.status()!;
    assert.equal(s.sensors.probe.state, 'running');
    assert.equal(s.sensors.probe.interval_s, INTERVAL_S);
  });

  it('after `nft flush ruleset` it is back within 2 × probe_interval and detects again', async (t) => {
    const before = daemon.status()!.sensors.probe.reinstalls;
    const flush = await lab.exec(lab.ns.side, ['nft', 'flush', 'ruleset']);
    assert.equal(flush.code, 0, flush.stderr);
    const back = await waitForTable(lab, BACK_MS);
    t.diagnostic(`table back ${back} ms after the flush`);
    assert.ok(back <= BACK_MS, `back after ${back} ms (limit ${BACK_MS})`);
    assert.equal((await sideTables(lab)).filter((x) => x === 'inet replyguard').length, 1, 'never doubled');
    const s = await daemon.waitFor('the reinstall to be counted', (st) => st.sensors.probe.reinstalls > before, 3000);
    assert.equal(s.sensors.probe.state, 'running');

    // The proxy restarts too; a new connection is caught again.
    await lab.reloadProxyRules();
    const flushedAt = Date.now();
    const res = await lab.tlsThroughForward({ timeoutMs: 3000 });
    assert.equal(res.ok, false);
    await daemon.waitFor(
      'a fresh reply_hijacked finding',
      (st) => activeHijacks(st, TLS_SERVER).some((f) => Date.parse(f.last_seen) >= flushedAt),
      INTERVAL_S * 1000 + 1000,
    );
  });

  it('a deleted table is back within 2 × probe_interval', async (t) => {
    const del = await lab.exec(lab.ns.side, ['nft', 'delete', 'table', 'inet', 'replyguard']);
    assert.equal(del.code, 0, del.stderr);
    const back = await waitForTable(lab, BACK_MS);
    t.diagnostic(`table back ${back} ms after the delete`);
    assert.ok(back <= BACK_MS, `back after ${back} ms (limit ${BACK_MS})`);
  });

  it('a flushed chain is noticed and the rules are put back', async (t) => {
    const flush = await lab.exec(lab.ns.side, ['nft', 'flush', 'chain', 'inet', 'replyguard', 'pre']);
    assert.equal(flush.code, 0, flush.stderr);
    const started = Date.now();
    while ((await probeRuleCount(lab)) !== 4 && Date.now() - started < BACK_MS + 3000) await sleep(50);
    const back = Date.now() - started;
    t.diagnostic(`rules back ${back} ms after the chain flush`);
    assert.ok(back <= BACK_MS, `back after ${back} ms (limit ${BACK_MS})`);
  });

  it('after the daemon stops no table or chain of replyguard is left', async () => {
    assert.equal(await daemon.stop(), 0);
    const tables = await sideTables(lab);
    assert.deepEqual(
      tables.filter((x) => x.includes('replyguard')),
      [],
    );
    const ruleset = await lab.exec(lab.ns.side, ['nft', 'list', 'ruleset']);
    assert.doesNotMatch(ruleset.stdout, /replyguard/);
    assert.ok(tables.includes('inet fw4'), 'the proxy table is still there');
  });
});

describe('probe = off', () => {
  let lab: Lab;
  let daemon: RunningDaemon;
  before(async () => {
    lab = await createLab({ mode: 'none', tag: 'poff' });
    daemon = await startProbeDaemon(lab, { probe: 'off' });
  });
  after(async () => {
    await daemon?.stop();
    await lab?.destroy();
  });

  it('probe = auto with no LAN interface on the machine installs nothing either', async () => {
    const config = probeConfig(lab, { probe: 'auto' }).replace(
      'lan_interfaces = br-lan',
      'lan_interfaces = nosuch0\nlan_subnets = 192.168.50.0/24',
    );
    const other = await startDaemon(lab, config);
    try {
      const s = await other.waitFor('the probe to say why it is off', (st) =>
        /no LAN interface/.test(st.sensors.probe.last_error ?? ''),
      );
      assert.equal(s.sensors.probe.state, 'off');
      assert.equal(s.health, 'ok');
      assert.deepEqual(
        (await sideTables(lab)).filter((x) => x.includes('replyguard')),
        [],
      );
    } finally {
      await other.stop();
    }
  });

  it('installs nothing and says so', async () => {
    await sleep(500);
    assert.deepEqual(
      (await sideTables(lab)).filter((x) => x.includes('replyguard')),
      [],
    );
    const s = daemon.status()!;
    assert.equal(s.sensors.probe.state, 'off');
    assert.equal(s.health, 'ok');
  });
});
