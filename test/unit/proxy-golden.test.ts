// The fixtures re-stated from the proxies' current source (each folder's SOURCE.md names the line of
// every rule): which proxy and mode replyguard recognises, which rule takes the replies of a server
// 192.168.1.10 (TCP 443 as "nas", UDP 51820 as "wg") to an outside peer, and the fixes in the order
// they are printed. Also: every chain a port hint names without a ruleset is one these fixtures hold,
// redirecting to that port.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { proxyHintForPort } from '../../src/detector/proxy-hints';
import { evaluateReply, replyFixes } from '../../src/detector/rule-attribution';
import { recognizeProxies } from '../../src/ruleset/recognize-proxy';
import { readDumpDir } from '../../src/ruleset/ruleset-sensor';
import { makeSnapshot } from '../../src/ruleset/ruleset-snapshot';

const DIR = join(__dirname, '..', 'golden', 'rulesets');
const snapshot = (name: string) => makeSnapshot(readDumpDir(join(DIR, name)));

/** How a fix line begins: the proxy's own option, the generic guard, the sysctl, the gateway. */
function kindOf(line: string): string {
  if (line.startsWith('Generic guard')) return 'guard';
  if (line.startsWith('Or stop conntrack')) return 'sysctl';
  if (line.startsWith('Or remove the asymmetry')) return 'gateway';
  if (line.startsWith('OpenClash: add a Lan Traffic Access List')) return 'lan_ac_traffic';
  if (line.startsWith('Or, in OpenClash redir-host mode')) return 'common_ports';
  if (line.startsWith('Or bypass the server entirely')) return 'lan_ac_black_ips';
  return line.split(':')[0]!; // "nikki", "Passwall2", …
}

interface Reply {
  /** fate, the packet taken, chain#position of the responsible rule */
  taken: string;
  fixes: string[];
}

const OC_TCP_REDIRECT: Reply = {
  taken: 'proxied ack openclash#4',
  fixes: ['lan_ac_traffic', 'common_ports', 'lan_ac_black_ips', 'guard', 'sysctl', 'gateway'],
};
const OC_UDP_TPROXY: Reply = {
  taken: 'proxied udp openclash_mangle#5',
  fixes: ['lan_ac_traffic', 'lan_ac_black_ips', 'guard', 'gateway'],
};

const EXPECTED: Record<string, { proxy: string; tcp: Reply | 'passes'; udp: Reply | 'passes' }> = {
  'openclash-fw4-fakeip': { proxy: 'OpenClash (fw4) redirect + tproxy', tcp: OC_TCP_REDIRECT, udp: OC_UDP_TPROXY },
  // redir-host with common_ports: the replies' destination (the client's port) is not a common port.
  'openclash-fw4-redirhost-common-ports': { proxy: 'OpenClash (fw4) redirect + tproxy', tcp: 'passes', udp: 'passes' },
  'openclash-fw4-tun': {
    proxy: 'OpenClash (fw4) tun',
    tcp: {
      taken: 'proxied synack openclash_mangle#7',
      fixes: ['lan_ac_traffic', 'lan_ac_black_ips', 'guard', 'gateway'],
    },
    udp: { taken: 'proxied udp openclash_mangle#7', fixes: ['lan_ac_traffic', 'lan_ac_black_ips', 'guard', 'gateway'] },
  },
  'openclash-fw4-mix': {
    proxy: 'OpenClash (fw4) mix (TCP redirect, UDP TUN)',
    tcp: OC_TCP_REDIRECT,
    udp: { taken: 'proxied udp openclash_mangle#7', fixes: ['lan_ac_traffic', 'lan_ac_black_ips', 'guard', 'gateway'] },
  },
  'openclash-fw4-bypass-gateway-compatible': {
    proxy: 'OpenClash (fw4) redirect + tproxy',
    tcp: OC_TCP_REDIRECT,
    udp: OC_UDP_TPROXY,
  },
  'openclash-fw4-china-ip-route-8k': {
    proxy: 'OpenClash (fw4) redirect + tproxy',
    tcp: { ...OC_TCP_REDIRECT, taken: 'proxied ack openclash#5' },
    udp: { ...OC_UDP_TPROXY, taken: 'proxied udp openclash_mangle#6' },
  },
  nikki: {
    proxy: 'nikki mix (TCP redirect, UDP TUN)',
    tcp: { taken: 'proxied ack lan_redirect#1', fixes: ['nikki', 'guard', 'sysctl', 'gateway'] },
    udp: { taken: 'proxied udp lan_tun#2', fixes: ['nikki', 'guard', 'gateway'] },
  },
  // TPROXY with the port list of the earlier default: TCP replies (to the client's port) pass.
  'passwall2-nft': {
    proxy: 'Passwall2 tproxy',
    tcp: 'passes',
    udp: { taken: 'proxied udp PSW2_MANGLE#9', fixes: ['Passwall2', 'guard', 'gateway'] },
  },
  // Today's defaults: TCP REDIRECT of every port takes the replies.
  'passwall2-nft-redirect': {
    proxy: 'Passwall2 redirect + tproxy',
    tcp: { taken: 'proxied ack PSW2_NAT#4', fixes: ['Passwall2', 'guard', 'sysctl', 'gateway'] },
    udp: { taken: 'proxied udp PSW2_MANGLE#6', fixes: ['Passwall2', 'guard', 'gateway'] },
  },
};

describe('upstream-derived fixtures: recognition, responsible rule, fix list', () => {
  for (const [name, want] of Object.entries(EXPECTED)) {
    it(name, () => {
      const s = snapshot(name);
      const proxies = recognizeProxies(s.ruleset);
      assert.deepEqual(
        proxies.map((p) => `${p.label} ${p.mode}`),
        [want.proxy],
      );
      for (const [proto, port, forward] of [
        ['tcp', 443, 'nas'],
        ['udp', 51820, 'wg'],
      ] as const) {
        const r = evaluateReply(
          s,
          { proto, server: '192.168.1.10', port, peer: '93.184.216.34', peerPort: 40000 },
          proxies,
        );
        assert.ok(typeof r !== 'string', String(r));
        const expected = want[proto];
        if (expected === 'passes') {
          assert.equal(r.fate, 'passes', `${proto}: ${r.rule?.text}`);
          continue;
        }
        assert.equal(`${r.fate} ${r.packet} ${r.rule?.chain}#${r.rule?.position}`, expected.taken, proto);
        assert.equal(
          r.proxy?.label,
          want.proxy
            .split(' ')
            .slice(0, want.proxy.startsWith('OpenClash') ? 2 : 1)
            .join(' '),
        );
        const fixes = replyFixes(r, '192.168.1.10', port, proto, forward).map((x) => x.text);
        assert.deepEqual(fixes.map(kindOf), expected.fixes, fixes.join('\n'));
        // The generic guard goes into the very chain that takes the replies.
        const guard = fixes.find((l) => l.startsWith('Generic guard'))!;
        assert.ok(guard.includes(` ${r.rule?.chain} `), guard);
      }
    });
  }

  it("OpenClash's lan_ac_traffic entry lands in the chain that takes the replies (init.d/openclash firewall_lan_ac_traffic)", () => {
    // v0.47.071 lines 953-967: no TUN or mix — TCP into openclash, UDP into openclash_mangle; TUN — both into openclash_mangle.
    const where: Record<string, Record<'tcp' | 'udp', string>> = {
      'openclash-fw4-fakeip': { tcp: 'openclash', udp: 'openclash_mangle' },
      'openclash-fw4-mix': { tcp: 'openclash', udp: 'openclash_mangle' },
      'openclash-fw4-tun': { tcp: 'openclash_mangle', udp: 'openclash_mangle' },
    };
    for (const [name, chains] of Object.entries(where)) {
      const s = snapshot(name);
      const proxies = recognizeProxies(s.ruleset);
      for (const proto of ['tcp', 'udp'] as const) {
        const r = evaluateReply(
          s,
          { proto, server: '192.168.1.10', port: 443, peer: '93.184.216.34', peerPort: 40000 },
          proxies,
        );
        assert.ok(typeof r !== 'string');
        assert.equal(r.rule?.chain, chains[proto], `${name} ${proto}`);
      }
    }
  });
});

describe('port hints name only chains the proxies write', () => {
  /** Which fixture holds each hinted chain (proxy, firewall) → fixture. */
  const HOLDER: Record<string, string> = {
    'OpenClash fw4': 'openclash-fw4-fakeip',
    'OpenClash fw3': 'openclash-fw3-fakeip',
    'ShellCrash fw4': 'shellcrash-nft',
    'ShellCrash fw3': 'shellcrash-iptables',
    'Passwall fw4': 'passwall-nft',
    'Passwall2 fw4': 'passwall2-nft-redirect',
    'homeproxy fw4': 'homeproxy',
    'nikki fw4': 'nikki',
  };
  /** Hinted chains no fixture holds yet (fw3 Passwall and Passwall2: iptables.sh `$ipt_n -N PSW` / `PSW2`). */
  const NO_FIXTURE = ['Passwall fw3 nat PSW', 'Passwall2 fw3 nat PSW2'];

  it('every hinted chain exists in its fixture and redirects to the hinted port', () => {
    const missing: string[] = [];
    for (const port of [7892, 7874, 1041, 5331, 7891]) {
      for (const c of proxyHintForPort(port)?.natChains ?? []) {
        const holder = HOLDER[`${c.proxy} ${c.firewall}`];
        if (!holder) {
          missing.push(`${c.proxy} ${c.firewall} ${c.table} ${c.chain}`);
          continue;
        }
        const rs = snapshot(holder).ruleset;
        // iptables tables load as "ip nat"; nft tables keep their family.
        const table = rs.tables.find((t) => `${t.family} ${t.name}` === c.table || t.name === c.table);
        const chain = table?.chains.find((ch) => ch.name === c.chain);
        assert.ok(chain, `${c.proxy} ${c.firewall}: no chain ${c.table} ${c.chain} in ${holder}`);
        assert.ok(
          chain.rules.some((r) => r.ops.some((op) => op.kind === 'redirect' && op.port === port)),
          `${c.table} ${c.chain} in ${holder} does not redirect to :${port}`,
        );
      }
    }
    assert.deepEqual(missing, NO_FIXTURE);
  });
});
