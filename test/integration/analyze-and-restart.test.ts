// `replyguard analyze` on a capture taken during the incident gives the same
// findings as the live daemon; a killed conntrack child is restarted.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AnalysisReport } from '../../src/analyze/analyze-capture';
import { BUNDLE, hijacksOf, type RunningDaemon, startDaemon } from '../helpers/daemon';
import { createLab, type Lab } from '../lab/lab';

describe('analyze a capture, restart the sensor', () => {
  let lab: Lab;
  let daemon: RunningDaemon;
  before(async () => {
    lab = await createLab({ mode: 'iptables-redirect', tag: 'ana' });
    daemon = await startDaemon(lab);
  });
  after(async () => {
    await daemon?.stop();
    await lab?.destroy();
  });

  it('analyze on a saved capture gives the same findings as the live daemon', async () => {
    for (const format of ['extended,id,timestamp', 'xml']) {
      const capture = lab.spawn(lab.ns.side, ['conntrack', '-E', '-o', format]);
      let text = '';
      capture.stdout?.on('data', (b: Buffer) => {
        text += b.toString();
      });
      capture.stderr?.resume();
      await new Promise((r) => setTimeout(r, 300));
      const before = hijacksOf(daemon.status()!)[0]?.count ?? 0;
      for (let i = 0; i < 2; i++) assert.equal((await lab.tlsThroughForward()).ok, false);
      await daemon.waitFor('two more hijacks', (s) => (hijacksOf(s)[0]?.count ?? 0) >= before + 2);
      await lab.outboundFromServer();
      await new Promise((r) => setTimeout(r, 300));
      capture.kill('SIGTERM');
      await new Promise((r) => capture.once('exit', r));
      const file = join(daemon.dir, `capture-${format}.txt`);
      writeFileSync(file, text);

      let out: string;
      try {
        out = execFileSync(process.execPath, [BUNDLE, 'analyze', file, '--json', '--config', daemon.configPath], {
          encoding: 'utf8',
        });
        assert.fail('analyze should exit 2 when it finds a hijack');
      } catch (err) {
        const e = err as { status: number; stdout: string };
        assert.equal(e.status, 2);
        out = e.stdout;
      }
      const report = JSON.parse(out) as AnalysisReport;
      assert.equal(report.parse_errors, 0);
      const offline = hijacksOf({ findings: report.findings } as never);
      assert.equal(offline.length, 1, format);
      const live = hijacksOf(daemon.status()!)[0]!;
      const pick = (f: typeof live) => ({
        id: f.id,
        kind: f.kind,
        server: f.server,
        peers: f.peers,
        forward: f.forward,
        diverted_to: f.diverted_to,
        fix: f.fix,
      });
      assert.deepEqual(pick(offline[0]!), pick(live));
      assert.equal(offline[0]!.count, 2, 'the capture holds the two failed connections');
    }
  });

  it('a killed conntrack child is restarted and the table resynced', async () => {
    const s0 = daemon.status()!;
    const pid = s0.sensors.conntrack.pid;
    assert.ok(pid);
    const res = await lab.exec(lab.ns.side, ['kill', '-9', String(pid)]);
    assert.equal(res.code, 0, res.stderr);
    const s1 = await daemon.waitFor(
      'a restarted sensor',
      (s) =>
        s.sensors.conntrack.state === 'running' &&
        s.sensors.conntrack.restarts === s0.sensors.conntrack.restarts + 1 &&
        s.sensors.conntrack.resyncs > s0.sensors.conntrack.resyncs,
    );
    assert.notEqual(s1.sensors.conntrack.pid, pid);
    assert.match(s1.sensors.conntrack.last_error ?? '', /SIGKILL/);
    // And it still sees the incident.
    const before = hijacksOf(s1)[0]!.count;
    assert.equal((await lab.tlsThroughForward()).ok, false);
    await daemon.waitFor('a hijack after the restart', (s) => hijacksOf(s)[0]!.count > before);
  });
});
