// `make lab`: the incident reproduced in network namespaces and caught by the
// daemon running in the side router's namespace. Cleans up after itself.
//
//   node --import tsx test/lab/run-lab.ts [--os debian|openwrt] [--mode MODE]
//
// --os openwrt: the side router is OpenWrt 23.05's own userland (test/openwrt/rig.ts), replyguard installed
// there with opkg and run by procd; nft modes only, default openclash-fw4-fakeip.
// MODE: iptables-redirect (default), nft-redirect, nft-tproxy, tun, openclash-fw4-fakeip,
// passwall2-tproxy, passwall, shellcrash, nikki, openclash-fw3 or none. In TPROXY/TUN modes conntrack sees nothing of the TCP hijack;
// the passive probe reports it within probe_interval (2 s) + 1 s.

import { spawnSync } from 'node:child_process';
import type { StatusDocument } from '../../src/status/status-schema';
import { BUNDLE, hijacksOf, startDaemon } from '../helpers/daemon';
import { configureForwards, installReplyguard, routerSh, waitRouterStatus } from '../openwrt/install';
import { rigUnavailable } from '../openwrt/rig';
import { createLab, type Lab, type LabOs, MODE_TRAITS, modeRunsOnOpenWrt, PROXY_MODES, type ProxyMode } from './lab';

const MODES = PROXY_MODES;
/** The daemon's default probe_interval (s); the lab config leaves it at the default. */
const PROBE_INTERVAL_S = 2;

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** The daemon as the lab sees it: a process it started (Debian) or the service procd runs (OpenWrt). */
interface Watched {
  where: string;
  waitFor(what: string, pred: (s: StatusDocument) => boolean, timeoutMs: number): Promise<StatusDocument>;
  statusText(): Promise<string>;
  stop(): Promise<unknown>;
}

async function watchOnDebian(lab: Lab): Promise<Watched> {
  const daemon = await startDaemon(lab);
  return {
    where: `namespace ${lab.ns.side} (state in ${daemon.stateDir})`,
    waitFor: (what, pred, ms) => daemon.waitFor(what, pred, ms),
    statusText: async () =>
      spawnSync(process.execPath, [BUNDLE, 'status', '--state-dir', daemon.stateDir], { encoding: 'utf8' }).stdout,
    stop: () => daemon.stop(),
  };
}

async function watchOnOpenWrt(lab: Lab): Promise<Watched> {
  say('== opkg install replyguard luci-app-replyguard luci-i18n-replyguard-zh-cn on the OpenWrt side router');
  await installReplyguard(lab);
  const startedAfter = new Date().toISOString();
  await configureForwards(lab, {}, 'restart');
  await waitRouterStatus(lab, 'the daemon', (s) => s.started_at >= startedAfter && s.sensors.probe.state === 'running');
  return {
    where: 'OpenWrt (procd service replyguard; logread -e replyguard)',
    waitFor: (what, pred, ms) =>
      waitRouterStatus(lab, what, (s) => pred(s as StatusDocument), ms) as Promise<StatusDocument>,
    statusText: () => routerSh(lab, 'replyguard status; true'),
    stop: async () => undefined, // the rig's PID 1 takes procd and the daemon with it
  };
}

async function main(): Promise<number> {
  const o = process.argv.indexOf('--os');
  const os = (o >= 0 ? process.argv[o + 1] || 'debian' : 'debian') as LabOs;
  if (os !== 'debian' && os !== 'openwrt') {
    say(`unknown os '${os}'; one of: debian, openwrt`);
    return 64;
  }
  const i = process.argv.indexOf('--mode');
  const given = i >= 0 ? process.argv[i + 1] : undefined;
  const mode = (given || (os === 'openwrt' ? 'openclash-fw4-fakeip' : 'iptables-redirect')) as ProxyMode;
  if (!MODES.includes(mode)) {
    say(`unknown mode '${mode}'; one of: ${MODES.join(', ')}`);
    return 64;
  }
  if (os === 'openwrt' && !modeRunsOnOpenWrt(mode)) {
    say(
      `mode ${mode} uses iptables; OpenWrt's fw4 image has none. nft modes: ${MODES.filter(modeRunsOnOpenWrt).join(', ')}`,
    );
    return 64;
  }
  if (process.getuid?.() !== 0) {
    say('make lab needs root (network namespaces, netfilter).');
    return 1;
  }
  if (os === 'openwrt') {
    const why = rigUnavailable();
    if (why) {
      say(`OS=openwrt: ${why}`);
      return 1;
    }
  }
  let lab: Lab | undefined;
  let daemon: Watched | undefined;
  try {
    lab = await createLab({ mode, tag: 'lab', os });
    say(
      `== lab ${lab.id}, proxy mode: ${mode}, side router: ${os === 'openwrt' ? 'OpenWrt 23.05 (procd, fw4)' : 'Debian tools'}`,
    );
    say(
      `   client ${lab.addr.client} → main router ${lab.addr.mainWan}:${lab.forward.wanPort} (DNAT → ${lab.addr.server}:${lab.forward.serverPort})`,
    );
    say(
      `   server ${lab.addr.server} uses the side router ${lab.addr.side} as gateway; the side router runs the proxy rules and replyguard`,
    );
    daemon = os === 'openwrt' ? await watchOnOpenWrt(lab) : await watchOnDebian(lab);
    say(`== replyguard is running in ${daemon.where}`);

    const traits = MODE_TRAITS[mode];
    const res = await lab.tlsThroughForward({ timeoutMs: 3000 });
    say(
      `== outside client: curl https://${lab.addr.mainWan}:${lab.forward.wanPort}/ → ${res.ok ? 'works' : `FAILS: ${res.detail}`}`,
    );
    const udp = await lab.udpThroughForward({ timeoutMs: 1500 });
    say(
      `== outside client: UDP to ${lab.addr.mainWan}:${lab.forward.udpWanPort} (the "WireGuard" forward) → ${udp.ok ? 'answered' : `FAILS: ${udp.detail}`}`,
    );
    let caught = false;
    if (!res.ok || !udp.ok) {
      // conntrack reports nat REDIRECT at once; where it is blind (TPROXY, TUN, UDP) the probe
      // needs up to probe_interval + 1 s after the swallowed reply.
      const limit = traits.tcp === 'reset' && udp.ok ? 3000 : (PROBE_INTERVAL_S + 1) * 1000 + 1000;
      const broken = [...(res.ok ? [] : ['nas']), ...(udp.ok ? [] : ['wg'])];
      const s = await daemon.waitFor(
        'the findings',
        (st) => broken.every((name) => hijacksOf(st).some((f) => f.forward === name)),
        limit,
      );
      caught = true;
      for (const f of hijacksOf(s)) {
        const by = f.diverted_to ? 'conntrack (the redirected entry)' : 'the probe (replies in, none out)';
        say(`== replyguard caught ${f.proto.toUpperCase()} ${f.server}: first seen by ${by} at ${f.first_seen}`);
      }
      say('');
    } else {
      await new Promise((r) => setTimeout(r, 500));
    }
    say((await daemon.statusText()).trimEnd());

    if (caught) {
      say(`\n== applying this mode's guard and connecting again`);
      await lab.setGuard(true);
      const again = await lab.tlsThroughForward();
      say(`   outside client → ${again.ok ? 'works' : `still fails: ${again.detail}`}`);
      const udpAgain = await lab.udpThroughForward();
      say(`   UDP → ${udpAgain.ok ? 'answered' : `still fails: ${udpAgain.detail}`}`);
      await daemon.waitFor('health to recover', (st) => st.health !== 'problem', (PROBE_INTERVAL_S + 1) * 1000 + 1000);
      // The prediction follows the ruleset change a moment later (nft monitor, or the iptables-legacy poll).
      let s: StatusDocument | undefined;
      try {
        s = await daemon.waitFor(
          'the prediction to follow',
          (st) => !st.findings.some((f) => f.kind === 'reply_at_risk'),
          12_000,
        );
      } catch {
        s = await daemon.waitFor('a status', () => true, 2000);
      }
      say(`   replyguard health: ${s.health} — ${s.headline}`);
      return again.ok && udpAgain.ok ? 0 : 1;
    }
    return mode === 'none' && res.ok ? 0 : 1;
  } finally {
    await daemon?.stop();
    await lab?.destroy();
    say('== lab removed');
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`lab failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
