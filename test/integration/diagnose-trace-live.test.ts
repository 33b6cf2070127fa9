// `replyguard diagnose` and `replyguard trace` on a live kernel: the built
// bundle runs inside the lab's side-router namespace (nat REDIRECT with
// iptables-nft rules, and with nft rules). diagnose must predict the broken
// forward before any outside connection; trace must show the real path of the
// replies, agree with explain, and never leave its table behind.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureBundle } from '../helpers/bundle';
import { BUNDLE } from '../helpers/daemon';
import { type DiagnoseDoc, rgIn, sideTables, type TraceDoc, writeDiagnoseConfig } from '../helpers/ruleset-cli';
import { createLab, type Lab, type ProxyMode } from '../lab/lab';

for (const mode of ['iptables-redirect', 'nft-redirect'] as ProxyMode[]) {
  const backend = mode === 'nft-redirect' ? 'nft' : 'iptables';
  describe(`diagnose and trace on the live kernel, ${mode}`, () => {
    let lab: Lab;
    let dir: string;
    let configPath: string;

    before(async () => {
      ensureBundle();
      lab = await createLab({ mode, tag: mode.startsWith('nft') ? 'dtn' : 'dti' });
      dir = mkdtempSync(join(tmpdir(), `rg-diag-${lab.id}-`));
      configPath = writeDiagnoseConfig(lab, dir);
    });
    after(async () => {
      await lab?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const rg = (args: string[], timeoutMs?: number) => rgIn(lab)(args, timeoutMs);
    type TraceResult = { code: number | null; stdout: string; stderr: string };
    /**
     * A `replyguard trace` of `seconds` (with `--json` when asked) in the side router, resolved once it says
     * it is tracing, i.e. nft listens (a fixed sleep lost the race on a loaded machine): the child, its
     * stderr so far, and a promise of its whole output (wrapped, or an async function would wait for it).
     */
    const startTracing = async (seconds = 30, json = false) => {
      const child = lab.spawn(lab.ns.side, [
        process.execPath,
        BUNDLE,
        'trace',
        '--server',
        `${lab.addr.server}:${lab.forward.serverPort}`,
        '--seconds',
        String(seconds),
        ...(json ? ['--json'] : []),
      ]);
      let out = '';
      let err = '';
      child.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
      });
      child.stderr?.on('data', (b: Buffer) => {
        err += b.toString();
      });
      const done = new Promise<TraceResult>((resolve) =>
        child.once('close', (code) => resolve({ code, stdout: out, stderr: err })),
      );
      const deadline = Date.now() + 15_000;
      while (!/Tracing replies/.test(err) && child.exitCode === null && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      return { child, stderr: () => err, done };
    };
    const traceTables = () => sideTables(lab);

    it('diagnose reports the forward at risk (exit 1) before any outside connection, naming chain openclash and the redirect to 7892', async () => {
      assert.equal(lab.proxyAccepts(), 0, 'no connection has reached the proxy yet');
      const res = await rg(['diagnose', '--config', configPath, '--json']);
      assert.equal(res.code, 1, res.stderr);
      const doc = JSON.parse(res.stdout) as DiagnoseDoc;
      assert.equal(doc.health, 'at_risk');
      assert.equal(doc.proxy?.name, 'openclash');
      assert.equal(doc.findings.length, 1, JSON.stringify(doc.findings.map((f) => f.summary)));
      const f = doc.findings[0]!;
      assert.equal(f.kind, 'reply_at_risk');
      assert.equal(f.severity, 'warning');
      assert.equal(f.forward, 'nas');
      assert.equal(f.server, `${lab.addr.server}:${lab.forward.serverPort}`);
      assert.equal(f.packet, 'ack');
      assert.equal(f.certain, true);
      assert.equal(f.rule?.chain, 'openclash');
      assert.equal(f.rule?.backend, backend);
      assert.match(f.rule?.text ?? '', /redirect to :7892|REDIRECT --to-ports 7892/);
      if (backend === 'nft') assert.equal(typeof f.rule?.handle, 'number');
      assert.match(f.summary, /7892/);
      assert.match(f.fix[0] ?? '', /lan_ac_traffic.*src_ip='192\.168\.50\.10'.*src_port='443'/);
      assert.deepEqual(
        doc.forwards.map((x) => [x.name, x.status]),
        [
          ['nas', 'at_risk'],
          ['wg', 'ok'],
        ],
      );
      assert.equal(lab.proxyAccepts(), 0, 'diagnose sent no traffic');
      const text = await rg(['diagnose', '--config', configPath]);
      assert.equal(text.code, 1);
      assert.match(text.stdout, /AT RISK: TCP 192\.168\.50\.10:443 \(forward 'nas'\)/);
      assert.match(text.stdout, /openclash/);
      // Reality agrees: the connection through the forward is reset.
      const tls = await lab.tlsThroughForward();
      assert.equal(tls.ok, false, tls.detail);
    });

    it('trace shows the replies redirected by chain openclash, agrees with explain, and removes its table', async () => {
      const tracing = (await startTracing(3, true)).done;
      const tls = await lab.tlsThroughForward();
      assert.equal(tls.ok, false);
      const res = await tracing;
      assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
      const doc = JSON.parse(res.stdout) as TraceDoc;
      assert.equal(doc.agree, true);
      assert.equal(doc.table_removed, true);
      assert.ok(doc.packets >= 2);
      const synack = doc.kinds.find((k) => k.kind === 'synack');
      const ack = doc.kinds.find((k) => k.kind === 'ack');
      assert.ok(synack && ack, JSON.stringify(doc.kinds.map((k) => k.kind)));
      assert.equal(synack.example.fate.diverted, undefined, 'the SYN-ACK passes (conntrack: invalid, nat skips it)');
      assert.equal(synack.comparison?.agree, true);
      assert.equal(synack.explain?.verdict, 'forwarded');
      assert.equal(ack.example.fate.diverted?.chain, 'openclash');
      assert.match(ack.example.fate.diverted?.text ?? '', /redirect to :7892/);
      assert.equal(typeof ack.example.fate.diverted?.handle, 'number');
      assert.ok(ack.example.path.some((h) => h.verdict === 'jump openclash'));
      assert.equal(ack.comparison?.agree, true, ack.comparison?.why.join('; '));
      assert.deepEqual(ack.explain?.how, { kind: 'redirect', port: 7892 });
      assert.doesNotMatch(await traceTables(), /replyguard_trace/);
    });

    it('trace: Ctrl-C removes the table; a leftover table is removed by the next trace', async () => {
      const { child, stderr } = await startTracing();
      assert.match(await traceTables(), /replyguard_trace/, 'the table exists while tracing');
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      // ip netns exec runs node as its child: signal the process group the lab gave it.
      process.kill(-child.pid!, 'SIGINT');
      assert.equal(await exited, 130, stderr());
      assert.match(stderr(), /trace table removed/);
      assert.doesNotMatch(await traceTables(), /replyguard_trace/);
      // A crash leaves it: the next trace starts by removing it.
      const add = await lab.exec(lab.ns.side, ['nft', 'add', 'table', 'inet', 'replyguard_trace'], {});
      assert.equal(add.code, 0, add.stderr);
      const res = await rg(['trace', '--server', `${lab.addr.server}:${lab.forward.serverPort}`, '--seconds', '1']);
      assert.equal(res.code, 3, 'nothing traced');
      assert.match(res.stdout, /No replies of 192\.168\.50\.10:443\/tcp/);
      assert.doesNotMatch(await traceTables(), /replyguard_trace/);
    });

    it('trace: Ctrl-C that reaches nft before replyguard (same process group) still exits 130 and removes the table', async () => {
      const { child, stderr } = await startTracing();
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      // The order that once lost the race: nft dies of the terminal's SIGINT first.
      const kids = execFileSync('pgrep', ['-P', String(child.pid), '-x', 'nft'])
        .toString()
        .trim()
        .split('\n');
      assert.equal(kids.length, 1, 'one nft monitor child');
      process.kill(Number(kids[0]), 'SIGINT');
      assert.equal(await exited, 130, stderr());
      assert.match(stderr(), /SIGINT: trace table removed/);
      assert.doesNotMatch(stderr(), /monitor trace stopped/);
      assert.doesNotMatch(await traceTables(), /replyguard_trace/);
    });

    it('after the guard: diagnose exits 0, the trace shows the guard return, and the connection works', async () => {
      await lab.setGuard(true);
      const res = await rg(['diagnose', '--config', configPath, '--json']);
      assert.equal(res.code, 0, res.stdout);
      const doc = JSON.parse(res.stdout) as DiagnoseDoc;
      assert.equal(doc.health, 'ok');
      assert.deepEqual(doc.findings, []);
      assert.deepEqual(
        doc.forwards.map((x) => x.status),
        ['ok', 'ok'],
      );
      const tracing = (await startTracing(3, true)).done;
      const tls = await lab.tlsThroughForward();
      assert.equal(tls.ok, true, tls.detail);
      const t = await tracing;
      assert.equal(t.code, 0, `${t.stdout}\n${t.stderr}`);
      const trace = JSON.parse(t.stdout) as TraceDoc;
      assert.equal(trace.agree, true);
      const ack = trace.kinds.find((k) => k.kind === 'ack');
      assert.ok(ack);
      assert.equal(ack.example.fate.diverted, undefined);
      assert.ok(ack.example.path.some((h) => h.chain === 'openclash' && h.verdict === 'return'));
      assert.doesNotMatch(await traceTables(), /replyguard_trace/);
    });
  });
}
