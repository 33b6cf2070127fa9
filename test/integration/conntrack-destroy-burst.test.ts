// A burst of DESTROY events must not cost a NEW event. The kernel sends DESTROY
// events in bursts (its garbage collector reaps expired entries in batches; a
// proxy restart or firewall reload flushes the table), and conntrack-tools
// 1.4.7+ give the event socket only the kernel's default buffer (`-b` lands
// on another socket), so such a burst overflows it. With NEW and DESTROY on one
// socket the NEW events of that moment were lost too: a resync, and with the
// probe off a hijack in that moment was missed and health said degraded. Here
// the table fills with ~10k entries at a rate conntrack keeps up with, then a
// `conntrack -F` in the side router destroys them all at once while an outside
// client fails through the forward.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hijacksOf, labConfig, type RunningDaemon, startDaemon } from '../helpers/daemon';
import { GENERATOR_PL } from '../helpers/udp-flows';
import { createLab, type Lab } from '../lab/lab';

/**
 * Slow enough that the NEW child keeps up even on the shared CI machine: its socket holds a few hundred
 * events (conntrack-tools ignores -b there), so 4,000/s lost NEW events during a busy CI run. The fill is
 * not what is tested; the flush is.
 */
const FLOWS_PER_S = 2000;
const FLOW_SECONDS = 5;
/** Entries the flush must at least destroy: far more than the DESTROY socket holds. */
const MIN_ENTRIES = 8000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a DESTROY burst (conntrack -F of ~10k entries) during a hijack', () => {
  let lab: Lab;
  let daemon: RunningDaemon;
  const server = '192.168.50.10:443';

  before(async () => {
    lab = await createLab({ mode: 'iptables-redirect', tag: 'burst' });
    // Entries stay until the flush: the burst is the flush's, not the garbage collector's.
    const r = await lab.exec(lab.ns.side, ['sysctl', '-q', '-w', 'net.netfilter.nf_conntrack_udp_timeout=120']);
    assert.equal(r.code, 0, r.stderr);
    daemon = await startDaemon(lab, labConfig(lab, { main: { status_interval: 1, problem_hold: 600, probe: 'off' } }));
  });
  after(async () => {
    await daemon?.stop();
    await lab?.destroy();
  });

  it('loses DESTROY events only: no NEW loss, no resync, the hijack seen by conntrack, health problem (not degraded)', {
    timeout: 60_000,
  }, async () => {
    const s0 = await daemon.waitFor(
      'the first ruleset read and the start-up snapshot',
      (s) => s.ruleset !== null && s.sensors.conntrack.resyncs >= 1,
      10_000,
    );
    assert.equal(s0.sensors.conntrack.destroy?.state, 'running', 'the DESTROY stream runs');
    assert.equal(s0.sensors.probe.state, 'off');

    const genPath = join(daemon.dir, 'flows.pl');
    writeFileSync(genPath, GENERATOR_PL);
    const argv = ['perl', genPath, lab.addr.side, String(FLOWS_PER_S), String(FLOW_SECONDS), '64', '20000', '60000'];
    const gen = await lab.exec(lab.ns.server, argv, { timeoutMs: 20_000 });
    assert.equal(gen.code, 0, gen.stderr);
    const sent = (JSON.parse(gen.stdout.split('\n').find((l) => l.startsWith('{')) ?? '{}') as { sent?: number }).sent;
    assert.ok(sent && sent >= FLOWS_PER_S * (FLOW_SECONDS - 1), `generator: ${gen.stdout}`);
    // Settled: the event counter and any resync after a loss in the fill have come to rest.
    let filled = daemon.status()!;
    for (let i = 0; i < 40; i++) {
      await sleep(500);
      const now = daemon.status()!;
      const same =
        now.sensors.conntrack.events === filled.sensors.conntrack.events &&
        now.sensors.conntrack.resyncs === filled.sensors.conntrack.resyncs;
      filled = now;
      if (same) break;
    }
    if (filled.sensors.conntrack.lost > s0.sensors.conntrack.lost)
      console.log(
        `# the fill itself lost NEW events ${filled.sensors.conntrack.lost - s0.sensors.conntrack.lost}× (machine busy)`,
      );
    const logBefore = daemon.log().length;
    const count = Number((await lab.exec(lab.ns.side, ['cat', '/proc/sys/net/netfilter/nf_conntrack_count'])).stdout);
    assert.ok(count >= MIN_ENTRIES, `${count} entries in the side router's table (${sent} flows sent)`);

    // The flush and the failing outside connection at the same moment.
    const [flush, tls] = await Promise.all([
      lab.exec(lab.ns.side, ['conntrack', '-F']),
      sleep(5).then(() => lab.tlsThroughForward()),
    ]);
    assert.equal(flush.code, 0, flush.stderr);
    assert.equal(tls.ok, false, 'the incident reproduces');
    const found = await daemon.waitFor('the hijack', (s) => hijacksOf(s, server).length > 0, 10_000);
    await sleep(1500);
    const s1 = daemon.status()!;
    const ct = s1.sensors.conntrack;
    const f0 = filled.sensors.conntrack;
    const destroyed = (ct.destroy?.events ?? 0) - (f0.destroy?.events ?? 0);
    const destroyLost = (ct.destroy?.lost ?? 0) - (f0.destroy?.lost ?? 0);
    console.log(
      `burst: ${count} entries flushed; the DESTROY stream read ${destroyed} and lost events ${destroyLost}× (ENOBUFS); ` +
        `NEW stream lost ${ct.lost - f0.lost}×, resyncs ${f0.resyncs} → ${ct.resyncs}`,
    );
    // The burst overflowed the DESTROY socket (it is bigger than the default buffer by far)...
    assert.ok(destroyLost > 0 || destroyed >= count, `DESTROY: ${destroyed} read, ${destroyLost} losses`);
    // ...and the NEW stream did not notice.
    assert.equal(ct.lost, f0.lost, 'no NEW event lost');
    assert.equal(ct.resyncs, f0.resyncs, 'no resync');
    assert.equal(ct.restarts, 0);
    const f = hijacksOf(found, server)[0]!;
    assert.ok(
      f.evidence.some((e) => e.includes(`sport=${lab.forward.redirectPort}`)),
      `seen by conntrack: ${JSON.stringify(f.evidence)}`,
    );
    assert.equal(s1.health, 'problem', s1.headline);
    const logAfter = daemon.log().slice(logBefore);
    assert.doesNotMatch(logAfter, /dropped conntrack NEW events/);
  });
});
