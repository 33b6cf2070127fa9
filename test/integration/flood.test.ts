// Event flood: tens of thousands of short UDP flows a second from the
// LAN server reach the side router (its gateway), so the side router's
// conntrack makes a NEW and, about a second later, a DESTROY event for each. The daemon must keep up or say honestly that it lost events
// (ENOBUFS counted, table re-read), keep its memory bounded, and still find a
// hijack that happens in the middle of the flood.
// Also checks that the losses do not flood the log (the first is logged, then
// one line a minute) and that conntrack's ENOBUFS explanation is no last_error.
//
// The rate is measured in the side router's kernel: every datagram the
// generator sends has a 5-tuple of its own, so it makes one conntrack entry
// (one NEW event); entries destroyed = entries made − growth of
// nf_conntrack_count (one DESTROY event each). The daemon's own `events`
// counter is what actually reached it.
//
// Measured on the 2-core development machine (shared, load 2-8): 23k-56k events/s in the side router's
// kernel (56k when the machine is otherwise quiet), of which 4.5k-40k/s reached the daemon; it lost events
// (ENOBUFS) 190-620 times per flood, counted and resynced each time. The asserted bounds are what held
// under load. RG_FLOOD_RATE (flows/s, default 30000) and RG_FLOOD_TARGET=client (through the main
// router to the outside client instead of to the side router itself, which costs twice the CPU) vary it.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hijacksOf, labConfig, type RunningDaemon, startDaemon } from '../helpers/daemon';
import { GENERATOR_PL } from '../helpers/udp-flows';
import { createLab, type Lab } from '../lab/lab';

/** Flows per second the generator aims at; each makes 2 events (NEW, then DESTROY after the 1 s UDP timeout). */
const FLOWS_PER_S = Number(process.env.RG_FLOOD_RATE ?? 30_000);
const FLOOD_MS = 8000;
/** The hijack happens this long after the flood started. */
const HIJACK_AT_MS = 3000;
/** What this 2-core machine reached reliably in the side router's kernel (see the report printed by the test). */
const MIN_KERNEL_EVENTS_PER_S = 20_000;
/** What reached the daemon, at least (it may lose events, then it must say so). */
const MIN_DAEMON_EVENTS_PER_S = 3000;
/**
 * RSS may grow this much over the quiet daemon's: the bench's 1M-event replay peaks at idle + 25 MB,
 * and a flood cannot queue in the daemon (its pipe from conntrack blocks; the kernel drops events
 * instead, which is the ENOBUFS case). Twice the bench figure leaves room for GC timing under load.
 */
const RSS_GROWTH_LIMIT_MB = 50;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds of a process and its reaped children (utime, stime, cutime, cstime; 100 ticks/s). */
function cpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
}

function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

describe('event flood (up to ~50k conntrack events/s) with a hijack in the middle', () => {
  let lab: Lab;
  let daemon: RunningDaemon;
  const server = '192.168.50.10:443';

  before(async () => {
    lab = await createLab({ mode: 'iptables-redirect', tag: 'flood' });
    // Short UDP flows: entries die 1 s after their datagram, so every flow is a NEW and a DESTROY.
    const r = await lab.exec(lab.ns.side, ['sysctl', '-q', '-w', 'net.netfilter.nf_conntrack_udp_timeout=1']);
    assert.equal(r.code, 0, r.stderr);
    daemon = await startDaemon(lab, labConfig(lab, { main: { status_interval: 1, problem_hold: 600 } }));
  });
  after(async () => {
    await daemon?.stop();
    await lab?.destroy();
  });

  it('keeps up or reports the loss, stays bounded, and still finds the hijack', { timeout: 80_000 }, async () => {
    const pid = daemon.child.pid!;
    assert.match(readFileSync(`/proc/${pid}/comm`, 'utf8'), /node/, 'the pid is the daemon itself');
    await daemon.waitFor('the first ruleset read', (s) => s.ruleset !== null, 10_000);
    await sleep(1000);
    const rssBefore = rssKb(pid);
    const cpu0 = cpuS(pid);
    const live0 = cpuS(daemon.status()!.sensors.conntrack.pid!);
    const s0 = daemon.status()!;
    assert.deepEqual(hijacksOf(s0), [], 'no hijack before the flood');
    const ctCount = async () =>
      Number((await lab.exec(lab.ns.side, ['cat', '/proc/sys/net/netfilter/nf_conntrack_count'])).stdout.trim());
    const count0 = await ctCount();

    const genPath = join(daemon.dir, 'flood.pl');
    writeFileSync(genPath, GENERATOR_PL);
    // From the server to the side router (or through it to the client); destination ports 20000-60000.
    const target = process.env.RG_FLOOD_TARGET === 'client' ? lab.addr.client : lab.addr.side;
    const argv = ['perl', genPath, target, String(FLOWS_PER_S), String(FLOOD_MS / 1000), '256', '20000', '60000'];
    const gen = lab.spawn(lab.ns.server, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let genOut = '';
    gen.stdout!.setEncoding('utf8').on('data', (c: string) => {
      genOut += c;
    });
    gen.stderr!.setEncoding('utf8').on('data', (c: string) => {
      genOut += c;
    });
    const genDone = new Promise<void>((r) => gen.once('exit', () => r()));
    const deadline = Date.now() + 10_000;
    while (!genOut.includes('started') && Date.now() < deadline) await sleep(10);
    assert.match(genOut, /started/, 'the generator runs');
    const floodStart = Date.now();

    // RSS every 250 ms while the flood runs and until the daemon has caught up.
    const rss: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          rss.push(rssKb(pid));
        } catch {
          // gone: asserted below
        }
        await sleep(250);
      }
    })();

    await sleep(HIJACK_AT_MS);
    const eventsAtHijack = daemon.status()!.sensors.conntrack.events;
    const hijackAt = Date.now();
    const tls = await lab.tlsThroughForward();
    assert.equal(tls.ok, false, 'the incident reproduces during the flood');
    await genDone;
    const count1 = await ctCount();
    const floodMs = Date.now() - floodStart;
    const gen1 = JSON.parse(genOut.split('\n').find((l) => l.startsWith('{')) ?? '{}') as {
      sent: number;
      errors: number;
    };
    assert.ok(gen1.sent > 0, `generator output: ${genOut}`);
    const s1 = daemon.status()!;

    // The hijack is found: from its conntrack event, or (if that event was lost) by the probe.
    const found = await daemon.waitFor(
      'the hijack found during the flood',
      (s) => hijacksOf(s, server).length > 0,
      20_000,
    );
    const foundAfterMs = Date.parse(hijacksOf(found, server)[0]!.first_seen) - hijackAt;

    // The daemon catches up: its event counter stops moving once the kernel's last DESTROYs are out.
    let last = -1;
    let settled = daemon.status()!;
    for (let i = 0; i < 40; i++) {
      await sleep(500);
      settled = daemon.status()!;
      const n = settled.sensors.conntrack.events + (settled.sensors.conntrack.destroy?.events ?? 0);
      if (n === last) break;
      last = n;
    }
    sampling = false;
    await sampler;
    const cpuDaemon = cpuS(pid) - cpu0;
    const cpuConntrack = cpuS(settled.sensors.conntrack.pid!) - live0;
    const ct = settled.sensors.conntrack;
    const made = gen1.sent - gen1.errors;
    const destroyed = Math.max(0, made - (count1 - count0));
    const kernelRate = Math.round(((made + destroyed) * 1000) / floodMs);
    // NEW and DESTROY arrive through two conntrack children (sensors.conntrack and .destroy).
    const allEvents = (s: typeof s0) => s.sensors.conntrack.events + (s.sensors.conntrack.destroy?.events ?? 0);
    const daemonEvents = allEvents(s1) - allEvents(s0);
    const daemonRate = Math.round((daemonEvents * 1000) / floodMs);
    const rssPeak = Math.max(...rss);
    const lost = ct.lost - s0.sensors.conntrack.lost;
    const destroyLost = (ct.destroy?.lost ?? 0) - (s0.sensors.conntrack.destroy?.lost ?? 0);
    console.log(
      `flood: ${gen1.sent} flows in ${floodMs} ms (${Math.round((gen1.sent * 1000) / floodMs)} flows/s, ${gen1.errors} send errors); ` +
        `side router's kernel: ${made} NEW + ${destroyed} DESTROY in ${floodMs} ms = ${kernelRate} events/s`,
    );
    console.log(
      `daemon: ${daemonEvents} events read during the flood (${daemonRate}/s), ${allEvents(settled) - allEvents(s0)} by the end; ` +
        `lost NEW ${lost}×, DESTROY ${destroyLost}× (ENOBUFS), resyncs ${s0.sensors.conntrack.resyncs} → ${ct.resyncs}, ` +
        `restarts ${ct.restarts}; CPU: daemon ${cpuDaemon.toFixed(2)} s (with reaped children), its conntrack -E ${cpuConntrack.toFixed(2)} s; hijack found ${foundAfterMs} ms after the failed connection (events at hijack: ${eventsAtHijack})`,
    );
    console.log(
      `daemon RSS: before ${(rssBefore / 1024).toFixed(1)} MB, peak ${(rssPeak / 1024).toFixed(1)} MB, ` +
        `after ${(rss[rss.length - 1]! / 1024).toFixed(1)} MB; series (MB, every 250 ms): ${rss.map((k) => (k / 1024).toFixed(0)).join(' ')}`,
    );

    assert.ok(kernelRate >= MIN_KERNEL_EVENTS_PER_S, `the flood reached ${kernelRate} events/s in the side router`);
    assert.ok(daemonRate >= MIN_DAEMON_EVENTS_PER_S, `only ${daemonRate} events/s reached the daemon`);
    assert.equal(found.health, 'problem');
    // Who saw it: conntrack's NEW event names the redirect; the kernel destroys a REDIRECTed entry within a
    // millisecond (the proxy port resets it), so when that one event is lost no resync can find it again and
    // only the passive probe (3 reply packets in, 2 out) tells.
    const f = hijacksOf(settled, server)[0]!;
    assert.equal(f.state, 'active');
    const byConntrack = f.evidence.some((e) => e.includes(`sport=${lab.forward.redirectPort}`));
    const byProbe = f.evidence.some((e) => e.startsWith('probe: TCP 192.168.50.10:443 → 203.0.113.50:'));
    console.log(
      `the hijack was seen by: ${[byConntrack && 'conntrack', byProbe && 'probe'].filter(Boolean).join(' and ')}`,
    );
    assert.ok(byConntrack || byProbe, JSON.stringify(f.evidence));
    if (byConntrack) assert.equal(f.diverted_to, `${lab.addr.side}:${lab.forward.redirectPort}`);
    else assert.ok(lost > 0, 'conntrack missed the hijack although no event was lost');
    // Honest about loss: either nothing was lost, or every loss is counted, dated, and the table was re-read after it.
    if (lost > 0) {
      assert.ok(ct.last_loss && Date.parse(ct.last_loss) >= floodStart - 1000, `last_loss ${ct.last_loss}`);
      assert.ok(ct.resyncs > s0.sensors.conntrack.resyncs, 'a loss must be followed by a resync');
      assert.match(daemon.log(), /dropped conntrack NEW events \(ENOBUFS\); resyncing/);
    } else {
      assert.equal(ct.last_loss, s0.sensors.conntrack.last_loss);
      // Nothing lost: every flow's NEW reached the daemon (DESTROYs of entries still in the table may follow).
      assert.ok(ct.events - s0.sensors.conntrack.events >= made, `${ct.events} events for ${made} flows`);
    }
    assert.equal(ct.state, 'running');
    assert.equal(ct.restarts, 0, 'conntrack -E survives the flood');
    assert.equal(ct.parse_errors, 0);
    assert.ok(
      rssPeak - rssBefore <= RSS_GROWTH_LIMIT_MB * 1024,
      `RSS grew ${((rssPeak - rssBefore) / 1024).toFixed(1)} MB (limit ${RSS_GROWTH_LIMIT_MB})`,
    );
    // The log is not flooded: the first loss is logged, later ones at most once a minute (status counts each).
    const log = daemon.log();
    const logLines = log.split('\n').length;
    const lossLines = log.split('\n').filter((l) => /ENOBUFS|netlink socket buffer|--buffer-size/.test(l)).length;
    console.log(`daemon log: ${logLines} lines, ${lossLines} about the ${lost + destroyLost} losses`);
    assert.ok(lossLines <= (lost > 0 ? 2 : 0) + (destroyLost > 0 ? 2 : 0), `${lossLines} log lines about lost events`);
    assert.ok(logLines < 300, `${logLines} log lines`);
    assert.doesNotMatch(
      ct.last_error ?? '',
      /buffer size|--buffer-size/,
      "conntrack's ENOBUFS explanation is no error",
    );
    assert.equal(daemon.child.exitCode, null, 'the daemon still runs');
    assert.equal(daemon.child.signalCode, null);
    // Still detecting after the flood: a fresh failure counts again.
    const before = hijacksOf(daemon.status()!, server)[0]!.count;
    await lab.tlsThroughForward();
    await daemon.waitFor('the next hijack', (s) => (hijacksOf(s, server)[0]?.count ?? 0) > before, 5000);
  });
});
