// guard = auto on a real kernel, per lab mode: the daemon (built bundle, in the
// side router's namespace) puts the guard in place by itself, the outside TLS
// connection through the forward works; then the proxy deletes and rebuilds
// its rules (as its restart does) and the forward must work again within a
// few seconds, with the guard back in place. Prints how long it took.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { labConfig, type RunningDaemon, startDaemon } from '../helpers/daemon';
import { createLab, type Lab, MODE_TRAITS, type ProxyMode } from '../lab/lab';

/** "At most a few seconds": the rebuild is noticed by nft monitor (500 ms debounce) or the 2 s legacy poll. */
export const RECOVERY_LIMIT_MS = 8000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it succeeds; the time from `since` to the first success. */
async function backAfter(
  what: string,
  probe: () => Promise<{ ok: boolean; detail: string }>,
  since: number,
  limitMs: number,
): Promise<number> {
  let last = '';
  while (Date.now() - since < limitMs) {
    const r = await probe();
    if (r.ok) return Date.now() - since;
    last = r.detail;
    await sleep(100);
  }
  assert.fail(`${what} did not work again within ${limitMs} ms after the proxy rebuilt its rules: ${last}`);
}

export function guardAutoSuite(modes: readonly ProxyMode[]): void {
  for (const mode of modes) {
    describe(`guard = auto, ${mode}`, () => {
      let lab: Lab;
      let daemon: RunningDaemon | undefined;
      before(async () => {
        lab = await createLab({ mode, tag: 'ga' });
      });
      after(async () => {
        await daemon?.stop();
        await lab?.destroy();
      });

      it('applies the guard by itself and puts it back within seconds after the proxy rebuilds its rules', async () => {
        daemon = await startDaemon(lab, labConfig(lab, { main: { guard: 'auto' } }));
        const first = await daemon.waitFor('the guard in place', (s) => s.guard?.state === 'in_place', 15_000);
        assert.equal(first.guard.mode, 'auto');
        assert.ok(first.guard.applies >= 1, JSON.stringify(first.guard));
        assert.ok(first.guard.rules > 0);
        await daemon.waitLog(/guard: guard = auto: applied \d+ rule\(s\)/);
        for (let i = 0; i < 2; i++) {
          const r = await lab.tlsThroughForward({ timeoutMs: 3000 });
          assert.equal(r.ok, true, `TLS + HTTP 200 through the forward with the guard (${i + 1}): ${r.detail}`);
        }
        if (MODE_TRAITS[mode].udp) {
          const u = await lab.udpThroughForward({ timeoutMs: 3000 });
          assert.equal(u.ok, true, `the UDP forward with the guard: ${u.detail}`);
        }

        const { applies: appliesBefore } = daemon.status()!.guard;
        // The guard lives in replyguard's own table (nat modes) or also in the proxy's chains (TPROXY, TUN,
        // UDP): only the latter is lost with the proxy's rules, and must be re-applied by the daemon.
        const inChain = MODE_TRAITS[mode].udp || MODE_TRAITS[mode].tcp === 'timeout';
        const t0 = Date.now();
        await lab.reloadProxyRules();
        const tcpMs = await backAfter(
          'TLS through the forward',
          () => lab.tlsThroughForward({ timeoutMs: 1000 }),
          t0,
          RECOVERY_LIMIT_MS,
        );
        const udpMs = MODE_TRAITS[mode].udp
          ? await backAfter('the UDP forward', () => lab.udpThroughForward({ timeoutMs: 1000 }), t0, RECOVERY_LIMIT_MS)
          : undefined;
        const back = await daemon.waitFor(
          inChain ? 'the guard re-applied and in place' : 'the guard in place',
          (s) => s.guard.state === 'in_place' && (!inChain || s.guard.applies > appliesBefore),
          RECOVERY_LIMIT_MS,
        );
        if (inChain) await daemon.waitLog(/guard: re-applying: .*applied \d+ rule\(s\)/);
        else assert.equal(back.guard.applies, appliesBefore, 'the own table survives: nothing to re-apply');
        console.log(
          `# ${mode}: TCP forward works ${tcpMs} ms after the proxy rebuilt its rules` +
            `${udpMs !== undefined ? `, UDP after ${udpMs} ms` : ''} ` +
            `(guard ${inChain ? `re-applied, ${back.guard.applies} applies in all` : 'untouched: own table'})`,
        );
        assert.equal(back.guard.last_error, undefined, back.guard.last_error);
        const again = await lab.tlsThroughForward({ timeoutMs: 3000 });
        assert.equal(again.ok, true, again.detail);
      });
    });
  }
}
