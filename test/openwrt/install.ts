// Installs replyguard on a lab's OpenWrt side router as a user does: `make ipk`'s packages (built from
// dist/ here) copied over and installed with OpenWrt's own opkg, after the stand-ins for what the
// image lacks (test/openwrt/stand-ins.ts). Then the lab's forwards go into UCI and procd reloads it.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allPackages } from '../../openwrt/tools/build-ipk';
import { buildIpk, ipkFileName } from '../../openwrt/tools/ipk';
import type { StatusDocument } from '../../src/status/status-schema';
import type { Lab } from '../lab/lab';
import type { OpenWrtRig } from './rig';
import { standInIpks } from './stand-ins';

const MTIME = 1_700_000_000;

export function rigOf(lab: Lab): OpenWrtRig {
  assert.ok(lab.openwrt, `lab ${lab.id} has no OpenWrt side router`);
  return lab.openwrt;
}

/** Runs a shell line on the router; fails the test with its output when it exits non-zero. */
export async function routerSh(lab: Lab, script: string, input?: string | Buffer): Promise<string> {
  const r = await rigOf(lab).sh(script, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `router: ${script}\nexit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** opkg install of the stand-ins, then of replyguard, luci-app-replyguard and its zh-cn catalog; returns opkg's output. */
export async function installReplyguard(lab: Lab): Promise<string> {
  const ours = allPackages().map((spec) => ({ name: ipkFileName(spec), data: buildIpk(spec, MTIME) }));
  for (const { name, data } of [...standInIpks(MTIME), ...ours]) {
    await routerSh(lab, `mkdir -p /tmp/ipk && cat > /tmp/ipk/${name}`, data);
  }
  const standIns = standInIpks(MTIME).map((p) => `/tmp/ipk/${p.name}`);
  let out = await routerSh(lab, `opkg install ${standIns.join(' ')} 2>&1`);
  out += await routerSh(lab, `opkg install ${ours.map((p) => `/tmp/ipk/${p.name}`).join(' ')} 2>&1`);
  // default_postinst asked procd to start it; wait for its first status so that a restart right after
  // cannot be confused with this start (both write started_at after the caller's clock reading).
  await waitRouterStatus(lab, 'the first start after install', (st) => st.sensors.conntrack.state === 'running');
  return out;
}

/**
 * The lab's forwards as UCI sections, plus options of [main]; committed and reloaded as LuCI's Save & Apply
 * does, or restarted (options such as probe change only at a restart).
 */
export async function configureForwards(
  lab: Lab,
  main: Record<string, string> = {},
  how: 'reload' | 'restart' = 'reload',
): Promise<void> {
  const set = (k: string, v: string) => `uci set replyguard.${k}='${v}'`;
  const forward = (name: string, port: number, proto: string, wanPort: number) => [
    `uci set replyguard.${name}=forward`,
    set(`${name}.host`, lab.addr.server),
    set(`${name}.port`, String(port)),
    set(`${name}.proto`, proto),
    set(`${name}.wan_port`, String(wanPort)),
  ];
  const lines = [
    ...Object.entries(main).map(([k, v]) => set(`main.${k}`, v)),
    ...forward('nas', lab.forward.serverPort, 'tcp', lab.forward.wanPort),
    ...forward('wg', lab.forward.udpServerPort, 'udp', lab.forward.udpWanPort),
    'uci commit replyguard',
    `/etc/init.d/replyguard ${how}`,
  ];
  await routerSh(lab, lines.join(' && '));
}

/** status.json as the daemon on the router wrote it (undefined before the first write). */
export async function routerStatus(lab: Lab): Promise<StatusDocument | undefined> {
  const r = await rigOf(lab).sh('cat /var/run/replyguard/status.json');
  if (r.code !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as StatusDocument;
  } catch {
    return undefined;
  }
}

export async function waitRouterStatus(
  lab: Lab,
  what: string,
  pred: (s: StatusDocument) => boolean,
  timeoutMs = 10_000,
): Promise<StatusDocument> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await routerStatus(lab);
    if (s && pred(s)) return s;
    if (Date.now() > deadline) {
      const log = await rigOf(lab).sh('logread -e replyguard | tail -40');
      assert.fail(`timed out waiting for ${what}\nstatus: ${JSON.stringify(s, null, 1)}\nlogread:\n${log.stdout}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The daemon's pids as procd runs them (ubus call service list). */
export async function serviceInstances(lab: Lab): Promise<Array<{ running: boolean; pid?: number }>> {
  const out = await routerSh(lab, `ubus call service list '{"name":"replyguard"}'`);
  const doc = JSON.parse(out) as Record<string, { instances?: Record<string, { running: boolean; pid?: number }> }>;
  return Object.values(doc.replyguard?.instances ?? {});
}

export const REPO_BUNDLE = join(__dirname, '..', '..', 'dist', 'replyguard.js');
export const bundleBuilt = (): boolean => {
  try {
    return readFileSync(REPO_BUNDLE).subarray(0, 2).toString() === '#!';
  } catch {
    return false;
  }
};
