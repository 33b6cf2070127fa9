// `make feed`'s opkg feed on OpenWrt 23.05's own opkg and usign (test/openwrt/rig.ts), signature checking on
// as the image ships it (`option check_signature` in /etc/opkg.conf): opkg update from file:// src lines
// fails without the feed's key and passes once `opkg-key add` trusts it; then the LuCI catalogue installed
// by name pulls in luci-app-replyguard, replyguard and replyguard's dependencies. Those dependencies come
// from a second signed feed of stand-ins (test/openwrt/stand-ins.ts: the image lacks node, conntrack …).

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildFeed, ipkControl } from '../../openwrt/tools/build-feed';
import { loadOrCreateKeys, packagesStanza, USIGN_PUBLIC_KEY_NAME, usignSign } from '../../openwrt/tools/feed';
import { bundleBuilt } from './install';
import { bootOpenWrt, type OpenWrtRig, rigUnavailable } from './rig';
import { standInIpks } from './stand-ins';

const MTIME = 1_700_000_000;
const skip = rigUnavailable() ?? (bundleBuilt() ? undefined : 'dist/replyguard.js is missing: run npm run build');

async function sh(rig: OpenWrtRig, script: string, input?: Buffer | string): Promise<string> {
  const r = await rig.sh(script, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `router: ${script}\nexit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe('OpenWrt 23.05: opkg installs from the signed local feed', { skip, concurrency: 1 }, () => {
  it('opkg update checks the usign signature; install by name pulls the dependencies', async () => {
    const work = mkdtempSync(join(tmpdir(), 'rg-feed-'));
    const keyDir = join(work, 'keys');
    const feed = join(work, 'feed');
    buildFeed(feed, keyDir, undefined, MTIME);
    const keys = loadOrCreateKeys(keyDir);
    const standIns = standInIpks(MTIME);
    const standInPackages = Buffer.from(
      standIns.map((p) => packagesStanza(ipkControl(p.data), p.name, p.data)).join(''),
    );
    const netns = `rgfeed${process.pid % 100000}`;
    let rig: OpenWrtRig | undefined;
    try {
      rig = await bootOpenWrt({ netnsName: netns });
      const opkgDir = join(feed, 'opkg');
      for (const name of readdirSync(opkgDir)) {
        await sh(rig, `mkdir -p /tmp/feed/opkg && cat > /tmp/feed/opkg/${name}`, readFileSync(join(opkgDir, name)));
      }
      for (const p of standIns) await sh(rig, `mkdir -p /tmp/feed/si && cat > /tmp/feed/si/${p.name}`, p.data);
      await sh(rig, 'cat > /tmp/feed/si/Packages', standInPackages);
      await sh(rig, 'gzip -c /tmp/feed/si/Packages > /tmp/feed/si/Packages.gz');
      await sh(rig, 'cat > /tmp/feed/si/Packages.sig', usignSign(keys.usignPrivate, standInPackages));

      assert.match(await sh(rig, 'cat /etc/opkg.conf'), /^option check_signature/m, 'the image checks signatures');
      await sh(
        rig,
        'printf "src/gz replyguard file:///tmp/feed/opkg\\nsrc/gz standins file:///tmp/feed/si\\n" > /etc/opkg/distfeeds.conf',
      );
      const untrusted = await rig.sh('opkg update 2>&1');
      assert.match(untrusted.stdout, /Signature check failed/, `without the key:\n${untrusted.stdout}`);
      // opkg 23.05 exits 0 here, but drops the list whose signature failed: nothing to install by name.
      const none = await rig.sh('opkg list replyguard; ls /var/opkg-lists');
      assert.doesNotMatch(none.stdout, /^replyguard - /m, `no list kept without the key:\n${none.stdout}`);

      await sh(rig, `opkg-key add /tmp/feed/opkg/${USIGN_PUBLIC_KEY_NAME}`);
      const update = await sh(rig, 'opkg update 2>&1');
      assert.match(update, /Signature check passed/, update);
      assert.doesNotMatch(update, /Signature check failed/, update);

      const install = await sh(rig, 'opkg install luci-i18n-replyguard-zh-cn 2>&1');
      const installed = await sh(rig, 'opkg list-installed');
      for (const name of ['replyguard', 'luci-app-replyguard', 'luci-i18n-replyguard-zh-cn', 'node', 'conntrack']) {
        assert.match(installed, new RegExp(`^${name} - `, 'm'), `${name} installed\n${install}`);
      }
      assert.ok((await rig.sh('test -x /usr/sbin/replyguard')).code === 0, 'the daemon is in place');
    } finally {
      await rig?.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
