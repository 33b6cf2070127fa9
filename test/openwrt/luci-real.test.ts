// LuCI for real: OpenWrt 23.05's own uhttpd, rpcd and LuCI on the lab's OpenWrt side router
// (test/openwrt/rig.ts), luci-app-replyguard and its zh-cn catalog installed with opkg, and headless
// Chromium on a LAN host (the lab's server namespace) logged in as root over the veth. The pages show the
// live daemon's status.json; "Re-check now" and Save & Apply go through the real rpcd and its ACLs.
// Screenshots go to test/artifacts/.

import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createLab, type Lab } from '../lab/lab';
import { configureForwards, installReplyguard, routerSh, waitRouterStatus } from './install';
import { rigUnavailable } from './rig';

const skip = rigUnavailable();
const ARTIFACTS = join(__dirname, '..', 'artifacts');
const TLS = '192.168.50.10:443';

describe('LuCI on OpenWrt (uhttpd, rpcd, the image LuCI) in headless Chromium', { skip }, () => {
  let lab: Lab;
  let browser: Browser;
  let dir: string;
  let base: string;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    lab = await createLab({ mode: 'openclash-fw4-fakeip', os: 'openwrt', tag: 'owrtluci' });
    await installReplyguard(lab);
    const at = new Date().toISOString();
    await configureForwards(lab, {}, 'restart');
    await waitRouterStatus(lab, 'the daemon', (s) => s.started_at > at && s.sensors.probe.state === 'running');
    // A hijack to show.
    assert.equal((await lab.tlsThroughForward({ timeoutMs: 3000 })).ok, false);
    await waitRouterStatus(lab, 'the hijack', (s) =>
      s.findings.some((f) => f.kind === 'reply_hijacked' && f.state === 'active' && f.server === TLS),
    );
    // Chromium runs on a LAN host: a wrapper enters the server's namespace (Playwright talks over a pipe).
    dir = mkdtempSync(join(tmpdir(), 'rg-luci-real-'));
    const wrapper = join(dir, 'chromium-in-lan');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${lab.ns.server} /usr/bin/chromium "$@"\n`);
    chmodSync(wrapper, 0o755);
    browser = await chromium.launch({
      executablePath: wrapper,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
      ],
    });
    base = `http://${lab.addr.side}/cgi-bin/luci`;
  });
  after(async () => {
    await browser?.close();
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A page logged in as root (empty password, as the image ships) through LuCI's own login form, then at
   * a LuCI path. Everything goes through the browser in the LAN namespace; nothing is sent from the host.
   */
  async function loggedIn(path: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/${path}`);
    await page.waitForSelector('input[name="luci_password"]', { state: 'attached', timeout: 15_000 });
    await page.locator('input[name="luci_username"]').first().fill('root');
    await page.locator('button.cbi-button-positive').first().click();
    await page.waitForURL((url) => url.pathname.endsWith(path), { timeout: 15_000 });
    await page.waitForSelector('input[name="luci_password"]', { state: 'detached', timeout: 15_000 });
    return page;
  }

  it("Status renders the live daemon's status: the hijacked forward, the fix, the sensors", async () => {
    const page = await loggedIn('admin/services/replyguard/status');
    await page.waitForSelector('#rg-banner[data-health="problem"]', { timeout: 15_000 });
    const body = (await page.locator('#rg-body').textContent()) ?? '';
    assert.match(body, /192\.168\.50\.10:443/);
    assert.match(body, /nas/);
    assert.match(body, /Replies hijacked/);
    assert.match(body, /replyguard guard apply/);
    await page.screenshot({ path: join(ARTIFACTS, 'openwrt-luci-status-en.png'), fullPage: true });
    await page.context().close();
  });

  it('"Re-check now" reaches the daemon through rpcd (file exec under the ACL)', async () => {
    const before = (await routerSh(lab, 'logread -e replyguard | grep -c "re-check requested"; true')).trim();
    const page = await loggedIn('admin/services/replyguard/status');
    await page.waitForSelector('#rg-banner', { timeout: 15_000 });
    await page.getByRole('button', { name: 'Re-check now' }).click();
    const deadline = Date.now() + 8000;
    let after = before;
    while (after === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      after = (await routerSh(lab, 'logread -e replyguard | grep -c "re-check requested"; true')).trim();
    }
    assert.ok(Number(after) > Number(before), `re-check requested lines: ${before} → ${after}`);
    assert.equal(await page.locator('.alert-message.error').count(), 0, 'no error notification');
    await page.context().close();
  });

  it('is in 简体中文 with the i18n package (luci.main.lang = zh_cn)', async () => {
    await routerSh(lab, "uci set luci.main.lang='zh_cn' && uci commit luci");
    try {
      const page = await loggedIn('admin/services/replyguard/status');
      await page.waitForSelector('#rg-banner', { timeout: 15_000 });
      const text = (await page.locator('body').textContent()) ?? '';
      assert.match(text, /立即重新检查/);
      await page.screenshot({ path: join(ARTIFACTS, 'openwrt-luci-status-zh_Hans.png'), fullPage: true });
      await page.context().close();
    } finally {
      await routerSh(lab, "uci set luci.main.lang='auto' && uci commit luci");
    }
  });

  it('a forward added in Settings and Save & Apply reaches the daemon (status.json within seconds)', async () => {
    const page = await loggedIn('admin/services/replyguard/settings');
    await page.waitForSelector('.cbi-tblsection .cbi-section-create-name', { timeout: 15_000 });
    // Typed key by key: LuCI enables the Add button on keyup. LuCI's sticky Save bar may cover the
    // button, so it is pressed from the keyboard.
    await page.locator('.cbi-tblsection .cbi-section-create-name').pressSequentially('web');
    await page.locator('.cbi-tblsection .cbi-button-add').focus();
    await page.keyboard.press('Enter');
    // LuCI puts the cbid on the option's wrapper; its input is "widget.<cbid>".
    await page.fill('[id="widget.cbid.replyguard.web.host"]', lab.addr.server);
    await page.fill('[id="widget.cbid.replyguard.web.port"]', String(lab.forward.plainServerPort));
    await page.screenshot({ path: join(ARTIFACTS, 'openwrt-luci-settings-en.png'), fullPage: true });
    await page.locator('.cbi-page-actions .cbi-button-apply').first().click();
    await waitRouterStatus(lab, 'the forward from LuCI', (s) => s.forwards.some((f) => f.name === 'web'), 20_000);
    assert.equal((await routerSh(lab, 'uci get replyguard.web.port')).trim(), String(lab.forward.plainServerPort));
    await page.context().close();
  });

  it("rpcd refuses a call outside this app's ACL to a user who holds only it", async () => {
    const hash = (await lab.exec(lab.ns.server, ['openssl', 'passwd', '-1', 'rgpass'])).stdout.trim();
    await routerSh(
      lab,
      [
        'uci add rpcd login',
        "uci set rpcd.@login[-1].username='rguser'",
        `uci set rpcd.@login[-1].password='${hash}'`,
        "uci add_list rpcd.@login[-1].read='luci-app-replyguard'",
        "uci add_list rpcd.@login[-1].write='luci-app-replyguard'",
        'uci commit rpcd',
      ].join(' && '),
    );
    const rpc = async (params: unknown[]) => {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'call', params });
      const r = await lab.exec(lab.ns.server, [
        'curl',
        '-sS',
        '--noproxy',
        '*',
        '-H',
        'content-type: application/json',
        '--data',
        body,
        `http://${lab.addr.side}/ubus`,
      ]);
      return JSON.parse(r.stdout) as { result?: [number, Record<string, unknown>?]; error?: { code: number } };
    };
    const login = await rpc([
      '00000000000000000000000000000000',
      'session',
      'login',
      { username: 'rguser', password: 'rgpass' },
    ]);
    const sid = login.result?.[1]?.ubus_rpc_session as string;
    assert.ok(sid, `login: ${JSON.stringify(login)}`);
    const allowed = await rpc([sid, 'file', 'exec', { command: '/etc/init.d/replyguard', params: ['recheck'] }]);
    assert.equal(allowed.result?.[0], 0, `recheck: ${JSON.stringify(allowed)}`);
    const status = await rpc([sid, 'file', 'read', { path: '/var/run/replyguard/status.json' }]);
    assert.equal(status.result?.[0], 0, 'status.json readable');
    const shell = await rpc([sid, 'file', 'exec', { command: '/bin/sh', params: ['-c', 'id'] }]);
    assert.notEqual(shell.result?.[0], 0, `a shell is refused: ${JSON.stringify(shell)}`);
    const shadow = await rpc([sid, 'file', 'read', { path: '/etc/shadow' }]);
    assert.notEqual(shadow.result?.[0], 0, `/etc/shadow is refused: ${JSON.stringify(shadow)}`);
    const firewall = await rpc([sid, 'uci', 'get', { config: 'firewall' }]);
    assert.ok(
      firewall.error || firewall.result?.[0] !== 0,
      `other uci configs are refused: ${JSON.stringify(firewall)}`,
    );
  });
});
