// `replyguard explain` on a live kernel: the built bundle runs inside the lab's
// side router namespace, reads its real ruleset (nft or iptables REDIRECT) and
// must agree with what actually happens to the outside TLS connection.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureBundle } from '../helpers/bundle';
import { BUNDLE } from '../helpers/daemon';
import type { ExplainReport as Report } from '../helpers/ruleset-cli';
import { createLab, type Lab, type ProxyMode } from '../lab/lab';

for (const mode of ['iptables-redirect', 'nft-redirect'] as ProxyMode[]) {
  describe(`explain on the live kernel, ${mode}`, () => {
    let lab: Lab;

    before(async () => {
      ensureBundle();
      lab = await createLab({ mode, tag: mode.startsWith('nft') ? 'exn' : 'exi' });
    });
    after(async () => {
      await lab?.destroy();
    });

    async function explain(): Promise<{ code: number | null; report: Report }> {
      const res = await lab.exec(lab.ns.side, [
        process.execPath,
        BUNDLE,
        'explain',
        '--from',
        `${lab.addr.server}:${lab.forward.serverPort}`,
        '--to',
        `${lab.addr.client}:40000`,
        '--in',
        'br-lan',
        '--json',
      ]);
      assert.ok(res.stdout.trim().startsWith('{'), `explain printed no JSON: ${res.stderr}`);
      return { code: res.code, report: JSON.parse(res.stdout) as Report };
    }

    it("says the server's reply is proxied via redirect to 7892 by chain openclash, certain — and the connection fails", async () => {
      const { code, report } = await explain();
      assert.equal(report.verdict, 'proxied', JSON.stringify(report.path, null, 1));
      assert.equal(report.certain, true);
      assert.deepEqual(report.how, { kind: 'redirect', port: lab.forward.redirectPort });
      assert.equal(report.responsible?.chain, 'openclash');
      assert.match(report.responsible?.text ?? '', /redirect|REDIRECT/);
      assert.equal(report.responsible?.backend, mode === 'nft-redirect' ? 'nft' : 'iptables');
      assert.equal(report.proxy?.name, 'openclash');
      assert.equal(report.packet.flags, 'ack', 'the mid-stream ACK breaks first under REDIRECT');
      assert.match(report.packet.ct_state, /^new \(original\)/);
      assert.equal(code, 2, 'exit code 2 = swallowed');
      for (const hop of report.path) {
        assert.ok(hop.backend && hop.table && hop.chain && hop.text && hop.effect, JSON.stringify(hop));
      }
      if (mode === 'nft-redirect') assert.ok(report.responsible && report.path.some((h) => h.handle !== null));
      const res = await lab.tlsThroughForward();
      assert.equal(res.ok, false, `reality: the TLS connection through the forward should fail (${res.detail})`);
    });

    it('after the guard rule: forwarded — and the connection works', async () => {
      await lab.setGuard(true);
      const { code, report } = await explain();
      assert.equal(report.verdict, 'forwarded', JSON.stringify(report.path, null, 1));
      assert.equal(report.certain, true);
      assert.equal(report.responsible?.chain, 'openclash', 'the guard return in the proxy chain');
      assert.equal(code, 0);
      const res = await lab.tlsThroughForward();
      assert.equal(res.ok, true, `reality: the TLS connection should work with the guard (${res.detail})`);
    });
  });
}
