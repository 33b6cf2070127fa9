// `replyguard explain`, `diagnose` and `trace` on a live kernel in the TPROXY and
// TUN lab modes: the built bundle runs inside the lab's side-router namespace.
// Here the proxy's mangle rule takes the SYN-ACK itself (conntrack: invalid,
// mangle does not skip it) and the UDP reply; the outside client times out.
// What the commands say must agree with what really happens, before and after
// the guard.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureBundle } from '../helpers/bundle';
import {
  type DiagnoseDoc,
  type ExplainReport,
  rgIn,
  sideTables,
  type TraceDoc,
  writeDiagnoseConfig,
} from '../helpers/ruleset-cli';
import { createLab, type Lab, type ProxyMode } from '../lab/lab';

interface Expect {
  tag: string;
  proxy: string;
  table: string;
  /** The proxy's mangle chain, where the guard goes. */
  chain: string;
  how: ExplainReport['how'];
  /** The rule that takes the TCP SYN-ACK, and the UDP reply. */
  tcpRule: RegExp;
  udpRule: RegExp;
}

const MODES: Partial<Record<ProxyMode, Expect>> = {
  'nft-tproxy': {
    tag: 'rltp',
    proxy: 'openclash',
    table: 'inet fw4',
    chain: 'openclash_mangle',
    how: { kind: 'tproxy', port: 7895, addr: '127.0.0.1', table: '354', mark: 0x162 },
    tcpRule: /meta mark set 0x162 tproxy ip to 127\.0\.0\.1:7895/,
    udpRule: /meta mark set 0x162 tproxy ip to 127\.0\.0\.1:7895/,
  },
  tun: {
    tag: 'rltu',
    proxy: 'openclash',
    table: 'inet fw4',
    chain: 'openclash_mangle',
    how: { kind: 'tun', device: 'utun', table: '354', mark: 0x162 },
    tcpRule: /^meta mark set 0x162 counter$/,
    udpRule: /^meta mark set 0x162 counter$/,
  },
  'passwall2-tproxy': {
    tag: 'rlpw',
    proxy: 'passwall2',
    table: 'inet passwall2',
    chain: 'PSW2_MANGLE',
    how: { kind: 'tproxy', port: 1041, table: '100', mark: 1 },
    tcpRule: /ip protocol tcp meta mark 0x1 counter tproxy ip to :1041/,
    udpRule: /ip protocol udp meta mark 0x1 counter tproxy ip to :1041/,
  },
};

for (const [mode, want] of Object.entries(MODES) as [ProxyMode, Expect][]) {
  describe(`explain, diagnose and trace on the live kernel, ${mode}`, () => {
    let lab: Lab;
    let dir: string;
    let configPath: string;
    let server: string;
    let udpServer: string;
    /** explain's TCP report before the guard, and the trace of a real connection. */
    let tcpReport: ExplainReport | undefined;
    let trace: { code: number | null; doc: TraceDoc } | undefined;

    before(async () => {
      ensureBundle();
      lab = await createLab({ mode, tag: want.tag });
      dir = mkdtempSync(join(tmpdir(), `rg-rlt-${lab.id}-`));
      configPath = writeDiagnoseConfig(lab, dir);
      server = `${lab.addr.server}:${lab.forward.serverPort}`;
      udpServer = `${lab.addr.server}:${lab.forward.udpServerPort}`;
    });
    after(async () => {
      await lab?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const rg = (args: string[], timeoutMs?: number) => rgIn(lab)(args, timeoutMs);

    async function explain(proto: 'tcp' | 'udp'): Promise<{ code: number | null; report: ExplainReport }> {
      const from = proto === 'tcp' ? server : udpServer;
      const res = await rg([
        'explain',
        ...(proto === 'udp' ? ['--proto', 'udp'] : []),
        '--from',
        from,
        '--to',
        `${lab.addr.client}:40000`,
        '--json',
      ]);
      assert.ok(res.stdout.trim().startsWith('{'), `explain printed no JSON: ${res.stderr}`);
      return { code: res.code, report: JSON.parse(res.stdout) as ExplainReport };
    }

    function assertTaken(report: ExplainReport, code: number | null, rule: RegExp): void {
      const path = JSON.stringify(report.path, null, 1);
      assert.equal(report.verdict, 'proxied', path);
      assert.equal(report.certain, true);
      assert.deepEqual(report.how, want.how);
      assert.equal(report.proxy?.name, want.proxy);
      assert.equal(report.responsible?.backend, 'nft');
      assert.equal(report.responsible?.table, want.table);
      assert.equal(report.responsible?.chain, want.chain);
      assert.match(report.responsible?.text ?? '', rule);
      assert.equal(typeof report.responsible?.handle, 'number');
      assert.equal(code, 2, 'exit code 2 = swallowed');
    }

    it('diagnose reports both forwards at risk (exit 1) before any outside connection, naming the mangle rule', async () => {
      const res = await rg(['diagnose', '--config', configPath, '--json']);
      assert.equal(res.code, 1, res.stderr);
      const doc = JSON.parse(res.stdout) as DiagnoseDoc;
      assert.equal(doc.health, 'at_risk');
      assert.equal(doc.proxy?.name, want.proxy);
      assert.deepEqual(
        doc.forwards.map((x) => [x.name, x.status]),
        [
          ['nas', 'at_risk'],
          ['wg', 'at_risk'],
        ],
      );
      const summaries = JSON.stringify(doc.findings.map((f) => f.summary));
      assert.equal(doc.findings.length, 2, summaries);
      const tcp = doc.findings.find((f) => f.server === server);
      const udp = doc.findings.find((f) => f.server === udpServer);
      assert.ok(tcp && udp, summaries);
      for (const [f, forward, packet, rule] of [
        [tcp, 'nas', 'synack', want.tcpRule],
        [udp, 'wg', 'udp', want.udpRule],
      ] as const) {
        assert.equal(f.kind, 'reply_at_risk');
        assert.equal(f.severity, 'warning');
        assert.equal(f.forward, forward);
        assert.equal(f.packet, packet, 'TPROXY/TUN take the SYN-ACK itself');
        assert.equal(f.certain, true);
        assert.equal(f.rule?.backend, 'nft');
        assert.equal(f.rule?.table, want.table);
        assert.equal(f.rule?.chain, want.chain);
        assert.equal(typeof f.rule?.handle, 'number');
        assert.match(f.rule?.text ?? '', rule);
        assert.match(f.summary, /outside clients would (time out|get no answer)/);
      }
      const text = await rg(['diagnose', '--config', configPath]);
      assert.equal(text.code, 1);
      assert.match(text.stdout, /AT RISK: TCP 192\.168\.50\.10:443 \(forward 'nas'\)/);
      assert.match(text.stdout, /AT RISK: UDP 192\.168\.50\.10:51820 \(forward 'wg'\)/);
      // The same rules as explain names.
      const { report: tcpExplained } = await explain('tcp');
      const { report: udpExplained } = await explain('udp');
      assert.equal(tcp.rule?.handle, tcpExplained.responsible?.handle);
      assert.equal(udp.rule?.handle, udpExplained.responsible?.handle);
    });

    it(`explain: the SYN-ACK and the UDP reply are proxied via ${want.how?.kind} by chain ${want.chain}, certain — and both forwards fail`, async () => {
      const tcp = await explain('tcp');
      assertTaken(tcp.report, tcp.code, want.tcpRule);
      assert.equal(tcp.report.packet.flags, 'synack', 'the SYN-ACK breaks first under TPROXY/TUN');
      assert.equal(tcp.report.packet.ct_state, 'invalid');
      tcpReport = tcp.report;
      const udp = await explain('udp');
      assertTaken(udp.report, udp.code, want.udpRule);
      const [tls, dgram] = await Promise.all([lab.tlsThroughForward(), lab.udpThroughForward()]);
      assert.equal(tls.ok, false, `reality: the TLS connection through the forward should fail (${tls.detail})`);
      assert.match(tls.detail, /timed out/, 'the client times out (no reset: the SYN-ACK never leaves)');
      assert.equal(dgram.ok, false, `reality: the UDP forward should get no answer (${dgram.detail})`);
    });

    it('trace sees the SYN-ACK enter the proxy chain and leave it with the proxy mark, and removes its table', async () => {
      const tracing = rg(['trace', '--server', server, '--seconds', '3', '--json']);
      await new Promise((r) => setTimeout(r, 1000));
      const tls = await lab.tlsThroughForward();
      assert.equal(tls.ok, false, tls.detail);
      const res = await tracing;
      assert.ok(res.stdout.trim().startsWith('{'), `trace printed no JSON (${res.code}): ${res.stderr}`);
      const doc = JSON.parse(res.stdout) as TraceDoc;
      trace = { code: res.code, doc };
      assert.equal(doc.table_removed, true);
      assert.doesNotMatch(await sideTables(lab), /replyguard_trace/);
      assert.deepEqual(
        doc.kinds.map((k) => k.kind),
        ['synack'],
        'only SYN-ACKs: the handshake never completes',
      );
      const synack = doc.kinds[0]!;
      assert.ok(synack.packets >= 1);
      const path = synack.example.path;
      const shown = JSON.stringify(path, null, 1);
      assert.ok(
        path.some((h) => h.table === want.table && h.verdict === `jump ${want.chain}`),
        `the SYN-ACK enters ${want.chain}: ${shown}`,
      );
      // The mark the policy routing sends into the proxy (local table or tun).
      const mark = `0x${want.how!.mark!.toString(16).padStart(8, '0')}`;
      const last = path[path.length - 1]!;
      assert.equal(last.kind, 'policy', shown);
      assert.equal(last.verdict, `accept meta mark ${mark}`, shown);
      // explain's view of the same packet, as trace reports it, is the standalone explain's.
      assert.equal(synack.explain?.verdict, 'proxied');
      assert.equal(synack.explain?.how?.kind, want.how?.kind);
      assert.equal(synack.explain?.responsible?.handle, tcpReport?.responsible?.handle);
      if (mode === 'tun') {
        // The mark rule has no verdict: the kernel traces it as "continue"; trace reads the mark.
        assert.equal(res.code, 0, res.stdout);
        assert.equal(doc.agree, true);
        assert.equal(synack.comparison?.agree, true, synack.comparison?.why.join('; '));
        assert.equal(synack.example.fate.marked?.handle, tcpReport?.responsible?.handle);
        assert.match(synack.comparison?.traced ?? '', /taken by inet fw4 openclash_mangle handle \d+: meta mark set/);
      }
      if (mode === 'passwall2-tproxy') {
        // PSW2_RULE's `tcp flags syn` marks the SYN-ACK too (the mark that routes it locally).
        assert.equal(synack.example.fate.marked?.chain, 'PSW2_RULE', shown);
        assert.match(synack.example.fate.marked?.text ?? '', /^tcp flags syn meta mark set/);
      }
    });

    // With no TPROXY socket the tproxy statement ends its rule without a trace event, but the mark it
    // (or PSW2_RULE) set routes the packet into the local table: trace must still call it taken.
    it('trace agrees with explain on the SYN-ACK (exit 0)', () => {
      assert.ok(trace, 'the trace test ran');
      const synack = trace.doc.kinds.find((k) => k.kind === 'synack');
      assert.equal(synack?.comparison?.agree, true, synack?.comparison?.why.join('; '));
      assert.equal(trace.doc.agree, true);
      assert.equal(trace.code, 0);
    });

    it('after the guard: explain says forwarded (guard return in the mangle chain), diagnose exits 0, both forwards work', async () => {
      await lab.setGuard(true);
      for (const proto of ['tcp', 'udp'] as const) {
        const { code, report } = await explain(proto);
        assert.equal(report.verdict, 'forwarded', `${proto}: ${JSON.stringify(report.path, null, 1)}`);
        assert.equal(report.certain, true);
        assert.equal(report.responsible?.chain, want.chain, 'the guard return in the proxy chain');
        assert.equal(report.responsible?.effect, 'return');
        assert.match(report.responsible?.text ?? '', proto === 'tcp' ? /ct state/ : /udp sport 51820/);
        assert.equal(code, 0);
      }
      const res = await rg(['diagnose', '--config', configPath, '--json']);
      assert.equal(res.code, 0, res.stdout);
      const doc = JSON.parse(res.stdout) as DiagnoseDoc;
      assert.equal(doc.health, 'ok');
      assert.deepEqual(doc.findings, []);
      assert.deepEqual(
        doc.forwards.map((x) => x.status),
        ['ok', 'ok'],
      );
      const [tls, dgram] = await Promise.all([lab.tlsThroughForward(), lab.udpThroughForward()]);
      assert.equal(tls.ok, true, `reality: the TLS connection should work with the guard (${tls.detail})`);
      assert.equal(dgram.ok, true, `reality: the UDP forward should work with the guard (${dgram.detail})`);
    });
  });
}
