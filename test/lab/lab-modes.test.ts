// The TPROXY/TUN lab modes on a real kernel: each breaks the forwards as such
// a proxy does (TCP: reset or timeout; UDP: no answer), its guard
// repairs both, and conntrack shows nothing of the TCP hijack where it is blind.
// Run as root: node --import tsx --test test/lab/lab-modes.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLab, FIX_PROOF_MODES, MODE_TRAITS, PROXY_MODES, type ProxyMode } from './lab';

/** Every mode with a proxy but the two plain REDIRECT ones, which lab-selfcheck.test.ts covers. */
const MODES: ProxyMode[] = [...PROXY_MODES, ...FIX_PROOF_MODES].filter(
  (m) => !['none', 'iptables-redirect', 'nft-redirect'].includes(m),
);

for (const mode of MODES) {
  describe(`lab mode ${mode}`, () => {
    it('breaks the forwards as the proxy does, and its guard repairs them', async (t) => {
      const traits = MODE_TRAITS[mode];
      const lab = await createLab({ mode, tag: 'mode' });
      try {
        const tls = await lab.tlsThroughForward({ timeoutMs: 2500 });
        t.diagnostic(`${mode}: tls ${JSON.stringify(tls)}`);
        assert.equal(tls.ok, traits.tcp === null, tls.detail);
        if (traits.tcp === 'reset') assert.match(tls.detail, /reset/i);
        if (traits.tcp === 'timeout') assert.match(tls.detail, /timed out|timeout/i);
        const udp = await lab.udpThroughForward({ timeoutMs: 1500 });
        t.diagnostic(`${mode}: udp ${JSON.stringify(udp)}`);
        assert.equal(udp.ok, !traits.udp, udp.detail);

        await lab.setGuard(true);
        const guarded = await lab.tlsThroughForward({ timeoutMs: 3000 });
        assert.equal(guarded.ok, true, `guarded tls: ${guarded.detail}`);
        const guardedUdp = await lab.udpThroughForward({ timeoutMs: 3000 });
        assert.equal(guardedUdp.ok, true, `guarded udp: ${guardedUdp.detail}`);

        await lab.setGuard(false);
        const again = await lab.tlsThroughForward({ timeoutMs: 2500 });
        assert.equal(again.ok, traits.tcp === null, 'removing the guard breaks the forward again');
        // A mode that spares the TCP replies (Passwall's TPROXY marks only a bare SYN): its UDP breaks again.
        if (traits.tcp === null) assert.equal((await lab.udpThroughForward({ timeoutMs: 1500 })).ok, !traits.udp);
      } finally {
        await lab.destroy();
      }
    });
  });
}
