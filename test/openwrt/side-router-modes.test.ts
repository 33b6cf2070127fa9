// Every nft proxy mode of the lab on OpenWrt 23.05's own userland (test/openwrt/rig.ts): the proxy's
// rules added with OpenWrt's nft next to the real fw4, replyguard installed with opkg and run by procd.
// Per mode: the broken forwards break, replyguard reports each (REDIRECT by conntrack, TPROXY/TUN and UDP
// by the probe), and `replyguard guard apply` makes them work. openclash-fw4-fakeip and tun have files
// of their own (side-router-nat, side-router-tun); 'none' is the healthy case.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StatusDocument } from '../../src/status/status-schema';
import { createLab, MODE_TRAITS, modeRunsOnOpenWrt, PROXY_MODES, type ProxyMode } from '../lab/lab';
import { configureForwards, installReplyguard, routerSh, waitRouterStatus } from './install';
import { rigUnavailable } from './rig';

const skip = rigUnavailable();
const COVERED_ELSEWHERE: readonly ProxyMode[] = ['openclash-fw4-fakeip', 'tun'];
const MODES = PROXY_MODES.filter((m) => modeRunsOnOpenWrt(m) && !COVERED_ELSEWHERE.includes(m));
const TLS = '192.168.50.10:443';
const UDP = '192.168.50.10:51820';
const hijacked = (s: StatusDocument, server: string) =>
  s.findings.some((f) => f.kind === 'reply_hijacked' && f.state === 'active' && f.server === server);

describe('OpenWrt side router: every other nft mode', { skip, concurrency: 1 }, () => {
  for (const mode of MODES) {
    it(`${mode}: broken where the mode breaks, reported, and fixed by guard apply`, async (t) => {
      const traits = MODE_TRAITS[mode];
      const lab = await createLab({ mode, os: 'openwrt', tag: 'owrtm' });
      try {
        await installReplyguard(lab);
        const at = new Date().toISOString();
        await configureForwards(lab, { probe_interval: '1' }, 'restart');
        await waitRouterStatus(lab, 'the daemon', (s) => s.started_at > at && s.sensors.probe.state === 'running');
        const tls = await lab.tlsThroughForward({ timeoutMs: 3000 });
        const udp = await lab.udpThroughForward({ timeoutMs: 1500 });
        assert.equal(tls.ok, traits.tcp === null, `TCP: ${tls.detail}`);
        assert.equal(udp.ok, !traits.udp, `UDP: ${udp.detail}`);
        if (traits.tcp === null && !traits.udp) {
          await new Promise((r) => setTimeout(r, 2500));
          const s = await waitRouterStatus(lab, 'a status', () => true);
          assert.equal(s.findings.filter((f) => f.kind === 'reply_hijacked').length, 0, 'no false alarm');
          return;
        }
        const s = await waitRouterStatus(
          lab,
          'the findings',
          (st) => (traits.tcp === null || hijacked(st, TLS)) && (!traits.udp || hijacked(st, UDP)),
          8000,
        );
        const tcpFinding = s.findings.find((f) => f.kind === 'reply_hijacked' && f.server === TLS);
        if (traits.tcp === 'reset') assert.ok(tcpFinding?.diverted_to, 'REDIRECT: conntrack saw the redirected entry');
        if (traits.tcp === 'timeout') assert.equal(tcpFinding?.diverted_to, undefined, 'TPROXY/TUN: the probe saw it');
        t.diagnostic(`${mode}: proxy ${s.proxy?.label ?? 'none'}; ${s.headline}`);
        await routerSh(lab, 'replyguard guard apply');
        const again = await lab.tlsThroughForward({ timeoutMs: 3000 });
        assert.ok(again.ok, `after guard apply, TCP: ${again.detail}`);
        const udpAgain = await lab.udpThroughForward({ timeoutMs: 3000 });
        assert.ok(udpAgain.ok, `after guard apply, UDP: ${udpAgain.detail}`);
        // The LAN's own traffic is still the proxy's.
        if (traits.redirectPort !== undefined) {
          const before = lab.proxyAccepts();
          await lab.outboundFromServer({ timeoutMs: 2000 });
          assert.ok(lab.proxyAccepts() > before, 'outbound LAN traffic still reaches the proxy');
        }
      } finally {
        await lab.destroy();
      }
    });
  }
});
