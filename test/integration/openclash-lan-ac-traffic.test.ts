// The OpenClash fix replyguard prints — a Lan Traffic Access List entry (uci section lan_ac_traffic) —
// put through OpenClash's own string handling (test/helpers/openclash-lan-ac.ts: the rule built from the
// entry's options as one string and expanded unquoted, in the releases users run; the one for the proxy's
// chain and the one for openclash_post) and then through the real nft and iptables in a throwaway namespace. native-fixes.test.ts shows the same rule repairing the
// lab's forward.
// The fix's options are read back from the very text replyguard prints (attribution on the golden
// OpenClash fixture, and `guard plan`'s native alternative). A rule nft accepts in OpenClash's chain is
// also walked through replyguard's model: with it, the server's mid-stream ACK passes.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Finding } from '../../src/detector/finding';
import { attributeFinding, evaluateReply, proxyFixes } from '../../src/detector/rule-attribution';
import { planGuard } from '../../src/guard/guard-plan';
import { splitEndpoint } from '../../src/net/ip-address';
import { recognizeProxies } from '../../src/ruleset/recognize-proxy';
import { makeSnapshot } from '../../src/ruleset/ruleset-snapshot';
import { readDumpDir } from '../../src/sensors/ruleset-reader';
import { FIXTURES } from '../golden/rulesets/fixtures';
import { type Entry, entriesOf, iptArgv, nftArgv } from '../helpers/openclash-lan-ac';

const GOLDEN = join(__dirname, '..', 'golden', 'rulesets');
const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;
const NS = `rgoclac${process.pid}`;

function inNs(argv: string[], input?: string) {
  return spawnSync('ip', ['netns', 'exec', NS, ...argv], { input, encoding: 'utf8', env: { ...process.env, PATH } });
}

function ok(argv: string[], input?: string): string {
  const r = inNs(argv, input);
  assert.equal(r.status, 0, `${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** OpenClash's chains as the fixture has them (inet fw4 …), plus its v6 and iptables chains. */
function reset(): void {
  inNs(['nft', 'flush', 'ruleset']);
  for (const t of ['iptables', 'ip6tables'])
    for (const table of ['nat', 'mangle']) inNs([t, '-t', table, '-F'], undefined);
  for (const t of ['iptables', 'ip6tables'])
    for (const table of ['nat', 'mangle']) {
      inNs([t, '-t', table, '-X']);
      ok([t, '-t', table, '-N', 'openclash']);
    }
  // Bypass Gateway Compatible's masquerade chain, which every entry also goes into.
  for (const t of ['iptables', 'ip6tables']) ok([t, '-t', 'nat', '-N', 'openclash_post']);
  ok(['nft', '-f', '-'], FIXTURES.find((f) => f.name === 'openclash-fw4-fakeip')!.nft!);
  ok([
    'nft',
    'add chain inet fw4 openclash_v6; add chain inet fw4 openclash_mangle_v6; add chain inet fw4 openclash_post; add chain inet fw4 openclash_post_v6',
  ]);
}

function hijack(server: string, port: number, proto: 'tcp' | 'udp', forward?: string): Finding {
  return {
    id: `hijack-${proto}-${server}-${port}`,
    kind: 'reply_hijacked',
    severity: 'problem',
    state: 'active',
    proto,
    server: server.includes(':') ? `[${server}]:${port}` : `${server}:${port}`,
    ...(forward ? { forward } : {}),
    peers: [server.includes(':') ? '2606:4700::1' : '93.184.216.34'],
    count: 1,
    first_seen: '2026-11-25T00:00:00.000Z',
    last_seen: '2026-11-25T00:00:00.000Z',
    summary: 's',
    evidence: ['e'],
    fix: [],
  };
}

const GOLDEN_OC = () => readDumpDir(join(GOLDEN, 'openclash-fw4-fakeip'));

/**
 * The lan_ac_traffic fix line replyguard prints for this finding on the OpenClash fixture. The fixture
 * has no IPv6 rules, so an IPv6 server's line comes from the same fix writer fed the IPv4 walk.
 */
function printedEntry(f: Finding): Entry {
  const s = makeSnapshot(GOLDEN_OC());
  const proxies = recognizeProxies(s.ruleset);
  let lines: string[];
  if (f.server.startsWith('[')) {
    const r = evaluateReply(
      s,
      { proto: f.proto, server: '192.168.1.10', port: 443, peer: '93.184.216.34', peerPort: 40000 },
      proxies,
    );
    assert.ok(typeof r !== 'string' && r.proxy);
    const ep = splitEndpoint(f.server)!;
    lines = proxyFixes(r.proxy, r, ep.ip, ep.port, f.proto, f.forward).map((x) => x.text);
  } else lines = attributeFinding(f, s, proxies).fixes ?? [];
  const line = lines.find((l) => l.includes('lan_ac_traffic'));
  assert.ok(line, 'no lan_ac_traffic fix printed');
  const [e] = entriesOf(line);
  assert.ok(e);
  return e;
}

const CASES: { what: string; finding: Finding }[] = [
  { what: 'forward nas, TCP', finding: hijack('192.168.1.10', 443, 'tcp', 'nas') },
  { what: 'no forward name, TCP', finding: hijack('192.168.1.10', 443, 'tcp') },
  { what: 'forward wg, UDP', finding: hijack('192.168.1.10', 51820, 'udp', 'wg') },
  { what: 'IPv6 server, TCP', finding: hijack('fd00:1::10', 8443, 'tcp') },
];

describe('OpenClash lan_ac_traffic fix through OpenClash string handling and the real nft/iptables', () => {
  before(() => {
    execFileSync('ip', ['netns', 'add', NS], { env: { ...process.env, PATH } });
  });
  after(() => {
    spawnSync('ip', ['netns', 'del', NS], { env: { ...process.env, PATH } });
  });

  for (const { what, finding } of CASES) {
    for (const release of ['0.47.071', '0.47.055'] as const) {
      it(`${what}: OpenClash ${release} builds a rule nft and ${finding.server.startsWith('[') ? 'ip6tables' : 'iptables'} accept, with the comment intact`, () => {
        reset();
        const e = printedEntry(finding);
        assert.equal(e.enabled, '1');
        assert.equal(e.target, 'return');
        ok(nftArgv(e, release));
        const chain = `openclash${e.proto === 'udp' ? '_mangle' : ''}${e.family === 'ipv6' ? '_v6' : ''}`;
        const first = ok(['nft', 'list', 'chain', 'inet', 'fw4', chain]).split('\n')[2] ?? '';
        assert.ok(first.includes(`sport ${e.src_port} `), first);
        assert.ok(first.includes(`saddr ${e.src_ip} `), first);
        assert.ok(first.endsWith(`return comment "${e.comment}"`), first);
        ok(iptArgv(e, release));
        const saved = ok([
          e.family === 'ipv6' ? 'ip6tables-save' : 'iptables-save',
          '-t',
          e.proto === 'udp' ? 'mangle' : 'nat',
        ]);
        const rule = saved.split('\n').find((l) => l.startsWith('-A openclash ')) ?? '';
        assert.ok(rule.startsWith(`-A openclash -s ${e.src_ip}/`), rule);
        assert.ok(rule.includes(`--sport ${e.src_port} `), rule);
        // iptables-save quotes a comment with a dot in it.
        assert.ok(rule.replace(/"/g, '').endsWith(`--comment ${e.comment} -j RETURN`), rule);
        // The same entry in openclash_post (Bypass Gateway Compatible's masquerade chain).
        const v6 = e.family === 'ipv6' ? '_v6' : '';
        ok(nftArgv(e, release, 'post'));
        const post = ok(['nft', 'list', 'chain', 'inet', 'fw4', `openclash_post${v6}`]).split('\n')[2] ?? '';
        assert.ok(post.includes(`${e.proto} sport ${e.src_port} `), post);
        assert.ok(post.endsWith(`return comment "${e.comment}"`), post);
        ok(iptArgv(e, release, 'post'));
        const nat = ok([e.family === 'ipv6' ? 'ip6tables-save' : 'iptables-save', '-t', 'nat']);
        const postRule = nat.split('\n').find((l) => l.startsWith('-A openclash_post ')) ?? '';
        assert.ok(postRule.startsWith(`-A openclash_post -s ${e.src_ip}/`), postRule);
        assert.ok(postRule.replace(/"/g, '').endsWith(`--comment ${e.comment} -j RETURN`), postRule);
      });
    }
  }

  it('the test can fail: the comment replyguard used to print is rejected by OpenClash 0.47.071 (nft and iptables)', () => {
    reset();
    const e = { ...printedEntry(CASES[0]!.finding), comment: 'replyguard: replies of nas' };
    assert.notEqual(inNs(nftArgv(e, '0.47.071')).status, 0);
    assert.notEqual(inNs(iptArgv(e, '0.47.071')).status, 0);
    assert.equal(inNs(nftArgv(e, '0.47.055')).status, 0, 'the quoted form took it');
  });

  it("`guard plan`'s OpenClash alternative gives the same entries, and they pass nft too", () => {
    const s = makeSnapshot(GOLDEN_OC());
    const plan = planGuard({
      ruleset: s.ruleset,
      forwards: [
        { name: 'nas', host: '192.168.1.10', port: 443, proto: 'tcp' },
        { name: 'wg', host: '192.168.1.10', port: 51820, proto: 'udp' },
      ],
      lanSubnets: ['192.168.1.0/24'],
      iif: 'br-lan',
    });
    const entries = entriesOf(plan.native.join('\n'));
    assert.equal(entries.length, 2);
    reset();
    for (const e of entries) ok(nftArgv(e, '0.47.071'));
  });

  it("with the rule OpenClash 0.47.071 builds from the fix in its chain, replyguard's model lets the mid-stream ACK pass", () => {
    reset();
    const e = printedEntry(CASES[0]!.finding);
    const before = makeSnapshot({ ...GOLDEN_OC(), nftJson: ok(['nft', '-j', 'list', 'ruleset']) });
    const q = {
      proto: 'tcp' as const,
      server: '192.168.1.10',
      port: 443,
      peer: '93.184.216.34',
      peerPort: 40000,
      iif: 'br-lan',
    };
    const r0 = evaluateReply(before, q, recognizeProxies(before.ruleset));
    assert.ok(typeof r0 !== 'string' && r0.fate === 'proxied', 'the fixture takes the reply');
    ok(nftArgv(e, '0.47.071'));
    const afterFix = makeSnapshot({ ...GOLDEN_OC(), nftJson: ok(['nft', '-j', 'list', 'ruleset']) });
    const r1 = evaluateReply(afterFix, q, recognizeProxies(afterFix.ruleset));
    assert.ok(typeof r1 !== 'string');
    assert.equal(r1.fate, 'passes');
  });
});
