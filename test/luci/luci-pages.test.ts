// luci-app-replyguard's views in headless Chromium, inside a harness page that
// provides the part of LuCI's client API they use (test/luci/harness). The
// status page is fed a real status.json from the namespace lab
// (fixtures/status-hijacked.json, made by make-fixture.ts, which fills in the
// lab's guard — off, missing — when the daemon reports none); Chinese comes from
// the .lmo our compiler makes of po/zh_Hans, looked up by hash as LuCI does.
// Screenshots go to test/artifacts/.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { compileLmo, lmoToTr } from '../../openwrt/tools/lmo';
import { GUARD_DEFAULT } from '../../src/config/config';
import { parseConfigText } from '../../src/config/config-text';
import { parseUci } from '../../src/config/uci-file';
import { type Harness, type HarnessInput, RUNNING, rendered, STATUS_FILE, startHarness } from './harness-page';

const ROOT = join(__dirname, '..', '..');
const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const FIXTURE = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'status-hijacked.json'), 'utf8'));
const ZH_TR = lmoToTr(compileLmo(readFileSync(join(ROOT, 'luci-app', 'po', 'zh_Hans', 'replyguard.po'), 'utf8'))!);

/** UCI text → the harness's uci data ({ config: { sid: { '.type', '.name', opt: value } } }). */
function uciData(text: string) {
  const out: Record<string, Record<string, unknown>> = {};
  for (const s of parseUci(text, '/etc/config/replyguard')) {
    const sid = s.name ?? `cfg${Object.keys(out).length}`;
    const sec: Record<string, unknown> = { '.type': s.type, '.name': sid };
    for (const [k, o] of s.options) sec[k] = o.value;
    out[sid] = sec;
  }
  return { replyguard: out };
}

/** The harness's uci data → UCI text, as `uci commit` would write it. */
function uciText(data: Record<string, Record<string, unknown>>): string {
  const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  const lines: string[] = [];
  for (const sec of Object.values(data)) {
    lines.push('', `config ${sec['.type']} ${q(String(sec['.name']))}`);
    for (const [k, v] of Object.entries(sec)) {
      if (k.startsWith('.')) continue;
      if (Array.isArray(v)) for (const item of v) lines.push(`\tlist ${k} ${q(String(item))}`);
      else lines.push(`\toption ${k} ${q(String(v))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const DEFAULT_CONFIG = readFileSync(join(ROOT, 'openwrt', 'files', 'replyguard.config'), 'utf8');
const SETTINGS_CONFIG = `${DEFAULT_CONFIG}
config forward 'nas'
	option host '192.168.1.10'
	option port '443'
	option proto 'tcp'
	option wan_port '9443'
`;

const GUARD_APPLY = 'replyguard guard apply';

/** What `proxy_fix` holds for OpenClash (src/detector/rule-attribution.ts: proxyFixLines, then guardLines). */
const OPENCLASH_FIX = [
  "OpenClash: add a Lan Traffic Access List entry (插件设置 → 访问控制 → 来源流量访问控制, OpenClash ≥ 0.46.060) for the server's replies: uci add openclash lan_ac_traffic && uci set openclash.@lan_ac_traffic[-1].enabled='1' && uci set openclash.@lan_ac_traffic[-1].src_ip='192.168.50.10' && uci set openclash.@lan_ac_traffic[-1].src_port='443' && uci set openclash.@lan_ac_traffic[-1].proto='tcp' && uci set openclash.@lan_ac_traffic[-1].family='ipv4' && uci set openclash.@lan_ac_traffic[-1].target='return' && uci set openclash.@lan_ac_traffic[-1].comment='replyguard_nas' && uci commit openclash && /etc/init.d/openclash restart",
  "Or, in OpenClash redir-host mode, proxy only common ports (replies go to the client's ephemeral port, which a list of common ports leaves out): uci set openclash.config.common_ports='1' && uci commit openclash && /etc/init.d/openclash restart",
];

/** The lab's status plus the fields later daemon versions add, to see that they are shown. */
function withLaterFields(st: typeof FIXTURE) {
  const s = structuredClone(st);
  s.proxy = { name: 'OpenClash', mode: 'redir-host', redirect_port: 7892, chain: 'inet fw4 openclash' };
  s.ruleset = { backend: 'nftables', fingerprint: 'abc123' };
  s.sensors.probe = { state: 'running', packets: 12 };
  s.findings[0].rule = { text: 'tcp dport != 22 redirect to :7892', table: 'inet fw4', chain: 'openclash' };
  s.findings[0].proxy = 'OpenClash (fw4)';
  s.findings[0].proxy_fix = OPENCLASH_FIX;
  s.timeline = [
    { at: s.started_at, kind: 'started', text: 'replyguard started' },
    { at: s.findings[0].first_seen, kind: 'finding', text: 'Replies of 192.168.50.10:443 hijacked' },
  ];
  return s;
}

describe('luci-app-replyguard pages in Chromium', () => {
  let harness: Harness;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    harness = await startHarness();
  });
  after(async () => {
    await harness?.close();
  });

  const open = (view: string, input: HarnessInput): Promise<Page> => harness.open(view, input);
  const text = (page: Page, selector: string) => rendered(page.locator(selector));
  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });

  describe('Status', () => {
    it('shows the lab finding (server, fix), the forwards and the sensors, in English', async () => {
      const page = await open('replyguard/status', { fs: { [STATUS_FILE]: JSON.stringify(FIXTURE) }, rpc: RUNNING });
      const f = FIXTURE.findings[0];
      assert.equal(await page.getAttribute('#rg-banner', 'data-health'), 'problem');
      assert.match(await text(page, '#rg-banner'), /Health: Problem/);
      assert.match(await text(page, '#rg-banner'), /Replies of 192\.168\.50\.10:443 \(nas\) are being hijacked/);

      const card = page.locator(`.rg-finding[data-server="${f.server}"]`);
      assert.equal(await card.count(), 1);
      const cardText = await rendered(card);
      assert.match(cardText, /BROKEN: TCP 192\.168\.50\.10:443 \(forward 'nas'\)/);
      assert.match(cardText, /203\.0\.113\.50/);
      assert.match(cardText, /192\.168\.50\.2:7892/);
      assert.doesNotMatch(cardText, /Responsible rule/, 'no rule row when status.json has none');
      const fixes = await card.locator('.rg-fix-line').allInnerTexts();
      assert.deepEqual(fixes, f.fix);
      assert.equal(await card.locator('.rg-fix > button.rg-copy').getAttribute('data-copy'), f.fix.join('\n'));

      const rows = await page.locator('#rg-forwards tr').allInnerTexts();
      assert.ok(
        rows.some((r) => /nas\s+192\.168\.50\.10:443\s+TCP\s+9443\s+Replies hijacked/.test(r)),
        rows.join('\n'),
      );
      assert.ok(
        rows.some((r) => /wg\s+192\.168\.50\.10:51820\s+UDP\s+-\s+No replies seen yet/.test(r)),
        rows.join('\n'),
      );

      const sensors = await text(page, '#rg-sensors');
      assert.match(sensors, /Conntrack events\s+running/);
      assert.match(sensors, /Conntrack DESTROY events\s+running\s+events: 1, lost: 0, restarts: 0/);
      assert.match(sensors, /Probe\s+running\s+interval_s: 2/);
      assert.doesNotMatch(sensors, /MQTT/, 'MQTT is an output, not a sensor');
      assert.match(await text(page, '#rg-outputs'), /^Outputs\n[\s\S]*MQTT\s+disabled/);
      assert.equal(await page.locator('#rg-proxy').count(), 0);
      assert.equal(await page.locator('#rg-timeline').count(), 0);
      assert.equal(await page.locator('#save').count(), 0, 'a status page has no Save button');

      // The lab's guard: option off, no guard rules, the replies swallowed → the hint to turn it on.
      assert.equal(FIXTURE.guard.state, 'missing');
      const guard = await text(page, '#rg-guard');
      assert.match(guard, /^Guard\n/);
      assert.match(guard, /Mode\s+Off: only on command/);
      assert.match(guard, /State\s+Not in place: replies are swallowed/);
      assert.match(guard, /Details\s+the guard is not in place: replies are swallowed/);
      assert.match(guard, /Guard rules\s+0/);
      assert.match(guard, /Times applied\s+0/);
      assert.match(guard, /Last applied\s+never/);
      assert.doesNotMatch(guard, /Last error|Next attempt/);
      assert.equal(await page.getAttribute('#rg-guard .rg-badge', 'class'), 'rg-badge rg-bad');
      const hint = await text(page, '#rg-guard-hint');
      assert.match(
        hint,
        /Turn on "Keep the guard in place" in Settings → General → Guard, or add the guard rules once with:/,
      );
      assert.match(hint, /replyguard guard apply/);
      assert.equal(await page.getAttribute('#rg-guard-hint button.rg-copy', 'data-copy'), GUARD_APPLY);
      const sections = await page.locator('#rg-body > .cbi-section').evaluateAll((els) => els.map((e) => e.id));
      assert.deepEqual(sections, ['rg-findings', 'rg-forwards', 'rg-guard', 'rg-sensors', 'rg-outputs', 'rg-lan']);
      await shot(page, 'luci-status-en.png');
      await page.context().close();
    });

    it('shows the same in 简体中文 (translations from the compiled .lmo)', async () => {
      const page = await open('replyguard/status', {
        fs: { [STATUS_FILE]: JSON.stringify(FIXTURE) },
        rpc: RUNNING,
        TR: ZH_TR,
      });
      const banner = await text(page, '#rg-banner');
      assert.match(banner, /健康状态：故障/);
      assert.match(banner, /192\.168\.50\.10:443 \(nas\) 的回包正被本路由器劫持/);
      assert.match(await text(page, '#rg-findings h3'), /未解决的发现/);
      const card = await rendered(page.locator('.rg-finding'));
      assert.match(card, /故障: TCP 192\.168\.50\.10:443（转发 'nas'）/);
      assert.match(card, /修改建议/);
      assert.match(card, /对端\s+203\.0\.113\.50/);
      assert.match(card, /nft insert rule inet fw4 openclash/, 'the fix itself stays as the daemon wrote it');
      const rows = await page.locator('#rg-forwards tr').allInnerTexts();
      assert.ok(
        rows.some((r) => /nas.*回包被劫持/.test(r)),
        rows.join('\n'),
      );
      assert.match(await text(page, '#rg-recheck'), /立即重新检查/);
      assert.match(await text(page, '#rg-sensors'), /Conntrack 事件\s+运行中/);
      assert.match(await text(page, '#rg-sensors'), /Conntrack 连接结束（DESTROY）事件\s+运行中/);
      assert.match(await text(page, '#rg-outputs'), /^输出\n[\s\S]*MQTT\s+已禁用/);
      const guard = await text(page, '#rg-guard');
      assert.match(guard, /^守护规则\n/);
      assert.match(guard, /模式\s+关闭：仅在手动执行命令时添加/);
      assert.match(guard, /状态\s+未添加：回包正被吞掉/);
      assert.match(guard, /守护规则数\s+0/);
      assert.match(guard, /上次添加\s+从未/);
      assert.match(guard, /the guard is not in place/, "the daemon's summary stays as it wrote it");
      const hint = await text(page, '#rg-guard-hint');
      assert.match(hint, /在“设置 → 常规设置 → 守护规则”中开启“保持守护规则生效”/);
      assert.match(hint, /replyguard guard apply/);
      await shot(page, 'luci-status-zh_Hans.png');
      await page.context().close();
    });

    it('shows proxy, responsible rule, probe and timeline when status.json has them', async () => {
      const st = withLaterFields(FIXTURE);
      const page = await open('replyguard/status', { fs: { [STATUS_FILE]: JSON.stringify(st) }, rpc: RUNNING });
      assert.match(await text(page, '#rg-proxy'), /OpenClash/);
      assert.match(await text(page, '#rg-proxy'), /7892/);
      assert.match(await rendered(page.locator('.rg-finding')), /Responsible rule\s+tcp dport != 22 redirect to :7892/);
      assert.match(await text(page, '#rg-sensors'), /Probe\s+running\s+packets: 12/);

      // The proxy's own fix first, then the detector's generic lines, as `replyguard status` lists them.
      const card = page.locator('.rg-finding');
      assert.match(await text(page, '.rg-fix h5'), /What to change \(first the fixes for OpenClash \(fw4\)\)/);
      const fixes = await card.locator('.rg-fix-line').allInnerTexts();
      assert.deepEqual(fixes, [...OPENCLASH_FIX, ...st.findings[0].fix]);
      const kinds = await card.locator('.rg-fix li').evaluateAll((els) => els.map((e) => e.className));
      assert.deepEqual(kinds, [
        ...OPENCLASH_FIX.map(() => 'rg-fix-proxy'),
        ...st.findings[0].fix.map(() => 'rg-fix-generic'),
      ]);
      assert.equal(await card.locator('.rg-fix li').count(), await card.locator('.rg-fix li button.rg-copy').count());
      assert.equal(await card.locator('.rg-fix li button.rg-copy').first().getAttribute('data-copy'), OPENCLASH_FIX[0]);
      assert.equal(
        await card.locator('.rg-fix > button.rg-copy').getAttribute('data-copy'),
        [...OPENCLASH_FIX, ...st.findings[0].fix].join('\n'),
      );
      const timeline = await text(page, '#rg-timeline');
      assert.match(timeline, /replyguard started/);
      assert.ok(timeline.indexOf('hijacked') < timeline.indexOf('replyguard started'), 'newest first');
      await shot(page, 'luci-status-later-fields-en.png');
      await page.context().close();
    });

    it('shows a proxy_fix given as one string, and a finding without proxy_fix as before', async () => {
      const st = withLaterFields(FIXTURE);
      st.findings[0].proxy_fix = OPENCLASH_FIX[0];
      delete st.findings[0].proxy;
      const page = await open('replyguard/status', { fs: { [STATUS_FILE]: JSON.stringify(st) }, rpc: RUNNING });
      assert.match(await text(page, '.rg-fix h5'), /first the fixes for this proxy/);
      assert.deepEqual(await page.locator('.rg-finding .rg-fix-line').allInnerTexts(), [
        OPENCLASH_FIX[0],
        ...st.findings[0].fix,
      ]);

      st.findings[0].proxy_fix = [];
      await page.evaluate(`window.__setFile(${JSON.stringify(STATUS_FILE)}, ${JSON.stringify(JSON.stringify(st))})`);
      await page.evaluate('window.__pollTick()');
      assert.equal(await text(page, '.rg-fix h5'), 'What to change');
      assert.deepEqual(await page.locator('.rg-finding .rg-fix-line').allInnerTexts(), st.findings[0].fix);
      await page.context().close();
    });

    it('an eBPF program before netfilter: the sensor row says blind spot and names it; the banner is the headline', async () => {
      const st = structuredClone(FIXTURE) as typeof FIXTURE & { sensors: Record<string, unknown> };
      st.sensors.ebpf = {
        state: 'running',
        way: 'tc',
        hooks: [{ interface: 'br-lan', program: 'dae_lan_ingress_l2', proxy: 'dae', blind: true }],
      };
      st.findings = [];
      st.health = 'degraded';
      st.headline =
        "Not watching everything: eBPF before netfilter: dae's dae_lan_ingress_l2 on br-lan ingress. Replies it takes never reach conntrack, the ruleset or the probe, so replyguard cannot see them.";
      const page = await open('replyguard/status', { fs: { [STATUS_FILE]: JSON.stringify(st) }, rpc: RUNNING });
      assert.match(
        await text(page, '#rg-sensors'),
        /eBPF before netfilter\s+blind spot\s+way: tc, dae: dae_lan_ingress_l2 @ br-lan/,
      );
      assert.match(
        await text(page, 'body'),
        /Not watching everything: eBPF before netfilter: dae's dae_lan_ingress_l2/,
      );
      await page.context().close();
    });

    it('with `fixes` (newer daemons): the generic lines the ruleset made redundant are not shown', async () => {
      const st = withLaterFields(FIXTURE);
      const generic = st.findings[0].fix as string[];
      st.findings[0].fixes = [...OPENCLASH_FIX, generic[generic.length - 1]];
      const page = await open('replyguard/status', { fs: { [STATUS_FILE]: JSON.stringify(st) }, rpc: RUNNING });
      assert.deepEqual(await page.locator('.rg-finding .rg-fix-line').allInnerTexts(), [
        ...OPENCLASH_FIX,
        generic[generic.length - 1],
      ]);
      await page.context().close();
    });

    it('Guard: the daemon keeping it (auto), its error and next attempt; no section for older status files', async () => {
      const now = Date.now();
      const st = structuredClone(FIXTURE);
      st.guard = {
        mode: 'auto',
        state: 'missing',
        summary: 'the guard is not in place: replies are swallowed',
        rules: 0,
        applies: 2,
        last_apply: new Date(now - 600_000).toISOString(),
        last_error: 'nft: Error: No such file or directory; list chain inet fw4 openclash',
        retry_at: new Date(now + 1_800_000).toISOString(),
      };
      const page = await open('replyguard/status', { fs: { [STATUS_FILE]: JSON.stringify(st) }, rpc: RUNNING });
      let guard = await text(page, '#rg-guard');
      assert.match(guard, /Mode\s+Automatic: replyguard keeps it in place/);
      assert.match(guard, /Times applied\s+2/);
      assert.match(guard, /Last applied\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(10 min ago\)/);
      assert.match(guard, /Last error\s+nft: Error: No such file or directory/);
      assert.match(guard, /Next attempt\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in 30 min\)/);
      const color = await page.evaluate(`getComputedStyle(document.querySelector('#rg-guard .rg-error')).color`);
      assert.equal(color, 'rgb(169, 68, 66)', 'the error is red');
      assert.equal(await page.locator('#rg-guard-hint').count(), 0, 'no hint when the daemon keeps the guard');
      await shot(page, 'luci-status-guard-auto-en.png');

      const states: [string, RegExp, string][] = [
        ['in_place', /In place and effective/, 'rg-ok'],
        ['ineffective', /In place but not effective: replies are still swallowed/, 'rg-bad'],
        ['not_needed', /Not needed: no reply would be swallowed/, 'rg-neutral'],
        ['no_forwards', /No forwards declared/, 'rg-neutral'],
        ['unknown', /Not read yet/, 'rg-neutral'],
      ];
      for (const [state, words, kind] of states) {
        const doc = structuredClone(st);
        doc.guard = { mode: 'off', state, summary: state, rules: 1, applies: 0, last_apply: null };
        await page.evaluate(`window.__setFile(${JSON.stringify(STATUS_FILE)}, ${JSON.stringify(JSON.stringify(doc))})`);
        await page.evaluate('window.__pollTick()');
        guard = await text(page, '#rg-guard');
        assert.match(guard, new RegExp(`State\\s+${words.source}`), state);
        assert.doesNotMatch(guard, /Last error|Next attempt/, state);
        assert.equal(await page.getAttribute('#rg-guard .rg-badge', 'class'), `rg-badge ${kind}`, state);
        assert.equal(await page.locator('#rg-guard-hint').count(), 0, `no hint for ${state}`);
      }

      const old = structuredClone(FIXTURE);
      delete old.guard;
      await page.evaluate(`window.__setFile(${JSON.stringify(STATUS_FILE)}, ${JSON.stringify(JSON.stringify(old))})`);
      await page.evaluate('window.__pollTick()');
      assert.equal(await page.locator('#rg-forwards').count(), 1);
      assert.equal(await page.locator('#rg-guard').count(), 0, 'a status file without guard shows no Guard section');
      await page.context().close();
    });

    it('follows the status file without a reload, and "Re-check now" asks the service to re-check', async () => {
      const page = await open('replyguard/status', { fs: { [STATUS_FILE]: JSON.stringify(FIXTURE) }, rpc: RUNNING });
      const polls = await page.evaluate('window.__polls.length');
      assert.equal(polls, 1);
      const healed = structuredClone(FIXTURE);
      healed.health = 'ok';
      healed.findings = healed.findings.map((f: { state: string }) => ({ ...f, state: 'resolved' }));
      healed.forwards[0].status = 'ok';
      await page.evaluate(
        `window.__setFile(${JSON.stringify(STATUS_FILE)}, ${JSON.stringify(JSON.stringify(healed))})`,
      );
      await page.evaluate('window.__pollTick()');
      assert.equal(await page.getAttribute('#rg-banner', 'data-health'), 'ok');
      assert.match(await text(page, '#rg-findings'), /No open findings/);
      assert.match(await text(page, '#rg-findings'), /Resolved findings \(1\)/);

      await page.click('#rg-recheck');
      await page.waitForFunction('window.__execCalls.length > 0');
      const calls = await page.evaluate('window.__execCalls');
      assert.deepEqual(calls, [['/etc/init.d/replyguard', 'recheck']]);
      await page.context().close();
    });

    it('copies a fix line to the clipboard', async () => {
      const page = await open('replyguard/status', { fs: { [STATUS_FILE]: JSON.stringify(FIXTURE) }, rpc: RUNNING });
      const button = page.locator('.rg-fix li button.rg-copy').first();
      await button.click();
      await page.waitForFunction(`document.querySelector('.rg-fix li button.rg-copy').textContent === 'Copied'`);
      const clip = await page.evaluate('navigator.clipboard.readText()');
      assert.equal(clip, FIXTURE.findings[0].fix[0]);

      await page.click('#rg-guard-hint button.rg-copy');
      await page.waitForFunction(`document.querySelector('#rg-guard-hint button.rg-copy').textContent === 'Copied'`);
      assert.equal(await page.evaluate('navigator.clipboard.readText()'), GUARD_APPLY);
      await page.context().close();
    });

    it('shows what status.json says as text, never as markup', async () => {
      const evil = structuredClone(FIXTURE);
      const html = '<img src=x onerror="window.__pwned=1"><b>bold</b>';
      evil.findings[0].summary = html;
      evil.findings[0].fix = [html];
      evil.forwards[0].name = html;
      evil.headline = html;
      evil.health = 'degraded';
      const page = await open('replyguard/status', { fs: { [STATUS_FILE]: JSON.stringify(evil) }, rpc: RUNNING });
      assert.equal(await page.locator('#view img, #view b').count(), 0);
      assert.match(await text(page, '.rg-summary'), /<img src=x/);
      assert.match(await text(page, '#rg-banner'), /<b>bold<\/b>/);
      assert.equal(await page.evaluate('window.__pwned'), undefined);
      await page.context().close();
    });

    it('says so when there is no status file and the service is not running', async () => {
      const page = await open('replyguard/status', { fs: {}, rpc: { 'service.list': {} } });
      assert.equal(await page.getAttribute('#rg-banner', 'data-health'), 'none');
      assert.match(await text(page, '#rg-banner'), /No status yet/);
      assert.match(await text(page, '#rg-banner'), /\/etc\/init\.d\/replyguard start/);
      assert.equal(await page.locator('#rg-forwards').count(), 0);
      await page.context().close();
    });
  });

  describe('Settings', () => {
    const uciOf = (page: Page) =>
      page.evaluate('window.__uciData') as Promise<Record<string, Record<string, Record<string, unknown>>>>;
    const changesOf = (page: Page) => page.evaluate('window.__uciChanges') as Promise<unknown[][]>;

    it('offers general (with probe and guard), MQTT (password hidden) and forwards, and nothing the daemon would reject', async () => {
      const page = await open('replyguard/settings', { uci: uciData(SETTINGS_CONFIG) });
      const sections = await page.locator('.cbi-map > .cbi-section > h3').allInnerTexts();
      assert.deepEqual(sections, ['General', 'MQTT', 'Forwards']);
      assert.equal(await page.getAttribute('#cbid\\.replyguard\\.mqtt\\.password', 'type'), 'password');
      const ids = await page.locator('[id^="cbid.replyguard."]').evaluateAll((els) => els.map((e) => e.id));
      const options = new Set(ids.map((id) => id.split('.').slice(2).join('.')));
      for (const o of options) {
        const [sid, opt] = o.split('.');
        const type = sid === 'main' ? 'main' : sid === 'mqtt' ? 'mqtt' : 'forward';
        // Every option the page can write passes the daemon's parser (with a valid value).
        const sample: Record<string, string> = {
          lan_interfaces: 'br-lan',
          lan_subnets: '192.168.1.0/24',
          problem_hold: '900',
          log_level: 'info',
          state_dir: '/var/run/replyguard',
          status_interval: '30',
          conntrack_buffer: '4194304',
          max_findings: '256',
          max_flows: '8192',
          probe: 'auto',
          probe_interval: '2',
          guard: 'auto',
          enabled: '0',
          url: 'mqtt://192.168.1.5',
          username: 'u',
          password: 'p',
          ca_file: '/etc/ca.pem',
          insecure: '0',
          client_id: 'rg',
          discovery_prefix: 'homeassistant',
          base_topic: 'replyguard',
          node_id: 'router',
          retain: '1',
          host: '192.168.1.10',
          port: '443',
          proto: 'tcp',
          wan_port: '9443',
        };
        assert.ok(opt && sample[opt] !== undefined, `no sample for ${o}`);
        const extra = type === 'forward' ? "\toption host '192.168.1.10'\n\toption port '443'\n" : '';
        const text = `config ${type} '${sid}'\n${extra}\toption ${opt} '${sample[opt!]}'\n`;
        assert.doesNotThrow(() => parseConfigText(text, '/etc/config/replyguard'), `${o} is rejected by the daemon`);
      }
      assert.ok(options.has('main.probe') && options.has('main.probe_interval'));
      const tabs = await page
        .locator('#cbi-replyguard-main .cbi-tab')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-tab-title')));
      assert.deepEqual(tabs, ['General', 'Probe', 'Guard', 'Advanced']);
      const guardTab = page.locator('#cbi-replyguard-main .cbi-tab[data-tab="guard"]');
      assert.deepEqual(await guardTab.locator('[id^="cbid.replyguard."]').evaluateAll((els) => els.map((e) => e.id)), [
        'cbid.replyguard.main.guard',
      ]);
      assert.equal(await guardTab.locator('.cbi-value-title').textContent(), 'Keep the guard in place (guard = auto)');
      const descr = (await guardTab.locator('.cbi-value-description').textContent()) ?? '';
      assert.match(descr, /exempt only the replies of the declared forwards' servers from the transparent proxy/);
      assert.match(descr, /when the proxy restarts or the firewall reloads/);
      assert.match(descr, /removes them when switched off/);
      assert.match(descr, /LAN devices' own connections are still proxied/);
      assert.match(descr, /Forwards tab/);
      assert.match(descr, /replyguard guard apply/);
      assert.equal(await page.isChecked('#cbid\\.replyguard\\.main\\.guard'), false, 'absent means off');
      await shot(page, 'luci-settings-en.png');
      await page.context().close();
    });

    it('editing a forward produces the expected UCI changes, and the result parses', async () => {
      const page = await open('replyguard/settings', { uci: uciData(SETTINGS_CONFIG) });
      await page.fill('#cbid\\.replyguard\\.nas\\.host', '192.168.1.20');
      await page.selectOption('#cbid\\.replyguard\\.nas\\.proto', 'udp');
      await page.fill('#cbid\\.replyguard\\.nas\\.wan_port', '');
      await page.click('#save');
      assert.deepEqual(await changesOf(page), [
        ['set', 'nas', 'host', '192.168.1.20'],
        ['set', 'nas', 'proto', 'udp'],
        ['unset', 'nas', 'wan_port'],
      ]);
      const config = parseConfigText(uciText((await uciOf(page)).replyguard!), '/etc/config/replyguard');
      assert.deepEqual(config.forwards, [{ name: 'nas', host: '192.168.1.20', port: 443, proto: 'udp' }]);
      assert.equal(config.mqtt.enabled, false);
      await page.context().close();
    });

    it('the guard toggle writes guard=auto, and unticking it goes back to off', async () => {
      const page = await open('replyguard/settings', { uci: uciData(SETTINGS_CONFIG) });
      const toggle = '#cbid\\.replyguard\\.main\\.guard';
      await page.check(toggle);
      await page.click('#save');
      assert.deepEqual(await changesOf(page), [['set', 'main', 'guard', 'auto']]);
      let config = parseConfigText(uciText((await uciOf(page)).replyguard!), '/etc/config/replyguard');
      assert.equal(config.main.guard, 'auto');
      assert.equal(await page.isChecked(toggle), true, 'shown as on after saving');

      // Unticking removes the option, as LuCI does for a Flag at its default: absent reads as off.
      await page.uncheck(toggle);
      await page.click('#save');
      assert.deepEqual((await changesOf(page)).slice(1), [['unset', 'main', 'guard']]);
      config = parseConfigText(uciText((await uciOf(page)).replyguard!), '/etc/config/replyguard');
      assert.equal(config.main.guard ?? GUARD_DEFAULT, 'off');
      assert.equal(await page.isChecked(toggle), false);
      await page.context().close();

      // A config that says guard 'auto' shows the toggle on, and saving without touching it changes nothing.
      const auto = SETTINGS_CONFIG.replace("config main 'main'\n", "config main 'main'\n\toption guard 'auto'\n");
      assert.notEqual(auto, SETTINGS_CONFIG);
      const page2 = await open('replyguard/settings', { uci: uciData(auto) });
      assert.equal(await page2.isChecked(toggle), true);
      await page2.click('#save');
      assert.deepEqual(await changesOf(page2), []);
      await page2.uncheck(toggle);
      await page2.click('#save');
      assert.deepEqual(await changesOf(page2), [['unset', 'main', 'guard']]);
      await page2.context().close();
    });

    it('adds forwards only as named sections with valid names', async () => {
      const page = await open('replyguard/settings', { uci: uciData(SETTINGS_CONFIG) });
      const add = async (name: string) => {
        await page.fill('.cbi-tblsection .cbi-section-create-name', name);
        await page.locator('.cbi-tblsection .cbi-section-create-name').dispatchEvent('keyup');
        await page.click('.cbi-tblsection .cbi-button-add');
      };
      await add('bad-name');
      await add('x'.repeat(33));
      await add('nas');
      assert.deepEqual(await changesOf(page), []);
      const notes = (await page.evaluate('window.__notifications')) as { text: string }[];
      assert.equal(notes.length, 2, JSON.stringify(notes));
      assert.match(notes[0]!.text, /1-32 letters/);
      assert.match(notes[1]!.text, /already a section named "nas"/);

      await add('game');
      assert.deepEqual(await changesOf(page), [['add', 'forward', 'game']]);
      // A new forward cannot be saved without host and port.
      await page.click('#save');
      assert.equal((await uciOf(page)).replyguard!.game!.host, undefined);
      await page.fill('#cbid\\.replyguard\\.game\\.host', 'fd00::20');
      await page.fill('#cbid\\.replyguard\\.game\\.port', '27015');
      await page.selectOption('#cbid\\.replyguard\\.game\\.proto', 'udp');
      await page.click('#save');
      const config = parseConfigText(uciText((await uciOf(page)).replyguard!), '/etc/config/replyguard');
      assert.deepEqual(
        config.forwards.map((f) => [f.name, f.host, f.port, f.proto]),
        [
          ['nas', '192.168.1.10', 443, 'tcp'],
          ['game', 'fd00::20', 27015, 'udp'],
        ],
      );
      await page.context().close();
    });

    it('is in 简体中文 too', async () => {
      const page = await open('replyguard/settings', { uci: uciData(SETTINGS_CONFIG), TR: ZH_TR });
      const sections = await page.locator('.cbi-map > .cbi-section > h3').allInnerTexts();
      assert.deepEqual(sections, ['常规设置', 'MQTT', '端口转发']);
      assert.match(await text(page, '.cbi-tblsection'), /服务器地址/);
      const guardTab = page.locator('#cbi-replyguard-main .cbi-tab[data-tab="guard"]');
      assert.equal(await guardTab.getAttribute('data-tab-title'), '守护规则');
      assert.equal(await guardTab.locator('.cbi-value-title').textContent(), '保持守护规则生效（guard = auto）');
      assert.match((await guardTab.locator('.cbi-value-description').textContent()) ?? '', /透明代理/);
      await shot(page, 'luci-settings-zh_Hans.png');
      await page.context().close();
    });
  });
});
