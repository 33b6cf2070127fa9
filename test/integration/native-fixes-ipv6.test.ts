// The proxy-native fixes replyguard prints for an IPv6 server, proven on a real kernel: the lab with ipv6 on
// (test/lab/lab.ts, IPV6_PROXY_MODES: OpenClash's IPv6 Redirect, TProxy and TUN on fw4, nikki with both
// families), the fix text taken from what replyguard prints for the v6 forward's replies on the lab's live
// ruleset, the option turned into the rules the proxy's own code writes for an IPv6 host (re-stated from
// upstream, cited in test/golden/rulesets/<folder>/SOURCE.md), and then: the outside client's TLS to
// [server v6]:443 through the main router's v6 forward works (and, where the proxy takes IPv6 UDP and the fix
// is for UDP, the v6 UDP echo comes back from [server v6]:51820), while the LAN's own IPv6 traffic still
// reaches the proxy (TCP: the REDIRECT listener accepts it, or its SYN enters the side router and never leaves
// towards the main router; UDP: the datagram never leaves), and replyguard's model lets the repaired replies
// pass. Before any fix the v6 forward is broken and replyguard names the proxy and the chain.
// Run as root: CI=true node --import tsx --test test/integration/native-fixes-ipv6.test.ts

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PEER_PORT } from '../../src/detector/outside-peers';
import { evaluateReply, proxyFixes, type ReplyEvaluation } from '../../src/detector/rule-attribution';
import { recognizeProxies } from '../../src/ruleset/recognize-proxy';
import { readLiveRuleset } from '../../src/sensors/ruleset-reader';
import { FIX_PROOFS } from '../golden/rulesets/fix-proofs';
import {
  chainExists,
  insertBefore,
  lineWith,
  must,
  neverLeaves,
  nft,
  option,
  type Proto,
  sleep,
  watchTable,
} from '../helpers/lab-rules';
import { entriesOf, nftArgv } from '../helpers/openclash-lan-ac';
import { CLIENT_SERVICE_PORT, createLab, type Lab, type LabAddr6, MODE_TRAITS, type ProxyMode } from '../lab/lab';

/** A second LAN host on IPv6 (an extra address on the server's link): its traffic must stay proxied. */
const OTHER6 = '2001:db8:50::11';

/** What replyguard printed for the v6 forwards' replies: TCP (nas6, 443), UDP (wg6, 51820). */
interface Printed {
  tcp: string[];
  udp: string[];
}

interface Fix {
  name: string;
  repairs: readonly Proto[];
  /** Per port: the server's own outbound v6 connections stay proxied too. */
  perPort: boolean;
  apply(lab: Lab, printed: Printed): Promise<void>;
}

interface Case {
  mode: ProxyMode;
  tag: string;
  golden: string;
  label: RegExp;
  tcpChain: string;
  /** The chain replyguard names for the v6 UDP replies (modes whose proxy takes IPv6 UDP). */
  udpChain?: string;
  fixes: Fix[];
}

/** How SOURCE.md names the case's lab. */
const labName = (c: Case) => `${c.mode}, ipv6`;

function v6(lab: Lab): LabAddr6 {
  assert.ok(lab.addr6, 'the lab was made without ipv6');
  return lab.addr6;
}

const portOf = (lab: Lab, proto: Proto) => (proto === 'tcp' ? lab.forward.serverPort : lab.forward.udpServerPort);

async function evaluate(lab: Lab, proto: Proto): Promise<ReplyEvaluation> {
  const { snapshot } = await readLiveRuleset({ wrap: ['ip', 'netns', 'exec', lab.ns.side] });
  const q = {
    proto,
    server: v6(lab).server,
    port: portOf(lab, proto),
    peer: v6(lab).client,
    peerPort: PEER_PORT,
    iif: lab.lanDevice,
  };
  const r = evaluateReply(snapshot, q, recognizeProxies(snapshot.ruleset));
  assert.ok(typeof r !== 'string', `no evaluation: ${r}`);
  return r;
}

async function printedFor(lab: Lab, proto: Proto): Promise<string[]> {
  const r = await evaluate(lab, proto);
  assert.equal(r.fate, 'proxied', `${proto}: replyguard sees the v6 replies ${r.fate}`);
  const name = proto === 'tcp' ? 'nas6' : 'wg6';
  return proxyFixes(r.proxy, r, v6(lab).server, portOf(lab, proto), proto, name).map((f) => f.text);
}

/** The v6 UDP forward works: the echo came back from the server's own address and port (no NAT66). */
function udpWorks(lab: Lab, r: { ok: boolean; detail: string }): boolean {
  return r.ok && r.detail === `echo from ${v6(lab).server}:${lab.forward.udpServerPort}`;
}

/** A TCP connection from a LAN v6 address to the outside client's service goes to the proxy. */
async function tcpProxied(lab: Lab, mode: ProxyMode, src: string): Promise<boolean> {
  const url = `http://[${v6(lab).client}]:${CLIENT_SERVICE_PORT}/`;
  const curl = (seconds: string) =>
    lab.exec(
      lab.ns.server,
      ['curl', '-sS', '-g', '--noproxy', '*', '--max-time', seconds, '--interface', src, '-o', '/dev/null', url],
      { timeoutMs: 4000 },
    );
  if (MODE_TRAITS[mode].redirectPort === undefined) return neverLeaves(lab, 6, 'tcp', () => curl('1'));
  const before = lab.proxyAccepts();
  await curl('2');
  for (let i = 0; i < 20 && lab.proxyAccepts() === before; i++) await sleep(25);
  return lab.proxyAccepts() > before;
}

/** A UDP datagram from a LAN v6 address to the outside client's port 443 goes to the proxy (never leaves). */
async function udpProxied(lab: Lab, src: string): Promise<boolean> {
  const js = `const s=require('dgram').createSocket('udp6');s.bind(0,'${src}',()=>s.send('x',443,'${v6(lab).client}',()=>s.close()))`;
  return neverLeaves(lab, 6, 'udp', () => must(lab, lab.ns.server, [process.execPath, '-e', js]));
}

// ---------------------------------------------------------------------------
// OpenClash (init.d/openclash, v0.47.071 as synced in gorillapower/OpenClash@7664c89d): its IPv6 chains

/** OpenClash's common ports with common_ports = 1. */
const OPENCLASH_COMMON_PORTS =
  '21 22 23 53 80 123 143 194 443 465 587 853 993 995 998 2052 2053 2082 2083 2086 2095 2096 5222 5228 5229 5230 8080 8443 8880 8888 8889';

/** The catch-all proxy rule of each IPv6 chain, which the returns go before. */
const CATCH_ALL6: Record<string, RegExp> = {
  openclash_v6: /^\s+meta l4proto tcp counter packets \d+ bytes \d+ redirect to :7892/,
  openclash_mangle_v6: /\bmeta mark set 0x0*162 /,
};

/** The IPv6 chains the lab's mode has (OpenClash writes into each; nft refuses the others, OpenClash ignores it). */
async function v6Chains(lab: Lab): Promise<string[]> {
  const out: string[] = [];
  for (const chain of Object.keys(CATCH_ALL6)) if (await chainExists(lab, 'inet fw4', chain)) out.push(chain);
  assert.ok(out.length > 0, 'no OpenClash IPv6 chain in the lab');
  return out;
}

/**
 * A printed IPv6 lan_ac_traffic entry as firewall_lan_ac_traffic writes it (ipv6_enable 1, family ipv6,
 * 980-992): TCP at position 0 of openclash_v6 (983) and of openclash_mangle_v6 (985), UDP of
 * openclash_mangle_v6 (990); the inserts into the output and openclash_post_v6 chains (984, 986-987, 991-992)
 * are for the router's own traffic and Bypass Gateway Compatible, which the lab has not.
 */
async function ocLanAcTraffic6(lab: Lab, p: Printed, protos: readonly Proto[]): Promise<void> {
  const chains = await v6Chains(lab);
  for (const proto of protos) {
    const [e] = entriesOf(lineWith(p[proto], 'lan_ac_traffic'));
    assert.ok(e, `no ${proto} entry`);
    assert.equal(e.family, 'ipv6');
    assert.equal(e.src_ip, v6(lab).server);
    const inserts: Array<[string, string[]]> =
      proto === 'tcp'
        ? [
            ['openclash_v6', nftArgv(e, '0.47.071')],
            ['openclash_mangle_v6', nftArgv(e, '0.47.071', 'mangle')],
          ]
        : [['openclash_mangle_v6', nftArgv(e, '0.47.071')]];
    for (const [chain, argv] of inserts) {
      assert.ok(argv.includes(chain), argv.join(' '));
      if (chains.includes(chain)) await must(lab, lab.ns.side, argv);
    }
  }
}

/** lan_ac_mode 0, the v6 host in lan_ac_black_ips: the set lan_ac_black_ipv6s and its returns in the v6 chains. */
async function ocBlacklist6(lab: Lab, host: string): Promise<void> {
  // 1509-1512 (both sets; nft_ac_add puts each entry into both, and the IPv4 set refuses a v6 host), 2033, 2086.
  await nft(
    lab,
    'add set inet fw4 lan_ac_black_ips { type ipv4_addr; flags interval; auto-merge; }\n' +
      `add set inet fw4 lan_ac_black_ipv6s { type ipv6_addr; flags interval; auto-merge; }\nadd element inet fw4 lan_ac_black_ipv6s { ${host} }\n`,
  );
  for (const chain of await v6Chains(lab))
    await insertBefore(lab, 'inet fw4', chain, CATCH_ALL6[chain]!, ['ip6 saddr @lan_ac_black_ipv6s counter return']);
}

/** common_ports 1 in redir-host: the port set (1567-1570) and its return in the v6 chains (2039-2040, 2079-2081). */
async function ocCommonPorts6(lab: Lab): Promise<void> {
  await nft(
    lab,
    `add set inet fw4 common_ports { type inet_service; flags interval; elements = { ${OPENCLASH_COMMON_PORTS.split(' ').join(', ')} } }\n`,
  );
  for (const chain of await v6Chains(lab))
    await insertBefore(lab, 'inet fw4', chain, CATCH_ALL6[chain]!, ['th dport != @common_ports counter return']);
}

function openclashFixes6(udp: boolean, commonPorts: boolean): Fix[] {
  const both: Proto[] = udp ? ['tcp', 'udp'] : ['tcp'];
  const fixes: Fix[] = [
    {
      name: 'lan_ac_traffic for the v6 host (family ipv6: into the IPv6 chains)',
      repairs: both,
      perPort: true,
      apply: (lab, p) => ocLanAcTraffic6(lab, p, both),
    },
    {
      name: 'lan_ac_black_ips with the v6 host (the set lan_ac_black_ipv6s)',
      repairs: both,
      perPort: false,
      apply: async (lab, p) => {
        const line = lineWith(p.tcp, 'lan_ac_black_ips');
        assert.equal(option(line, 'openclash.config.lan_ac_mode'), '0');
        const host = option(line, 'openclash.config.lan_ac_black_ips');
        assert.equal(host, v6(lab).server);
        if (udp) assert.equal(option(lineWith(p.udp, 'lan_ac_black_ips'), 'openclash.config.lan_ac_black_ips'), host);
        await ocBlacklist6(lab, host);
      },
    },
  ];
  if (commonPorts)
    fixes.push({
      name: 'common_ports (redir-host) in openclash_v6',
      repairs: ['tcp'],
      perPort: true,
      apply: async (lab, p) => {
        assert.equal(option(lineWith(p.tcp, 'common_ports'), 'openclash.config.common_ports'), '1');
        await ocCommonPorts6(lab);
      },
    });
  return fixes;
}

// ---------------------------------------------------------------------------
// nikki (hijack.ut, nikkinikki-org/OpenWrt-nikki@388f34e5)

/**
 * proxy_tcp_dport, alone or with proxy_udp_dport: the set proxy_dport of them (162-168, 235-244) and its
 * returns for each family, IPv4 (585, 612) and IPv6 (586, 613, with no fake-ip-range6 in the profile), in
 * dstnat before the jump to lan_redirect and in mangle_prerouting_lan before the jump to lan_tun.
 */
function nikkiFixes6(): Fix[] {
  return (['tcp', 'both'] as const).map(
    (which): Fix => ({
      name:
        which === 'tcp' ? 'proxy_tcp_dport (the IPv6 return)' : 'proxy_tcp_dport and proxy_udp_dport (the IPv6 return)',
      repairs: which === 'tcp' ? ['tcp'] : ['tcp', 'udp'],
      perPort: true,
      apply: async (lab, p) => {
        const tcp = option(lineWith(p.tcp, 'proxy_tcp_dport'), 'nikki.proxy.proxy_tcp_dport');
        const udp =
          which === 'tcp' ? '0-65535' : option(lineWith(p.udp, 'proxy_udp_dport'), 'nikki.proxy.proxy_udp_dport');
        const elements = [...tcp.split(' ').map((x) => `tcp . ${x}`), ...udp.split(' ').map((x) => `udp . ${x}`)].join(
          ', ',
        );
        await nft(
          lab,
          `add set inet nikki proxy_dport { type inet_proto . inet_service; flags interval; auto-merge; elements = { ${elements} } }\n`,
        );
        const returns = [
          'meta nfproto ipv4 meta l4proto . th dport != @proxy_dport ip daddr != 198.18.0.1/16 counter return',
          'meta nfproto ipv6 meta l4proto . th dport != @proxy_dport counter return',
        ];
        await insertBefore(lab, 'inet nikki', 'dstnat', /jump lan_redirect/, returns);
        await insertBefore(lab, 'inet nikki', 'mangle_prerouting_lan', /jump lan_tun/, returns);
      },
    }),
  );
}

const CASES: Case[] = [
  {
    mode: 'nft-redirect',
    tag: 'n6ocr',
    golden: 'openclash-fw4-ipv6-redirect',
    label: /^OpenClash/,
    tcpChain: 'openclash_v6',
    fixes: openclashFixes6(false, true),
  },
  {
    mode: 'nft-tproxy',
    tag: 'n6oct',
    golden: 'openclash-fw4-ipv6-tproxy',
    label: /^OpenClash/,
    tcpChain: 'openclash_mangle_v6',
    udpChain: 'openclash_mangle_v6',
    fixes: openclashFixes6(true, false),
  },
  {
    mode: 'tun',
    tag: 'n6ocu',
    golden: 'openclash-fw4-ipv6-tproxy',
    label: /^OpenClash/,
    tcpChain: 'openclash_mangle_v6',
    udpChain: 'openclash_mangle_v6',
    fixes: openclashFixes6(true, false),
  },
  {
    mode: 'nikki',
    tag: 'n6nk',
    golden: 'nikki-tproxy-ipv6',
    label: /^nikki$/,
    tcpChain: 'lan_redirect',
    udpChain: 'lan_tun',
    fixes: nikkiFixes6(),
  },
];

for (const c of CASES) {
  const udp = c.udpChain !== undefined;
  const protos: Proto[] = udp ? ['tcp', 'udp'] : ['tcp'];
  describe(`native fixes for an IPv6 server, ${labName(c)}`, () => {
    let lab: Lab;
    const printed: Printed = { tcp: [], udp: [] };

    before(async () => {
      lab = await createLab({ mode: c.mode, ipv6: true, tag: c.tag });
      // Deprecated (preferred_lft 0): only a socket bound to it sends from it, so the server's v6 replies
      // still leave from its own address.
      await must(lab, lab.ns.server, [
        'ip',
        '-6',
        'addr',
        'add',
        `${OTHER6}/64`,
        'dev',
        'eth0',
        'nodad',
        'preferred_lft',
        '0',
      ]);
      await nft(lab, watchTable(6, v6(lab).client, lab.lanDevice));
    });
    after(async () => {
      await lab?.destroy();
    });

    it(`without a fix the v6 forward breaks and replyguard names ${c.label.source} and chain ${c.tcpChain}`, async () => {
      const tls = await lab.tlsThroughForward({ family: 6, timeoutMs: 2500 });
      assert.equal(tls.ok, false, `the v6 TCP forward should be broken: ${tls.detail}`);
      const u = await lab.udpThroughForward({ family: 6, timeoutMs: udp ? 1000 : 3000 });
      assert.equal(udpWorks(lab, u), !udp, `v6 UDP forward: ${u.detail}`);
      for (const proto of protos) {
        const r = await evaluate(lab, proto);
        assert.equal(r.fate, 'proxied', proto);
        assert.match(r.proxy?.label ?? '', c.label);
        assert.equal(r.rule?.chain, proto === 'tcp' ? c.tcpChain : c.udpChain, proto);
      }
      printed.tcp = await printedFor(lab, 'tcp');
      if (udp) printed.udp = await printedFor(lab, 'udp');
      assert.ok(printed.tcp.length > 0);
    });

    it(`test/golden/rulesets/${c.golden}/SOURCE.md cites where upstream writes each of these fixes for IPv6`, () => {
      const source = readFileSync(join(__dirname, '..', 'golden', 'rulesets', c.golden, 'SOURCE.md'), 'utf8');
      const proofs = FIX_PROOFS[c.golden];
      assert.ok(proofs && source.includes(proofs), 'SOURCE.md is regenerate.ts output with FIX_PROOFS');
      assert.ok(proofs.includes(`lab mode \`${labName(c)}\``));
    });

    for (const fix of c.fixes) {
      it(`${fix.name}: the v6 forward works, the LAN's own IPv6 traffic stays proxied`, async (t) => {
        assert.ok(printed.tcp.length > 0, 'the printed fixes (first test)');
        await lab.reloadProxyRules();
        await fix.apply(lab, printed);
        const tls = await lab.tlsThroughForward({ family: 6, timeoutMs: fix.repairs.includes('tcp') ? 3000 : 2500 });
        assert.equal(tls.ok, fix.repairs.includes('tcp'), `TLS through the v6 forward: ${tls.detail}`);
        if (udp) {
          const u = await lab.udpThroughForward({ family: 6, timeoutMs: fix.repairs.includes('udp') ? 3000 : 1000 });
          assert.equal(udpWorks(lab, u), fix.repairs.includes('udp'), `UDP through the v6 forward: ${u.detail}`);
        }
        assert.ok(await tcpProxied(lab, c.mode, OTHER6), 'TCP of another LAN host (v6) still reaches the proxy');
        assert.equal(await tcpProxied(lab, c.mode, v6(lab).server), fix.perPort, "the server's own v6 TCP");
        if (udp) {
          assert.ok(await udpProxied(lab, OTHER6), 'UDP of another LAN host (v6) still goes to the proxy');
          assert.equal(await udpProxied(lab, v6(lab).server), fix.perPort, "the server's own v6 UDP");
        }
        for (const proto of protos) {
          const r = await evaluate(lab, proto);
          assert.equal(r.fate === 'passes', fix.repairs.includes(proto), `replyguard's model, ${proto}: ${r.fate}`);
        }
        t.diagnostic(`${labName(c)}: ${fix.name} proven`);
      });
    }
  });
}
