// The probe's fw3 fallback on a real kernel: where `nft` cannot be found, it
// counts with its own iptables chains and ipsets (replyguard_*), catches the
// fw3 OpenClash incident (TCP REDIRECT, UDP TPROXY) with its evidence, keeps its PREROUTING jump first,
// comes back after a flush, and leaves nothing behind when stopped.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningDaemon } from '../helpers/daemon';
import { createLab, type Lab } from '../lab/lab';
import { activeHijacks, sleep, startFw3Daemon } from '../lab/probe-helpers';

const INTERVAL_S = 2;
const TLS_SERVER = '192.168.50.10:443';

async function mangle(lab: Lab): Promise<string> {
  const r = await lab.exec(lab.ns.side, ['iptables-save', '-t', 'mangle']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

async function ipsets(lab: Lab): Promise<string[]> {
  const r = await lab.exec(lab.ns.side, ['ipset', 'list', '-n']);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

async function waitUntil(what: string, pred: () => Promise<boolean>, limitMs: number): Promise<number> {
  const started = Date.now();
  while (!(await pred())) {
    if (Date.now() - started > limitMs) assert.fail(`${what} not within ${limitMs} ms`);
    await sleep(50);
  }
  return Date.now() - started;
}

describe('probe on a fw3-only router (iptables + ipset, no nft)', () => {
  let lab: Lab;
  let daemon: RunningDaemon;
  before(async () => {
    lab = await createLab({ mode: 'openclash-fw3', tag: 'pfw3' });
    daemon = await startFw3Daemon(lab, { intervalS: INTERVAL_S });
  });
  after(async () => {
    await daemon?.stop();
    await lab?.destroy();
  });

  it('installs its chains first in mangle PREROUTING, and its ipsets', async () => {
    const s = daemon.status()!;
    assert.equal(s.sensors.probe.backend, 'iptables');
    const save = await mangle(lab);
    const pre = save.split('\n').filter((l) => l.startsWith('-A PREROUTING'));
    assert.match(pre[0] ?? '', /-j replyguard_pre$/);
    assert.match(save, /-A POSTROUTING .*-j replyguard_post/);
    assert.deepEqual((await ipsets(lab)).filter((n) => n.startsWith('replyguard')).sort(), [
      'replyguard_in4',
      'replyguard_lan4',
      'replyguard_np4',
      'replyguard_out4',
      'replyguard_udp4',
    ]);
  });

  it('reports the TCP REDIRECT hijack with the probe evidence (per peer address)', async (t) => {
    const res = await lab.tlsThroughForward({ timeoutMs: 3000 });
    assert.equal(res.ok, false);
    const s = await daemon.waitFor(
      'the probe evidence',
      (st) =>
        activeHijacks(st, TLS_SERVER).some((f) =>
          f.evidence.some((e) =>
            /^probe: TCP 192\.168\.50\.10:443 → 203\.0\.113\.50: \d+ reply packets? in, \d+ out/.test(e),
          ),
        ),
      2 * INTERVAL_S * 1000 + 2000,
    );
    t.diagnostic(activeHijacks(s, TLS_SERVER)[0]!.evidence.join(' | '));
  });

  it('reports the UDP forward whose replies the fw3 TPROXY takes', async () => {
    const udp = await lab.udpThroughForward({ timeoutMs: 1500 });
    assert.equal(udp.ok, false, udp.detail);
    const failedAt = Date.now();
    const s = await daemon.waitFor(
      'a UDP reply_hijacked finding',
      (st) => activeHijacks(st, '192.168.50.10:51820').length > 0,
      INTERVAL_S * 1000 + 2000,
    );
    assert.ok(Date.now() - failedAt <= INTERVAL_S * 1000 + 1000, `after ${Date.now() - failedAt} ms`);
    const [f] = activeHijacks(s, '192.168.50.10:51820');
    assert.equal(f?.forward, 'wg');
    assert.ok(
      f?.evidence.some((e) =>
        /^probe: UDP 192\.168\.50\.10:51820 → 203\.0\.113\.50: \d+ reply packets? in, 0 out/.test(e),
      ),
    );
  });

  it('with the guard both forwards work and the findings resolve', async () => {
    await lab.setGuard(true);
    assert.equal((await lab.tlsThroughForward({ timeoutMs: 3000 })).ok, true);
    assert.equal((await lab.udpThroughForward({ timeoutMs: 3000 })).ok, true);
    await daemon.waitFor(
      'the hijacks to resolve',
      (st) => activeHijacks(st).length === 0,
      2 * INTERVAL_S * 1000 + 2000,
    );
    await lab.setGuard(false);
  });

  it('puts its jump back first when a proxy inserts above it, and its chains back after a flush', async (t) => {
    const ins = await lab.exec(lab.ns.side, [
      'iptables',
      '-w',
      '-t',
      'mangle',
      '-I',
      'PREROUTING',
      '1',
      '-p',
      'udp',
      '-j',
      'RETURN',
    ]);
    assert.equal(ins.code, 0, ins.stderr);
    const moved = await waitUntil(
      'the jump to be first again',
      async () =>
        /^-A PREROUTING .*-j replyguard_pre$/m.test(
          (await mangle(lab)).split('\n').find((l) => l.startsWith('-A PREROUTING')) ?? '',
        ),
      2 * INTERVAL_S * 1000 + 1000,
    );
    t.diagnostic(`jump first again after ${moved} ms`);
    const flush = await lab.exec(lab.ns.side, ['iptables', '-w', '-t', 'mangle', '-F']);
    assert.equal(flush.code, 0, flush.stderr);
    const back = await waitUntil(
      'the rules to be back',
      async () => /-A replyguard_cin /.test(await mangle(lab)),
      2 * INTERVAL_S * 1000 + 1000,
    );
    t.diagnostic(`rules back ${back} ms after the flush`);
    const save = await mangle(lab);
    assert.equal(save.split('\n').filter((l) => / -j replyguard_pre$/.test(l)).length, 1, 'never doubled');
    assert.ok(daemon.status()!.sensors.probe.reinstalls >= 2);
  });

  it('leaves no chain, rule or set of replyguard after the daemon stops', async () => {
    assert.equal(await daemon.stop(), 0);
    assert.doesNotMatch(await mangle(lab), /replyguard/);
    assert.deepEqual(
      (await ipsets(lab)).filter((n) => n.startsWith('replyguard')),
      [],
    );
    const tables = await lab.exec(lab.ns.side, ['nft', 'list', 'tables']);
    assert.doesNotMatch(tables.stdout, /replyguard/);
  });
});
