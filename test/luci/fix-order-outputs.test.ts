// One finding, one list of fixes, one order, wherever it is shown: a probe-found hijack (TUN takes the
// SYN-ACK, so conntrack sees nothing and the replies go nowhere the detector can name) made by the real
// detector, attributed on the golden OpenClash TUN ruleset, written as status.json, then read back by
// `replyguard status` (text and --json), rendered by LuCI's status view in Chromium, and turned into the
// MQTT payloads Home Assistant reads — whose "Proxy detected" names OpenClash, as the attribution did.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { ForwardConfig } from '../../src/config/config';
import { Detector } from '../../src/detector/detector';
import { makeLanView } from '../../src/detector/lan-view';
import { attributeFinding } from '../../src/detector/rule-attribution';
import { stateMessages } from '../../src/mqtt/mqtt-state';
import { Topics } from '../../src/mqtt/mqtt-topics';
import { STATUS_FILE as STATUS_NAME } from '../../src/outputs/status-file';
import type { ProbeFlowCount } from '../../src/probe/probe-sample';
import { recognizeProxies } from '../../src/ruleset/recognize-proxy';
import { makeSnapshot } from '../../src/ruleset/ruleset-snapshot';
import { readDumpDir } from '../../src/sensors/ruleset-reader';
import { buildStatus } from '../../src/status/status-document';
import type { StatusDocument } from '../../src/status/status-schema';
import { type Harness, RUNNING, STATUS_FILE, startHarness } from './harness-page';

const ROOT = join(__dirname, '..', '..');
const FORWARDS: ForwardConfig[] = [{ name: 'nas', host: '192.168.1.10', port: 443, proto: 'tcp', wanPort: 9443 }];
const T0 = Date.parse('2026-11-25T00:00:00Z');

/** The status document the daemon writes for the hijack: detector → attribution → buildStatus. */
function hijackStatus(): StatusDocument {
  const view = makeLanView(['192.168.1.0/24'], ['192.168.1.2'], FORWARDS, 'config');
  const d = new Detector(view, { maxFindings: 8, maxFlows: 64, problemHoldMs: 900_000 });
  const flow: ProbeFlowCount = {
    proto: 'tcp',
    server: '192.168.1.10',
    serverPort: 443,
    peer: '93.184.216.34',
    peerPort: 40000,
    in: 12,
    out: 0,
  };
  // Two readings of the same deficit: the replies are confirmed swallowed.
  d.ingestProbe({ at: T0, generation: 1, flows: [flow], inFull: false, outFull: false });
  d.ingestProbe({ at: T0 + 300, generation: 1, flows: [flow], inFull: false, outFull: false });
  const snapshot = makeSnapshot(readDumpDir(join(ROOT, 'test', 'golden', 'rulesets', 'openclash-fw4-tun')));
  const proxies = recognizeProxies(snapshot.ruleset);
  const findings = d.findings(T0 + 300).map((f) => attributeFinding(f, snapshot, proxies));
  return buildStatus({
    version: '0.0.0',
    nodeId: 'OpenWrt-side',
    startedAt: T0,
    now: T0 + 1000,
    conntrack: { state: 'running', events: 0, lost: 0, resyncs: 0, restarts: 0, parse_errors: 0 },
    lostRecently: false,
    lan: { interfaces: ['br-lan'], subnets: ['192.168.1.0/24'], source: 'config', router_addresses: ['192.168.1.2'] },
    forwards: FORWARDS,
    findings,
    counters: d.counters(),
    problemHoldS: 900,
  });
}

/** `replyguard status` from the source tree, on a state directory holding the document. */
async function cliStatus(stateDir: string, json: boolean): Promise<string> {
  const args = ['--import', 'tsx', join(ROOT, 'src', 'main.ts'), 'status', '--state-dir', stateDir];
  if (json) args.push('--json');
  try {
    await promisify(execFile)(process.execPath, args, { cwd: ROOT });
    assert.fail('status exits 2 on a problem');
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    assert.equal(e.code, 2, String(err));
    return e.stdout ?? '';
  }
}

/** The numbered lines under "What to change" of the one finding. */
function cliFixLines(text: string): string[] {
  const lines = text.split('\n');
  const from = lines.findIndex((l) => l.startsWith('  What to change'));
  assert.ok(from >= 0, text);
  const out: string[] = [];
  for (const l of lines.slice(from + 1)) {
    const m = /^ {4}(\d+)\. (.*)$/.exec(l);
    if (!m) break;
    assert.equal(Number(m[1]), out.length + 1);
    out.push(m[2]!);
  }
  return out;
}

describe('one finding, the same fixes in the same order: CLI, status.json, LuCI, MQTT', () => {
  let harness: Harness;
  let stateDir: string;
  const doc = hijackStatus();
  const finding = doc.findings[0]!;
  const typed = finding.typed_fixes ?? [];
  const texts = typed.map((f) => f.text);

  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'rg-fix-order-'));
    writeFileSync(join(stateDir, STATUS_NAME), JSON.stringify(doc));
    harness = await startHarness();
  });
  after(async () => {
    await harness?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('the finding: probe-found, attributed to OpenClash, typed fixes led by its own setting', () => {
    assert.equal(doc.findings.length, 1);
    assert.equal(finding.kind, 'reply_hijacked');
    assert.equal(finding.diverted_to, undefined, 'the probe cannot say where the replies went');
    assert.equal(finding.proxy, 'OpenClash (fw4)');
    assert.deepEqual(
      typed.map((f) => `${f.kind} ${f.proxy} ${f.basis}`),
      [
        'proxy_setting openclash ruleset',
        'proxy_setting openclash ruleset',
        'mangle_guard openclash ruleset',
        'replyguard_guard none detector',
        'gateway none detector',
      ],
    );
    const entry = typed[0]!;
    assert.deepEqual(entry.uci?.[0], { op: 'add', config: 'openclash', section: 'lan_ac_traffic' });
    assert.ok(entry.uci?.some((c) => c.option === 'src_ip' && c.value === '192.168.1.10'));
    assert.deepEqual(entry.command?.slice(-2), ['uci commit openclash', '/etc/init.d/openclash restart']);
    assert.deepEqual(entry.applies, { family: 'ipv4', proxy_versions: '≥ 0.46.060' });
    assert.ok(typed[2]!.command?.every((c) => c.startsWith('nft insert rule inet fw4 openclash_mangle ')));
    assert.deepEqual(finding.fixes, texts, 'the plain text for older readers, in the same order');
  });

  it('replyguard status (text) lists them in that order', async () => {
    assert.deepEqual(cliFixLines(await cliStatus(stateDir, false)), texts);
  });

  it('replyguard status --json carries them typed, in that order', async () => {
    const read = JSON.parse(await cliStatus(stateDir, true)) as StatusDocument;
    assert.deepEqual(read.findings[0]?.typed_fixes, typed);
  });

  it("LuCI's status view renders them in that order", async () => {
    const page = await harness.open('replyguard/status', { fs: { [STATUS_FILE]: JSON.stringify(doc) }, rpc: RUNNING });
    const card = page.locator('.rg-finding');
    assert.deepEqual(await card.locator('.rg-fix-line').allInnerTexts(), texts);
    const items = await card
      .locator('.rg-fix li')
      .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-kind')} ${e.className}`));
    assert.deepEqual(
      items,
      typed.map((f) => `${f.kind} ${f.basis === 'ruleset' ? 'rg-fix-proxy' : 'rg-fix-generic'}`),
    );
    assert.match((await card.allInnerTexts())[0] ?? '', /Proxy\s+OpenClash \(fw4\)/);
    await page.context().close();
  });

  it('MQTT: the findings attributes hold them in that order, and "Proxy detected" is OpenClash', () => {
    const topics = new Topics({ discoveryPrefix: 'homeassistant', baseTopic: 'replyguard', nodeId: 'OpenWrt-side' });
    const msgs = new Map(stateMessages(doc, topics).map((m) => [m.topic, m.payload]));
    const attrs = JSON.parse(msgs.get(topics.findings)!) as {
      findings: Array<{ fix: string; fixes: Array<{ kind: string; proxy: string }>; proxy: string }>;
    };
    const f = attrs.findings[0]!;
    assert.equal(f.fix, texts[0]);
    assert.deepEqual(
      f.fixes,
      typed.map((x) => ({ kind: x.kind, proxy: x.proxy })),
    );
    assert.equal(f.proxy, 'OpenClash (fw4)');
    const state = JSON.parse(msgs.get(topics.state)!) as { proxy: string };
    assert.equal(state.proxy, 'OpenClash (fw4)');
  });
});
