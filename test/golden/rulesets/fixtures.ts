// The fixture definitions: each proxy's rules as its generator emits them,
// re-stated (not copied) from the generator source named in `source`, for a
// side router at 192.168.1.2 on br-lan (LAN 192.168.1.0/24, main router .1).
// regenerate.ts applies them in a namespace and dumps them with the real tools.

export interface Fixture {
  name: string;
  /** Which generator, file and commit this re-states. */
  source: string;
  nft?: string;
  iptables?: string;
  iptablesVariant?: 'legacy' | 'nft';
  /** ip6tables-restore input (the same variant as iptablesVariant); dumped as ip6tables-save.txt. */
  ip6tables?: string;
  ipset?: string;
  /** `ip …` commands (rules and routes), after the rules. */
  ip?: string[];
  /** tun devices to create: "name" or "name address/prefix". */
  tun?: string[];
  /** IPv6 on: br-lan gets the lab's 2001:db8:50::2/64 and ip6-rule.json / ip6-route.json are dumped. */
  ipv6?: boolean;
}

const LOCALNETWORK = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '224.0.0.0/4',
  '240.0.0.0/4',
];

// ---------------------------------------------------------------------------
// fw4 (OpenWrt 22.03+) with a LAN zone that forwards lan→lan, as a side router has it.
// Source: openwrt/firewall4 root/usr/share/firewall4/templates/ruleset.uc (chain names, priorities, comments).

interface Fw4Parts {
  sets?: string;
  dstnat?: string;
  /** Rules appended after fw4's own (a table-post include's `chain dstnat { … }`). */
  dstnatAfter?: string;
  srcnat?: string;
  mangle?: string;
  mangleOutput?: string;
  forward?: string;
  input?: string;
  output?: string;
  chains?: string;
}

function fw4(p: Fw4Parts): string {
  return `table inet fw4 {
${p.sets ?? ''}
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "lo" accept comment "!fw4: Accept traffic from loopback"
    ct state established,related accept comment "!fw4: Allow inbound established and related flows"
${p.input ?? ''}
    iifname "br-lan" jump input_lan comment "!fw4: Handle lan IPv4/IPv6 input traffic"
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept comment "!fw4: Allow forwarded established and related flows"
${p.forward ?? ''}
    iifname "br-lan" jump forward_lan comment "!fw4: Handle lan IPv4/IPv6 forward traffic"
  }
  chain output {
    type filter hook output priority filter; policy accept;
    oifname "lo" accept comment "!fw4: Accept traffic towards loopback"
    ct state established,related accept comment "!fw4: Allow outbound established and related flows"
${p.output ?? ''}
  }
  chain prerouting {
    type filter hook prerouting priority filter; policy accept;
    iifname "br-lan" jump helper_lan comment "!fw4: lan IPv4/IPv6 CT helper assignment"
  }
  chain helper_lan {
  }
  chain input_lan {
    jump accept_from_lan
  }
  chain forward_lan {
    jump accept_to_lan
  }
  chain accept_from_lan {
    iifname "br-lan" counter accept comment "!fw4: accept lan IPv4/IPv6 traffic"
  }
  chain accept_to_lan {
    oifname "br-lan" counter accept comment "!fw4: accept lan IPv4/IPv6 traffic"
  }
  chain dstnat {
    type nat hook prerouting priority dstnat; policy accept;
${p.dstnat ?? ''}
    iifname "br-lan" jump dstnat_lan comment "!fw4: Handle lan IPv4/IPv6 dstnat traffic"
${p.dstnatAfter ?? ''}
  }
  chain dstnat_lan {
  }
  chain srcnat {
    type nat hook postrouting priority srcnat; policy accept;
${p.srcnat ?? ''}
  }
  chain mangle_prerouting {
    type filter hook prerouting priority mangle; policy accept;
${p.mangle ?? ''}
  }
  chain mangle_output {
    type route hook output priority mangle; policy accept;
${p.mangleOutput ?? ''}
  }
${p.chains ?? ''}
}
`;
}

// ---------------------------------------------------------------------------
// OpenClash, fw4: what luci-app-openclash/root/etc/init.d/openclash writes, re-stated rule by rule with
// the line that writes it (OC_FILE, OC_COMMIT below) and its default config
// (luci-app-openclash/root/etc/config/openclash: en_mode fake-ip, enable_redirect_dns 1, enable_udp_proxy 1,
// disable_udp_quic 1, router_self_proxy 1, common_ports 0, china_ip_route 0, ipv6_enable 0, lan_ac_mode 0
// with no lists, bypass_gateway_compatible 0). PROXY_FWMARK 0x162, table 0x162, redir 7892, tproxy 7895.
// Rules that name a set OpenClash only creates for a non-empty list (lan_ac_black_ips, wan_ac_black_ips, …)
// are absent: nft refuses them and OpenClash ignores the error.

const OC_REPO = 'vernesong/OpenClash';
/** The upstream release v0.47.071 as synced into the fork gorillapower/OpenClash (its history holds vernesong's commits). */
const OC_COMMIT = 'v0.47.071 as synced in gorillapower/OpenClash@7664c89d';
const OC_FILE = 'luci-app-openclash/root/etc/init.d/openclash';

/** Collects, for SOURCE.md, which upstream line writes each rule of a fixture. */
class Cited {
  readonly rows: string[] = [];
  /** One rule line of chain `chain`, written by `line` of the upstream file. */
  rule(chain: string, line: string, text: string): string {
    this.rows.push(`| ${chain} | \`${text.replace(/\|/g, '\\|')}\` | ${line} |`);
    return `    ${text}`;
  }
  table(repo: string, commit: string, file: string): string {
    return [
      `Upstream: ${repo} ${commit}, \`${file}\` (lines below). Re-stated, not copied.`,
      '',
      '| chain / set | rule | line |',
      '|---|---|---|',
      ...this.rows,
    ].join('\n');
  }
}

interface OcOptions {
  commonPorts?: boolean;
  tun?: 'tun' | 'mix';
  bypassGatewayCompatible?: boolean;
  chinaIpRoute?: string[];
  /** ipv6_enable 1 with enable_v6_udp_proxy 1 (LuCI's default once IPv6 is on): ipv6_mode 0 (TProxy) or 1 (Redirect). */
  ipv6?: 'tproxy' | 'redirect';
}

/** The fixture's IPv6 side router: the lab's documentation prefix (test/lab/lab.ts), gateway the main router. */
const SIDE6 = '2001:db8:50::2/64';
const SIDE6_GATEWAY = '2001:db8:50::1';
/** custom/openclash_custom_localnetwork_ipv6.list as shipped (init.d reads it when present, else the same list inline). */
const LOCALNETWORK6 = [
  '::/128',
  '::1/128',
  '::ffff:0:0/96',
  '::ffff:0:0:0/96',
  '64:ff9b::/96',
  '100::/64',
  '2001::/32',
  '2001:20::/28',
  '2001:db8::/32',
  '2002::/16',
  'fe80::/10',
  'ff00::/8',
];
/** A stand-in for /etc/openclash/china_ip6_route.ipset: the first prefixes of the shipped list. */
const OC_CHINA6_SAMPLE = ['2001:250::/35', '2001:250:2000::/35', '2001:250:4000::/34'];
const OC_FAKEIP6 = 'fdfe:dcba:9876::1/64';

/** A stand-in for /etc/openclash/china_ip_route.ipset (downloaded at runtime): a few prefixes. */
const OC_CHINA_SAMPLE = ['1.0.1.0/24', '36.0.0.0/10', '114.114.0.0/16', '223.5.5.0/24'];

function openclashFw4(o: OcOptions): { nft: string; cites: Cited } {
  const c = new Cited();
  const fakeIp = !o.commonPorts; // the common_ports fixture runs redir-host
  const china = o.chinaIpRoute ?? OC_CHINA_SAMPLE;
  const sets = [
    `  set localnetwork {
    type ipv4_addr
    flags interval
    auto-merge
    elements = { ${LOCALNETWORK.join(', ')} }
  }`,
    // disable_udp_quic=1 (default) loads china_ip_route even with china_ip_route=0.
    `  set china_ip_route {
    type ipv4_addr
    flags interval
    elements = { ${china.join(', ')} }
  }
  set china_ip_route_pass {
    type ipv4_addr
    flags interval
    auto-merge
  }`,
  ];
  c.rows.push('| set localnetwork | default elements | 1548, 1556 |');
  c.rows.push(
    `| set china_ip_route | loaded from /etc/openclash/china_ip_route.ipset (disable_udp_quic=1); elements: ${o.chinaIpRoute ? 'generated, see below' : 'a four-prefix stand-in'} | 1477-1479 |`,
  );
  c.rows.push('| set china_ip_route_pass | empty | 1489 |');
  if (o.ipv6) {
    sets.push(`  set china_ip6_route {
    type ipv6_addr
    flags interval
    auto-merge
    elements = { ${OC_CHINA6_SAMPLE.join(', ')} }
  }
  set china_ip6_route_pass {
    type ipv6_addr
    flags interval
    auto-merge
  }
  set localnetwork6 {
    type ipv6_addr
    flags interval
    auto-merge
    elements = { ${[...LOCALNETWORK6, SIDE6, '::1/128'].join(', ')} }
  }`);
    c.rows.push(
      '| set china_ip6_route | loaded from /etc/openclash/china_ip6_route.ipset (disable_udp_quic=1), in the nft form openclash_chnroute.sh writes; elements: a three-prefix stand-in from the shipped list | 1932-1934; usr/share/openclash/openclash_chnroute.sh:89-94 |',
    );
    c.rows.push('| set china_ip6_route_pass | empty (the shipped custom list holds only comments and domains) | 1944, 1955-1956 |');
    c.rows.push(
      "| set localnetwork6 | custom/openclash_custom_localnetwork_ipv6.list as shipped, then the router's own inet6 addresses (wan_ip6s, `ifconfig`: 2001:db8:50::2/64 and ::1/128, both inside the list already) | 2007-2021, get_config 3675 |",
    );
  }
  if (o.commonPorts) {
    sets.push(`  set common_ports {
    type inet_service
    flags interval
    elements = { 21, 22, 23, 53, 80, 123, 143, 194, 443, 465, 587, 853, 993, 995, 998, 2052, 2053, 2082, 2083, 2086, 2095, 2096, 5222, 5228-5230, 8080, 8443, 8880, 8888, 8889 }
  }`);
    c.rows.push('| set common_ports | the default list | 1439, 1567-1570 |');
  }
  const bypass = (chain: string, lines: { common: string; china: string }) =>
    [
      o.commonPorts ? c.rule(chain, lines.common, 'th dport != @common_ports counter return') : '',
      o.chinaIpRoute
        ? c.rule(chain, lines.china, 'ip daddr @china_ip_route ip daddr != @china_ip_route_pass counter return')
        : '',
    ].filter(Boolean);
  const chains: string[] = [];
  const input: string[] = [];
  const forward: string[] = [];
  const srcnat: string[] = [];
  const dstnat: string[] = [];
  const mangle: string[] = [];
  const mangleOutput: string[] = [];
  // enable_redirect_dns=1: inserted at position 0 of dstnat (DNSPORT: dnsmasq's port, 53).
  dstnat.push(c.rule('dstnat', '1624', 'meta l4proto { tcp, udp } th dport 53 counter redirect to :53 comment "OpenClash DNS Hijack"'));
  const natOutput: string[] = [
    c.rule('nat_output', '1631-1632', 'meta skgid != 65534 meta l4proto { tcp, udp } th dport 53 ip daddr { 127.0.0.1 } counter redirect to :53 comment "OpenClash DNS Hijack"'),
  ];
  if (o.tun !== 'tun') {
    // TCP redirect (no TUN, and mix).
    chains.push(
      [
        '  chain openclash {',
        c.rule('openclash', '1662', 'ip daddr @localnetwork counter return'),
        c.rule('openclash', '1663', 'ct direction reply counter return'),
        c.rule('openclash', '1664', 'ip protocol tcp ip daddr { 198.18.0.1/16 } counter redirect to :7892'),
        ...bypass('openclash', { common: '1677', china: '1686' }),
        c.rule('openclash', '1689', 'ip protocol tcp counter redirect to :7892'),
        '  }',
      ].join('\n'),
    );
    dstnat.push(c.rule('dstnat', '1690', 'meta nfproto { ipv4 } ip protocol tcp counter jump openclash'));
    // router_self_proxy=1.
    chains.push(
      [
        '  chain openclash_output {',
        c.rule('openclash_output', '1790', 'meta skgid 65534 counter return'),
        c.rule('openclash_output', '1791', 'ip daddr @localnetwork counter return'),
        c.rule('openclash_output', '1792', 'ct direction reply counter return'),
        fakeIp ? c.rule('openclash_output', '1794', 'ip protocol tcp ip daddr { 198.18.0.1/16 } counter redirect to :7892') : '',
        o.commonPorts ? c.rule('openclash_output', '1800', 'th dport != @common_ports counter return') : '',
        o.chinaIpRoute ? c.rule('openclash_output', '1809', 'ip daddr @china_ip_route ip daddr != @china_ip_route_pass counter return') : '',
        c.rule('openclash_output', '1811', 'ip protocol tcp counter redirect to :7892'),
        // ipv6_mode 1 with fake-ip adds its fake-ip redirect to the IPv4 output chain, not to openclash_output_v6.
        o.ipv6 === 'redirect' && fakeIp
          ? c.rule('openclash_output', '2150', `ip6 nexthdr { tcp } ip6 daddr { ${OC_FAKEIP6} } counter redirect to :7892`)
          : '',
        '  }',
      ]
        .filter(Boolean)
        .join('\n'),
    );
    natOutput.push(c.rule('nat_output', '1814', 'meta nfproto { ipv4 } ip protocol tcp counter jump openclash_output'));
  }
  if (!o.tun) {
    // UDP TPROXY (enable_udp_proxy=1).
    chains.push(
      [
        '  chain openclash_mangle {',
        c.rule('openclash_mangle', '1703', 'ip daddr @localnetwork counter return'),
        c.rule('openclash_mangle', '1704', 'ct direction reply counter return'),
        fakeIp
          ? c.rule('openclash_mangle', '1706', 'meta l4proto { udp } ip daddr { 198.18.0.1/16 } mark set 0x162 tproxy ip to 127.0.0.1:7895 counter accept')
          : '',
        ...bypass('openclash_mangle', { common: '1720', china: '1729' }),
        c.rule('openclash_mangle', '1732', 'ip protocol udp counter jump openclash_upnp'),
        c.rule('openclash_mangle', '1733', 'meta l4proto { udp } mark set 0x162 tproxy ip to 127.0.0.1:7895 counter accept'),
        '  }',
        '  chain openclash_upnp {',
        '  }',
      ]
        .filter(Boolean)
        .join('\n'),
    );
    mangle.push(c.rule('mangle_prerouting', '1734', 'meta nfproto { ipv4 } ip protocol udp counter jump openclash_mangle'));
    chains.push(
      [
        '  chain openclash_mangle_output {',
        c.rule('openclash_mangle_output', '1750', 'meta skgid 65534 counter return'),
        c.rule('openclash_mangle_output', '1751', 'ip daddr @localnetwork counter return'),
        c.rule('openclash_mangle_output', '1752', 'ct direction reply counter return'),
        o.commonPorts ? c.rule('openclash_mangle_output', '1756', 'th dport != @common_ports counter return') : '',
        fakeIp
          ? c.rule('openclash_mangle_output', '1759', 'meta l4proto { udp } ip daddr { 198.18.0.1/16 } mark set 0x162 counter accept')
          : '',
        o.chinaIpRoute
          ? c.rule('openclash_mangle_output', '1768', 'ip daddr @china_ip_route ip daddr != @china_ip_route_pass counter return')
          : '',
        c.rule('openclash_mangle_output', '1771', 'mark set 0x162 counter accept'),
        '  }',
      ]
        .filter(Boolean)
        .join('\n'),
    );
    mangleOutput.push(c.rule('mangle_output', '1773', 'meta nfproto { ipv4 } ip protocol udp counter jump openclash_mangle_output'));
    // disable_udp_quic=1, china_ip_route != 2: inserted at position 0 of input.
    input.push(c.rule('input', '1781', 'udp dport 443 ip daddr != @china_ip_route counter reject comment "OpenClash QUIC REJECT"'));
  } else {
    const tun = o.tun === 'tun';
    chains.push(
      [
        '  chain openclash_mangle_output {',
        c.rule('openclash_mangle_output', '1825', 'meta skgid 65534 counter return'),
        c.rule('openclash_mangle_output', '1826', 'ip daddr @localnetwork counter return'),
        c.rule('openclash_mangle_output', '1827', 'ct direction reply counter return'),
        tun
          ? c.rule('openclash_mangle_output', '1829', 'meta l4proto { tcp, udp } ip daddr { 198.18.0.1/16 } mark set 0x162 counter')
          : c.rule('openclash_mangle_output', '1831', 'meta l4proto { udp } ip daddr { 198.18.0.1/16 } mark set 0x162 counter'),
        o.chinaIpRoute
          ? c.rule('openclash_mangle_output', '1846', 'ip daddr @china_ip_route ip daddr != @china_ip_route_pass counter return')
          : '',
        c.rule('openclash_mangle_output', '1850', 'meta nfproto { ipv4 } ip protocol icmp icmp type echo-request mark set 0x162 counter accept comment "OpenClash ICMP Mark"'),
        tun
          ? c.rule('openclash_mangle_output', '1853', 'meta l4proto { tcp, udp } meta mark set 0x162 counter')
          : c.rule('openclash_mangle_output', '1855', 'meta l4proto { udp } meta mark set 0x162 counter'),
        '  }',
      ]
        .filter(Boolean)
        .join('\n'),
    );
    mangleOutput.push(c.rule('mangle_output', '1858', 'meta nfproto { ipv4 } counter jump openclash_mangle_output'));
    chains.push(
      [
        '  chain openclash_mangle {',
        c.rule('openclash_mangle', '1868', 'meta l4proto { tcp, udp } iifname "utun" counter return'),
        c.rule('openclash_mangle', '1869', 'ip daddr @localnetwork counter return'),
        c.rule('openclash_mangle', '1870', 'ct direction reply counter return'),
        tun
          ? c.rule('openclash_mangle', '1872', 'meta l4proto { tcp, udp } ip daddr { 198.18.0.1/16 } mark set 0x162 counter')
          : c.rule('openclash_mangle', '1874', 'meta l4proto { udp } ip daddr { 198.18.0.1/16 } mark set 0x162 counter'),
        ...bypass('openclash_mangle', { common: '1888', china: '1897' }),
        c.rule('openclash_mangle', '1901', 'meta nfproto { ipv4 } ip protocol icmp icmp type echo-request mark set 0x162 counter accept comment "OpenClash ICMP Mark"'),
        c.rule('openclash_mangle', '1903', 'ip protocol udp counter jump openclash_upnp'),
        tun
          ? c.rule('openclash_mangle', '1906', 'mark set 0x162 counter')
          : c.rule('openclash_mangle', '1908', 'meta l4proto { udp } mark set 0x162 counter'),
        '  }',
        '  chain openclash_upnp {',
        '  }',
      ]
        .filter(Boolean)
        .join('\n'),
    );
    mangle.push(c.rule('mangle_prerouting', '1911', 'meta nfproto { ipv4 } counter jump openclash_mangle'));
    // Inserted at position 0, so the later insert comes first.
    forward.push(
      c.rule('forward', '1924', 'oifname "utun" udp dport 443 ip daddr != @china_ip_route counter reject comment "OpenClash QUIC REJECT"'),
      c.rule('forward', '1915', 'meta nfproto { ipv4 } iifname "utun" counter accept comment "OpenClash TUN Forward"'),
      c.rule('forward', '1914', 'meta nfproto { ipv4 } oifname "utun" counter accept comment "OpenClash TUN Forward"'),
    );
    input.push(c.rule('input', '1916', 'meta nfproto { ipv4 } iifname "utun" counter accept comment "OpenClash TUN Input"'));
    srcnat.push(c.rule('srcnat', '1917', 'meta nfproto { ipv4 } oifname "utun" counter return comment "OpenClash TUN Postrouting"'));
  }
  const output: string[] = [];
  const dstnatAfter: string[] = [];
  if (o.ipv6) {
    const redirect = o.ipv6 === 'redirect';
    const fake6 = `ip6 daddr { ${OC_FAKEIP6} }`;
    if (redirect) {
      chains.push(
        [
          '  chain openclash_v6 {',
          c.rule('openclash_v6', '2028', `ip6 nexthdr { tcp } ${fake6} counter redirect to :7892`),
          c.rule('openclash_v6', '2029', 'ip6 daddr @localnetwork6 counter return'),
          c.rule('openclash_v6', '2030', 'ct direction reply counter return'),
          c.rule('openclash_v6', '2055', 'ip6 nexthdr { tcp } counter redirect to :7892'),
          '  }',
        ].join('\n'),
      );
      // `add rule`: after fw4's own dstnat_lan jump.
      dstnatAfter.push(c.rule('dstnat', '2056', 'ip6 nexthdr { tcp } counter jump openclash_v6'));
    }
    const tproxy6 = (l4: string) => `ip6 nexthdr { ${l4} } ${fake6} mark set 0x162 tproxy ip6 to :7895 counter accept`;
    chains.push(
      [
        '  chain openclash_mangle_v6 {',
        // Inserted at position 0 after the chain was filled (2115, then 2135 above it).
        c.rule('openclash_mangle_v6', '2135', tproxy6('udp')),
        redirect ? '' : c.rule('openclash_mangle_v6', '2115', tproxy6('tcp')),
        c.rule('openclash_mangle_v6', '2063', 'ip6 daddr @localnetwork6 counter return'),
        c.rule('openclash_mangle_v6', '2064', 'ct direction reply counter return'),
        redirect ? '' : c.rule('openclash_mangle_v6', '2067', tproxy6('tcp')),
        c.rule('openclash_mangle_v6', '2077', tproxy6('udp')),
        redirect
          ? ''
          : c.rule('openclash_mangle_v6', '2117', 'ip6 nexthdr { tcp } mark set 0x162 tproxy ip6 to :7895 counter accept comment "OpenClash TCP Tproxy"'),
        c.rule('openclash_mangle_v6', '2137', 'ip6 nexthdr { udp } mark set 0x162 tproxy ip6 to :7895 counter accept comment "OpenClash UDP Tproxy"'),
        '  }',
      ]
        .filter(Boolean)
        .join('\n'),
    );
    mangle.push(c.rule('mangle_prerouting', '2141', 'meta nfproto { ipv6 } counter jump openclash_mangle_v6'));
    // router_self_proxy=1.
    if (redirect) {
      chains.push(
        [
          '  chain openclash_output_v6 {',
          c.rule('openclash_output_v6', '2152', 'meta skgid 65534 counter return'),
          c.rule('openclash_output_v6', '2153', 'ip6 daddr @localnetwork6 counter return'),
          c.rule('openclash_output_v6', '2154', 'ct direction reply counter return'),
          c.rule('openclash_output_v6', '2171', 'ip6 nexthdr { tcp } counter redirect to :7892'),
          '  }',
        ].join('\n'),
      );
      natOutput.push(c.rule('nat_output', '2173', 'meta nfproto { ipv6 } counter jump openclash_output_v6'));
    }
    const l4 = redirect ? 'udp' : 'tcp, udp';
    chains.push(
      [
        '  chain openclash_mangle_output_v6 {',
        c.rule('openclash_mangle_output_v6', '2179', 'meta skgid 65534 counter return'),
        c.rule('openclash_mangle_output_v6', '2180', 'ip6 daddr @localnetwork6 counter return'),
        c.rule('openclash_mangle_output_v6', '2181', 'ct direction reply counter return'),
        c.rule('openclash_mangle_output_v6', redirect ? '2183' : '2187', `ip6 nexthdr { ${l4} } ${fake6} mark set 0x162 counter`),
        c.rule('openclash_mangle_output_v6', redirect ? '2217' : '2220', `ip6 nexthdr { ${l4} } mark set 0x162 counter`),
        '  }',
      ].join('\n'),
    );
    mangleOutput.push(c.rule('mangle_output', '2225', 'meta nfproto { ipv6 } counter jump openclash_mangle_output_v6'));
    // Inserted at position 0, each above the one before: QUIC (v6), then the fake-ip ICMP rejects (v4, v6).
    input.unshift(c.rule('input', '2257', 'udp dport 443 ip6 daddr != @china_ip6_route counter reject comment "OpenClash QUIC REJECT"'));
    input.unshift(
      c.rule('input', '2304', `ip6 nexthdr icmpv6 icmpv6 type echo-request ${fake6} counter reject with icmpv6 admin-prohibited comment "OpenClash ICMPv6 INPUT REJECT"`),
      c.rule('input', '2298', 'ip protocol icmp icmp type echo-request ip daddr { 198.18.0.1/16 } counter reject comment "OpenClash ICMP INPUT REJECT"'),
    );
    forward.unshift(
      c.rule('forward', '2305', `ip6 nexthdr icmpv6 icmpv6 type echo-request ${fake6} counter reject with icmpv6 admin-prohibited comment "OpenClash ICMPv6 FORWARD REJECT"`),
      c.rule('forward', '2299', 'ip protocol icmp icmp type echo-request ip daddr { 198.18.0.1/16 } counter reject comment "OpenClash ICMP FORWARD REJECT"'),
    );
    output.push(
      c.rule('output', '2306', `ip6 nexthdr icmpv6 icmpv6 type echo-request ${fake6} counter reject with icmpv6 admin-prohibited comment "OpenClash ICMPv6 OUTPUT REJECT"`),
      c.rule('output', '2300', 'ip protocol icmp icmp type echo-request ip daddr { 198.18.0.1/16 } counter reject comment "OpenClash ICMP OUTPUT REJECT"'),
    );
  }
  chains.push(`  chain nat_output {
    type nat hook output priority -1; policy accept;
${natOutput.join('\n')}
  }`);
  c.rows.push('| nat_output | `type nat hook output priority -1` | 1631, 1813 |');
  if (o.bypassGatewayCompatible) {
    chains.push(
      [
        '  chain openclash_post {',
        c.rule('openclash_post', '1578', 'meta skgid 65534 counter return'),
        c.rule('openclash_post', '1579', 'meta mark 0x162 counter accept'),
        c.rule('openclash_post', '1580', 'ip daddr @localnetwork counter return'),
        c.rule('openclash_post', '1581', 'ct direction reply counter return'),
        c.rule('openclash_post', '1582', 'fib saddr type != { local } counter masquerade'),
        '  }',
      ].join('\n'),
    );
    srcnat.push(c.rule('srcnat', '1583', 'meta nfproto { ipv4 } counter jump openclash_post comment "OpenClash Bypass Gateway Compatible"'));
  }
  const nft = fw4({
    sets: sets.join('\n'),
    dstnat: dstnat.join('\n'),
    mangle: mangle.join('\n'),
    mangleOutput: mangleOutput.join('\n'),
    srcnat: srcnat.join('\n'),
    forward: forward.join('\n'),
    input: input.join('\n'),
    output: output.join('\n'),
    dstnatAfter: dstnatAfter.join('\n'),
    chains: chains.join('\n'),
  });
  return { nft, cites: c };
}

/** Routes: no TUN 1696-1697; TUN (en_mode_tun set) 739-740. */
const OC_TPROXY_ROUTE = ['rule add fwmark 0x162 table 0x162', 'route add local 0.0.0.0/0 dev lo table 0x162'];
const OC_TUN_ROUTE = ['rule add fwmark 0x162 table 0x162 pref 1888', 'route add default dev utun table 0x162'];

function openclashFixture(name: string, mode: string, o: OcOptions, extra = ''): Fixture {
  const { nft, cites } = openclashFw4(o);
  const tun = o.tun !== undefined;
  cites.rows.push(
    tun
      ? '| ip rule / route | `ip rule add fwmark 0x162 table 0x162 pref 1888`, `ip route add default dev utun table 0x162` | 739-740 |'
      : '| ip rule / route | `ip rule add fwmark 0x162 table 0x162`, `ip route add local 0.0.0.0/0 dev lo table 0x162` | 1696-1697 |',
  );
  if (o.ipv6) {
    cites.rows.push(
      '| ip -6 rule / route | `ip -6 rule add fwmark 0x162 table 0x162`, `ip -6 route add local ::/0 dev lo table 0x162` | 2232-2233 |',
    );
  }
  const ip6 = o.ipv6
    ? [`-6 addr add ${SIDE6} dev br-lan nodad`, `-6 route add default via ${SIDE6_GATEWAY} dev br-lan`, '-6 rule add fwmark 0x162 table 0x162', '-6 route add local ::/0 dev lo table 0x162']
    : [];
  return {
    name,
    source:
      `OpenClash fw4, ${mode}. ${extra}Defaults otherwise from luci-app-openclash/root/etc/config/openclash at the same commit; ` +
      "the fw4 table around OpenClash's rules is openwrt/firewall4's (see fixtures.ts), the side router has no WAN zone (intranet_allowed adds nothing).\n\n" +
      cites.table(OC_REPO, OC_COMMIT, OC_FILE) +
      (o.ipv6
        ? '\n\nIPv6: the side router has the lab\'s 2001:db8:50::2/64 on br-lan (the IPv4 part is the fake-ip fixture\'s). ' +
          'The rules OpenClash inserts at position 0 of fw4\'s input, forward and output (QUIC and the fake-ip ICMP rejects, ' +
          '2257, 2298-2306; the ICMP rejects are written since v0.46.141 for every fake-ip mode without TUN, IPv4 included) stand ' +
          "after fw4's `ct state established,related accept` here, as in the other fixtures, and the IPv4 dstnat jump (1690) before fw4's " +
          "dstnat_lan jump (OpenClash appends it after): neither changes a TCP or UDP verdict walked here. Left out: rules naming sets " +
          'OpenClash makes only for a non-empty list (wan_ac_black_ipv6s, wan_ac_black_ports, lan_ac_*: nft refuses them and OpenClash ' +
          'ignores the error), and the IPv6 DNS hijack (1962: skipped, as the IPv4 rule with the comment "OpenClash DNS Hijack" ' +
          'is already in dstnat and, being `meta l4proto`, takes IPv6 too).\n\n' +
          'The older release vernesong/OpenClash@8af97e15 (v0.47.055) lacks the second copies of the fake-ip TPROXY rules ' +
          '(2067, 2077) and builds openclash_mangle_output_v6 differently; the catch-all rules that take a forward\'s replies ' +
          '(2117, 2137; Redirect: 2055) are the same.'
        : tun
        ? '\n\nThe older release vernesong/OpenClash@8af97e15 (v0.47.055) writes TUN modes differently ' +
          '(`meta l4proto {tcp,udp}` in the TUN forward/input rules, no ICMP mark, TCP and UDP marks in mix mode): this fixture is v0.47.071 only.'
        : '\n\nThe older release vernesong/OpenClash@8af97e15 (v0.47.055) writes the same rules for these settings ' +
          '(it lacks only the wan_ac_black_ports rules, which need a list this fixture does not set).'),
    nft,
    ip: [...(tun ? OC_TUN_ROUTE : OC_TPROXY_ROUTE), ...ip6],
    ...(tun ? { tun: ['utun'] } : {}),
    ...(o.ipv6 ? { ipv6: true } : {}),
  };
}

/** OpenClash 0.46.068: the last release whose chains have no `ct direction reply` return (see openclashFw4V046Fixture). */
const OC046_COMMIT = 'bf478f74a1ef08067e76deca6b3decb9417aa234';

/**
 * OpenClash fw4 as released in 0.46.068 (vernesong/OpenClash@bf478f74, the "0.46.068" commit, 2025-01-26), its
 * default config (luci-app-openclash/root/etc/config/openclash at that commit, lines 23-56: en_mode fake-ip,
 * enable_redirect_dns 1, enable_udp_proxy 1, disable_udp_quic 1, router_self_proxy 1, lan_ac_mode 0 with no lists,
 * common_ports 0, bypass_gateway_compatible 0, ipv6_enable 0; china_ip_route unset, so 0 in get_config). The
 * `ct direction reply counter return` rules came with 598f3e78 (2025-01-28), first released in 0.46.069
 * (990b711d, 2025-02-03). Rules naming a set OpenClash makes only for a non-empty list (wan_ac_black_ips,
 * lan_ac_black_ips, lan_ac_black_macs, lan_ac_white_*) are absent: nft refuses them and OpenClash ignores the error.
 */
function openclashFw4V046Fixture(): Fixture {
  const c = new Cited();
  const r = (chain: string, line: string, text: string) => c.rule(chain, line, text);
  c.rows.push(
    '| set china_ip_route | `type ipv4_addr; flags interval; auto-merge` as usr/share/openclash/openclash_chnroute.sh:60 writes it, loaded by `nft -f /etc/openclash/china_ip_route.ipset` (disable_udp_quic=1); elements: a four-prefix stand-in | 1350-1357 |',
  );
  c.rows.push('| set china_ip_route_pass | empty | 1361, 1368-1369 |');
  c.rows.push('| set localnetwork | custom/openclash_custom_localnetwork_ipv4.list as shipped | 1410, 1412-1416 |');
  const nft = fw4({
    sets: `  set china_ip_route {
    type ipv4_addr
    flags interval
    auto-merge
    elements = { ${OC_CHINA_SAMPLE.join(', ')} }
  }
  set china_ip_route_pass {
    type ipv4_addr
    flags interval
    auto-merge
  }
  set localnetwork {
    type ipv4_addr
    flags interval
    auto-merge
    elements = { ${LOCALNETWORK.join(', ')} }
  }`,
    dstnat: r('dstnat', '1484', 'meta l4proto { tcp, udp } th dport 53 counter redirect to :53 comment "OpenClash DNS Hijack"'),
    // `nft add rule … dstnat`: after fw4's own dstnat_lan jump.
    dstnatAfter: r('dstnat', '1550', 'meta nfproto { ipv4 } ip protocol tcp counter jump openclash'),
    mangle: r('mangle_prerouting', '1593', 'meta nfproto { ipv4 } ip protocol udp counter jump openclash_mangle'),
    mangleOutput: r('mangle_output', '1628', 'meta nfproto { ipv4 } ip protocol udp counter jump openclash_mangle_output'),
    input: r('input', '1636', 'udp dport 443 ip daddr != @china_ip_route counter reject comment "OpenClash QUIC REJECT"'),
    chains: [
      '  chain openclash {',
      r('openclash', '1522', 'ip daddr @localnetwork counter return'),
      r('openclash', '1524', 'ip protocol tcp ip daddr { 198.18.0.1/16 } counter redirect to :7892'),
      r('openclash', '1549', 'ip protocol tcp counter redirect to :7892'),
      '  }',
      '  chain openclash_mangle {',
      r('openclash_mangle', '1562', 'meta l4proto { udp } iifname "lo" counter return'),
      r('openclash_mangle', '1563', 'ip daddr @localnetwork counter return'),
      r('openclash_mangle', '1564', 'udp dport 53 counter return'),
      r('openclash_mangle', '1566', 'meta l4proto { udp } ip daddr { 198.18.0.1/16 } mark set 0x162 tproxy ip to 127.0.0.1:7895 counter accept'),
      r('openclash_mangle', '1591', 'ip protocol udp counter jump openclash_upnp'),
      r('openclash_mangle', '1592', 'meta l4proto { udp } mark set 0x162 tproxy ip to 127.0.0.1:7895 counter accept'),
      '  }',
      '  chain openclash_upnp {',
      '  }',
      '  chain openclash_mangle_output {',
      r('openclash_mangle_output', '1610', 'ip daddr @localnetwork counter return'),
      r('openclash_mangle_output', '1616', 'meta l4proto { udp } ip daddr { 198.18.0.1/16 } meta skuid != 65534 mark set 0x162 counter accept'),
      r('openclash_mangle_output', '1627', 'meta l4proto { udp } meta skuid != 65534 mark set 0x162 counter accept'),
      '  }',
      '  chain openclash_output {',
      r('openclash_output', '1645', 'ip daddr @localnetwork counter return'),
      r('openclash_output', '1648', 'ip protocol tcp ip daddr { 198.18.0.1/16 } meta skuid != 65534 counter redirect to :7892'),
      r('openclash_output', '1664', 'ip protocol tcp meta skuid != 65534 counter redirect to :7892'),
      '  }',
      '  chain nat_output {',
      '    type nat hook output priority -1; policy accept;',
      r('nat_output', '1491-1492', 'meta skuid != 65534 meta nfproto { ipv4 } meta l4proto { tcp, udp } th dport 53 ip daddr { 127.0.0.1 } counter redirect to :53 comment "OpenClash DNS Hijack"'),
      r('nat_output', '1666-1667', 'meta nfproto { ipv4 } ip protocol tcp counter jump openclash_output'),
      '  }',
    ].join('\n'),
  });
  c.rows.push('| ip rule / route | `ip rule add fwmark 0x162 table 0x162`, `ip route add local 0.0.0.0/0 dev lo table 0x162` | 1555-1556 |');
  return {
    name: 'openclash-fw4-0.46-fakeip',
    source:
      'OpenClash fw4 0.46.068, fake-ip (TCP redirect, UDP TPROXY): the last release before the `ct direction reply counter return` ' +
      'rules (vernesong/OpenClash@598f3e78, 2025-01-28, first released in 0.46.069, 990b711d), which today\'s fixtures ' +
      '(openclash-fw4-*, v0.47.071) have in every chain. Defaults from luci-app-openclash/root/etc/config/openclash at the same ' +
      'commit (lines 23-56: en_mode fake-ip, enable_redirect_dns 1, enable_udp_proxy 1, disable_udp_quic 1, router_self_proxy 1, ' +
      'intranet_allowed 1, lan_ac_mode 0 with no lists, common_ports 0, bypass_gateway_compatible 0, ipv6_enable 0; ' +
      'china_ip_route unset, 0 in get_config 2922; fakeip_range 198.18.0.1/16, 2901). The fw4 table around OpenClash\'s rules ' +
      "is openwrt/firewall4's (see fixtures.ts); the side router has no WAN zone (intranet_allowed adds nothing, 1446-1467).\n\n" +
      'Against v0.47.071: no `ct direction reply` return, the UDP chain returns loopback (1562) and DNS (1564) first, the ' +
      'router-self rules match `meta skuid` (v0.47: `skgid`, and own returns), the IPv4 dstnat jump follows fw4\'s dstnat_lan ' +
      'jump, no fake-ip ICMP rejects (since v0.46.141). The catch-all rules that take a forward\'s replies (1549, 1592) are ' +
      'the same. The shipped /etc/openclash/china_ip_route.ipset of this release is in ipset syntax (uci-defaults converts ' +
      'it only since 379d497e, 2025-01-27): until the list is first updated, `nft -f` fails and the set and the QUIC reject ' +
      '(1636) are missing; neither touches a forward\'s replies. Rules naming a set made only for a non-empty list ' +
      '(wan_ac_black_ips 1526, lan_ac_black_ips 1527, lan_ac_black_macs, lan_ac_white_*: 1528-1534, 1568-1576) are left out: ' +
      'nft refuses them and OpenClash ignores the error.\n\n' +
      c.table(OC_REPO, OC046_COMMIT, OC_FILE),
    nft,
    ip: OC_TPROXY_ROUTE,
  };
}

/** 8,000 distinct public-looking prefixes (/16…/24), seeded; never in private, documentation or test ranges. */
export function chinaPrefixes(count = 8000, seed = 20261125): string[] {
  let s = seed >>> 0;
  const rnd = () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const excluded = new Set([0, 10, 100, 127, 169, 172, 192, 198, 203]);
  const used = new Set<number>();
  const out: string[] = [];
  while (out.length < count) {
    const a = 1 + (rnd() % 223);
    if (excluded.has(a)) continue;
    const b = rnd() % 256;
    const key = a * 256 + b;
    if (used.has(key)) continue;
    used.add(key);
    const bits = 16 + (rnd() % 9);
    const third = bits > 16 ? (rnd() % 256) & (0xff << (24 - bits)) & 0xff : 0;
    out.push(`${a}.${b}.${third}.0/${bits}`);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Passwall: xiaorouji/openwrt-passwall at 471fb79a, luci-app-passwall/root/usr/share/passwall/nftables.sh
// (add_firewall_rule and the default part of load_acl), app.sh and 0_default_config: tcp_proxy_way redirect,
// tcp_redir_ports the default list, udp_redir_ports 1:65535, udp_proxy_drop_ports 443, the direct, proxy, block
// and GFW lists on, chn_list direct; one xray node for TCP with UDP "same as TCP" (TCP_UDP: UDP on the TCP
// redirect port, app.sh run_redir), TCP_REDIR_PORT 1041, DNS through the copy dnsmasq on 11400.

const PSW_PORTS = '22, 25, 53, 80, 143, 443, 465, 587, 853, 873, 993, 995, 5222, 8080, 8443, 9418';
const CN_SAMPLE = '1.0.1.0/24, 36.0.0.0/10, 114.114.0.0/16, 223.5.5.0/24';
/** rules/lanlist_ipv4 and lanlist_ipv6 (gen_lanlist, gen_lanlist_6): the documentation ranges are in them. */
const PSW_LAN4 =
  '0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.0.0.0/24, 192.0.2.0/24, 192.88.99.0/24, 192.168.0.0/16, 198.51.100.0/24, 203.0.113.0/24, 224.0.0.0/4, 233.252.0.0/24, 240.0.0.0/4, 255.255.255.255/32';
const PSW_LAN6 =
  '::/128, ::1/128, ::ffff:0:0/96, ::ffff:0:0:0/96, 64:ff9b::/96, 64:ff9b:1::/48, 100::/64, 2001::/32, 2001:20::/28, 2001:db8::/32, 2002::/16, 3fff::/20, 5f00::/16, fc00::/7, fe80::/64, ff00::/8';

/** Passwall's PSW_RULE (nftables.sh:1045-1049): marks new connections (`== syn`, and new UDP) and keeps the mark in ct mark. The lab uses it too. */
export const PASSWALL_RULE_CHAIN = `  chain PSW_RULE {
    meta mark set ct mark counter
    meta mark 1 counter return
    tcp flags & (fin | syn | rst | ack) == syn meta mark set mark and 0x0 xor 0x1 counter
    meta l4proto udp ct state new meta mark set mark and 0x0 xor 0x1 counter
    ct mark set mark counter
  }`;

function passwallFixture(): Fixture {
  const c = new Cited();
  const set = (n: string, type: string, line: string, elements?: string, note?: string) => {
    c.rows.push(`| set ${n} | ${type}${note ? `; ${note}` : ''} | ${line} |`);
    return `  set ${n} {
    type ${type}
    flags interval
    auto-merge
${elements ? `    elements = { ${elements} }\n` : ''}  }`;
  };
  const sets = [
    set('passwall_vps', 'ipv4_addr', '859'),
    set('passwall_gfw', 'ipv4_addr', '860', undefined, 'filled by dnsmasq at runtime'),
    set('passwall_local', 'ipv4_addr', '861', '127.0.0.1, 192.168.1.2', "the router's addresses"),
    set('passwall_lan', 'ipv4_addr', '862, 221-223 (gen_lanlist: rules/lanlist_ipv4)', PSW_LAN4, 'includes the documentation ranges'),
    set('passwall_chn', 'ipv4_addr', '867', CN_SAMPLE, 'rules/chnroute: a four-prefix stand-in'),
    set('passwall_black', 'ipv4_addr', '869'),
    set('passwall_white', 'ipv4_addr', '870'),
    set('passwall_block', 'ipv4_addr', '871'),
    set('passwall_shunt', 'ipv4_addr', '872'),
    set('passwall_vps6', 'ipv6_addr', '874'),
    set('passwall_lan6', 'ipv6_addr', '877 (gen_lanlist_6: rules/lanlist_ipv6)', PSW_LAN6),
  ].join('\n');
  const r = (chain: string, line: string, text: string) => c.rule(chain, line, text);
  const ports = `tcp dport { ${PSW_PORTS} }`;
  const nft = `table inet passwall {
${sets}
  chain dstnat {
    type nat hook prerouting priority dstnat - 1; policy accept;
${r('dstnat', '1039', 'jump PSW_DNS')}
${r('dstnat', '1077', 'ip protocol tcp counter jump PSW_NAT')}
  }
  chain mangle_prerouting {
    type filter hook prerouting priority mangle - 1; policy accept;
${r('mangle_prerouting', '1069 (inserted before the PSW_MANGLE jump)', 'counter jump PSW_DIVERT')}
${r('mangle_prerouting', '1067', 'ip protocol udp counter jump PSW_MANGLE')}
  }
  chain mangle_output {
    type route hook output priority mangle - 1; policy accept;
  }
  chain nat_output {
    type nat hook output priority -1; policy accept;
  }
  chain PSW_DIVERT {
${r('PSW_DIVERT', '1030', 'meta l4proto tcp socket transparent 1 mark set 1 counter accept')}
  }
  chain PSW_DNS {
${r('PSW_DNS', '637', 'ip protocol udp udp dport 53 counter redirect to :11400 comment "默认"')}
${r('PSW_DNS', '638', 'ip protocol tcp tcp dport 53 counter redirect to :11400 comment "默认"')}
${r('PSW_DNS', '639', 'meta l4proto udp udp dport 53 counter redirect to :11400 comment "默认"')}
${r('PSW_DNS', '640', 'meta l4proto tcp tcp dport 53 counter redirect to :11400 comment "默认"')}
  }
${PASSWALL_RULE_CHAIN}
  chain PSW_MANGLE {
${r('PSW_MANGLE', '1054', 'ip daddr @passwall_lan counter return')}
${r('PSW_MANGLE', '1055', 'ip daddr @passwall_vps counter return')}
${r('PSW_MANGLE', '633', 'ip protocol udp udp dport 53 counter return comment "默认"')}
${r('PSW_MANGLE', '635', 'ip protocol tcp tcp dport 53 counter return comment "默认"')}
${r('PSW_MANGLE', '644', 'ip daddr @passwall_block counter drop comment "默认"')}
${r('PSW_MANGLE', '646', 'ip daddr @passwall_white counter return comment "默认"')}
${r('PSW_MANGLE', '681', 'ip protocol udp udp dport { 443 } ip daddr 198.18.0.0/15 counter drop comment "默认"')}
${r('PSW_MANGLE', '682', 'ip protocol udp udp dport { 443 } ip daddr @passwall_black counter drop comment "默认"')}
${r('PSW_MANGLE', '683', 'ip protocol udp udp dport { 443 } ip daddr @passwall_gfw counter drop comment "默认"')}
${r('PSW_MANGLE', '684', 'ip protocol udp udp dport { 443 } ip daddr @passwall_chn mark != 1 counter return comment "默认"')}
${r('PSW_MANGLE', '686', 'ip protocol udp udp dport { 443 } counter drop comment "默认"')}
${r('PSW_MANGLE', '764', 'ip protocol udp ip daddr 198.18.0.0/15 counter jump PSW_RULE comment "默认"')}
${r('PSW_MANGLE', '765', 'ip protocol udp ip daddr @passwall_black counter jump PSW_RULE comment "默认"')}
${r('PSW_MANGLE', '766', 'ip protocol udp ip daddr @passwall_gfw counter jump PSW_RULE comment "默认"')}
${r('PSW_MANGLE', '767', 'ip protocol udp ip daddr @passwall_chn mark != 1 counter return comment "默认"')}
${r('PSW_MANGLE', '769', 'ip protocol udp counter jump PSW_RULE comment "默认"')}
${r('PSW_MANGLE', '770', 'ip protocol udp counter meta mark 1 tproxy ip to :1041 comment "默认"')}
${r('PSW_MANGLE', '771', 'ip protocol udp counter return comment "默认"')}
  }
  chain PSW_OUTPUT_MANGLE {
${r('PSW_OUTPUT_MANGLE', '1059', 'ip daddr @passwall_lan counter return')}
${r('PSW_OUTPUT_MANGLE', '1060', 'ip daddr @passwall_vps counter return')}
${r('PSW_OUTPUT_MANGLE', '1062', 'ip daddr @passwall_block counter drop')}
${r('PSW_OUTPUT_MANGLE', '1063', 'ip daddr @passwall_white counter return')}
${r('PSW_OUTPUT_MANGLE', '1064', 'meta mark 0xff counter return')}
  }
  chain PSW_NAT {
${r('PSW_NAT', '1075', 'ip daddr @passwall_lan counter return')}
${r('PSW_NAT', '1076', 'ip daddr @passwall_vps counter return')}
${r('PSW_NAT', '645', 'ip daddr @passwall_block counter drop comment "默认"')}
${r('PSW_NAT', '647', 'ip daddr @passwall_white counter return comment "默认"')}
${r('PSW_NAT', '731', 'ip protocol tcp ip daddr 198.18.0.0/15 counter redirect to :1041 comment "默认"')}
${r('PSW_NAT', '732', `ip protocol tcp ${ports} ip daddr @passwall_black counter redirect to :1041 comment "默认"`)}
${r('PSW_NAT', '733', `ip protocol tcp ${ports} ip daddr @passwall_gfw counter redirect to :1041 comment "默认"`)}
${r('PSW_NAT', '734', `ip protocol tcp ${ports} ip daddr @passwall_chn mark != 1 counter return comment "默认"`)}
${r('PSW_NAT', '736', `ip protocol tcp ${ports} counter redirect to :1041 comment "默认"`)}
${r('PSW_NAT', '738', 'ip protocol tcp counter return comment "默认"')}
  }
  chain PSW_OUTPUT_NAT {
${r('PSW_OUTPUT_NAT', '1081', 'ip daddr @passwall_lan counter return')}
${r('PSW_OUTPUT_NAT', '1082', 'ip daddr @passwall_vps counter return')}
${r('PSW_OUTPUT_NAT', '1083', 'ip daddr @passwall_block counter drop')}
${r('PSW_OUTPUT_NAT', '1084', 'ip daddr @passwall_white counter return')}
${r('PSW_OUTPUT_NAT', '1085', 'meta mark 0xff counter return')}
  }
  chain PSW_MANGLE_V6 {
${r('PSW_MANGLE_V6', '1120', 'ip6 daddr @passwall_lan6 counter return')}
${r('PSW_MANGLE_V6', '1121', 'ip6 daddr @passwall_vps6 counter return')}
${r('PSW_MANGLE_V6', '634', 'meta l4proto udp udp dport 53 counter return comment "默认"')}
${r('PSW_MANGLE_V6', '636', 'meta l4proto tcp tcp dport 53 counter return comment "默认"')}
  }
}
`;
  c.rows.push('| PSW_RULE | the five rules of PASSWALL_RULE_CHAIN | 1045-1049 |');
  c.rows.push('| base chains | dstnat (dstnat - 1), mangle_prerouting (mangle - 1), mangle_output, nat_output | 144-170 (gen_nft_tables) |');
  c.rows.push('| ip rule / route | `ip rule add fwmark 1 lookup 100`, `ip route add local 0.0.0.0/0 dev lo table 100` | 1114-1115 |');
  return {
    name: 'passwall-nft',
    source:
      'Passwall on fw4 (nftables: use_nft 0 falls back to nftables when iptables/ipset are not installed, app.sh start, as on a stock fw4 image). ' +
      'Stand-ins: the sets are made without their timeouts (gen_nftset gives them `flags interval, timeout`; element expiry would make every dump differ), ' +
      'the runtime lists (gfw, black, white, block, shunt) are empty, chnroute is four prefixes, and only the IPv6 sets the rules name are made. ' +
      "Left out: the [Local] rules for the router's own traffic (output hooks only). \"默认\" is the comment Passwall writes (\"default\").\n\n" +
      c.table('xiaorouji/openwrt-passwall', '471fb79a', 'luci-app-passwall/root/usr/share/passwall/nftables.sh'),
    nft,
    ip: ['rule add fwmark 1 lookup 100', 'route add local 0.0.0.0/0 dev lo table 100'],
  };
}

// Passwall on fw4 with tcp_proxy_way tproxy: Openwrt-Passwall/openwrt-passwall at e33d57c4 (its history holds
// xiaorouji/openwrt-passwall's up to 471fb79a, the passwall-nft fixture's commit; nftables.sh last changed by 3f448d63), add_firewall_rule, the
// prerouting part of its [Local] rules and load_acl's default ACL, 0_default_config's options otherwise. TCP then
// goes to PSW_MANGLE (is_tproxy, nft_prerouting_chain PSW_MANGLE): its list rules jump PSW_RULE, which marks only
// a bare SYN (or a new UDP entry), and the TPROXY takes only what is marked; there is no PSW_NAT.

const PSW_HEAD = 'e33d57c4';

function passwallNftTproxyFixture(): Fixture {
  const c = new Cited();
  const set = (n: string, type: string, line: string, elements?: string, note?: string) => {
    c.rows.push(`| set ${n} | ${type}${note ? `; ${note}` : ''} | ${line} |`);
    return `  set ${n} {
    type ${type}
    flags interval
    auto-merge
${elements ? `    elements = { ${elements} }\n` : ''}  }`;
  };
  const sets = [
    set('passwall_wan', 'ipv4_addr', '865, 239-264', undefined, 'empty: get_wan_ips skips interfaces named lan'),
    set('passwall_vps', 'ipv4_addr', '866', undefined, "empty (the node's address, filter_vpsip, left out)"),
    set('passwall_gfw', 'ipv4_addr', '867', undefined, 'filled by dnsmasq at runtime'),
    set('passwall_local', 'ipv4_addr', '868, 984', '127.0.0.1, 192.168.1.2', "the router's addresses"),
    set('passwall_lan', 'ipv4_addr', '869, 231-233 (gen_lanlist: rules/lanlist_ipv4)', PSW_LAN4, 'includes the documentation ranges'),
    set('passwall_chn', 'ipv4_addr', '874', CN_SAMPLE, 'rules/chnroute: a four-prefix stand-in'),
    set('passwall_black', 'ipv4_addr', '876'),
    set('passwall_white', 'ipv4_addr', '877, 1000-1006 (ISP_DNS)', '192.168.1.1', 'the ISP DNS (resolv.conf.auto: 192.168.1.1); direct_ip left empty'),
    set('passwall_block', 'ipv4_addr', '878'),
    set('passwall_shunt', 'ipv4_addr', '879'),
    set('passwall_vps6', 'ipv6_addr', '882'),
    set('passwall_lan6', 'ipv6_addr', '885 (gen_lanlist_6: rules/lanlist_ipv6)', PSW_LAN6),
  ].join('\n');
  const r = (chain: string, line: string, text: string) => c.rule(chain, line, text);
  const ports = `tcp dport { ${PSW_PORTS} }`;
  const TP = 'counter meta mark 1 tproxy ip to :1041';
  const nft = `table inet passwall {
${sets}
  chain dstnat {
    type nat hook prerouting priority dstnat - 1; policy accept;
${r('dstnat', '1047', 'jump PSW_DNS')}
  }
  chain mangle_prerouting {
    type filter hook prerouting priority mangle - 1; policy accept;
${r('mangle_prerouting', '1075', 'counter jump PSW_DIVERT')}
${r('mangle_prerouting', '1076', 'ip protocol udp counter jump PSW_MANGLE')}
${r('mangle_prerouting', '1077 (tproxy only)', 'ip protocol tcp counter jump PSW_MANGLE')}
  }
  chain mangle_output {
    type route hook output priority mangle - 1; policy accept;
  }
  chain nat_output {
    type nat hook output priority -1; policy accept;
  }
  chain PSW_DIVERT {
${r('PSW_DIVERT', '1038', 'meta l4proto tcp socket transparent 1 mark set 1 counter accept')}
  }
  chain PSW_DNS {
${r('PSW_DNS', '640', 'ip protocol udp udp dport 53 counter redirect to :11400 comment "默认"')}
${r('PSW_DNS', '641', 'ip protocol tcp tcp dport 53 counter redirect to :11400 comment "默认"')}
${r('PSW_DNS', '642', 'meta l4proto udp udp dport 53 counter redirect to :11400 comment "默认"')}
${r('PSW_DNS', '643', 'meta l4proto tcp tcp dport 53 counter redirect to :11400 comment "默认"')}
  }
  chain PSW_RULE {
${r('PSW_RULE', '1053', 'meta mark set ct mark counter')}
${r('PSW_RULE', '1054', 'meta mark 1 counter return')}
${r('PSW_RULE', '1055', 'tcp flags & (fin | syn | rst | ack) == syn meta mark set mark and 0x0 xor 0x1 counter')}
${r('PSW_RULE', '1056', 'meta l4proto udp ct state new meta mark set mark and 0x0 xor 0x1 counter')}
${r('PSW_RULE', '1057', 'ct mark set mark counter')}
  }
  chain PSW_MANGLE {
${r('PSW_MANGLE', '1062', 'ip daddr @passwall_lan counter return')}
${r('PSW_MANGLE', '1063', 'ip daddr @passwall_vps counter return')}
${r('PSW_MANGLE', '1301 ([Local], localhost_proxy 1)', `ip protocol tcp iif "lo" ${TP} comment "本机"`)}
${r('PSW_MANGLE', '1303 ([Local])', 'ip protocol tcp iif "lo" counter return comment "本机"')}
${r('PSW_MANGLE', '1353 ([Local]; UDP on the TCP node\'s port)', `ip protocol udp iif "lo" ${TP} comment "本机"`)}
${r('PSW_MANGLE', '1355 ([Local])', 'ip protocol udp iif "lo" counter return comment "本机"')}
${r('PSW_MANGLE', '636', 'ip protocol udp udp dport 53 counter return comment "默认"')}
${r('PSW_MANGLE', '638', 'ip protocol tcp tcp dport 53 counter return comment "默认"')}
${r('PSW_MANGLE', '647', 'ip daddr @passwall_block counter drop comment "默认"')}
${r('PSW_MANGLE', '649', 'ip daddr @passwall_white counter return comment "默认"')}
${r('PSW_MANGLE', '684 (udp_proxy_drop_ports 443)', 'ip protocol udp udp dport { 443 } ip daddr 198.18.0.0/15 counter drop comment "默认"')}
${r('PSW_MANGLE', '685', 'ip protocol udp udp dport { 443 } ip daddr @passwall_black counter drop comment "默认"')}
${r('PSW_MANGLE', '686', 'ip protocol udp udp dport { 443 } ip daddr @passwall_gfw counter drop comment "默认"')}
${r('PSW_MANGLE', '687 (chn_list direct: get_jump_ipt)', 'ip protocol udp udp dport { 443 } ip daddr @passwall_chn mark != 1 counter return comment "默认"')}
${r('PSW_MANGLE', '689', 'ip protocol udp udp dport { 443 } counter drop comment "默认"')}
${r('PSW_MANGLE', '734 (nft_chain PSW_MANGLE, nft_j "counter jump PSW_RULE": 702-709)', 'ip protocol tcp ip daddr 198.18.0.0/15 counter jump PSW_RULE comment "默认"')}
${r('PSW_MANGLE', '735', `ip protocol tcp ${ports} ip daddr @passwall_black counter jump PSW_RULE comment "默认"`)}
${r('PSW_MANGLE', '736', `ip protocol tcp ${ports} ip daddr @passwall_gfw counter jump PSW_RULE comment "默认"`)}
${r('PSW_MANGLE', '737', `ip protocol tcp ${ports} ip daddr @passwall_chn mark != 1 counter return comment "默认"`)}
${r('PSW_MANGLE', '739', `ip protocol tcp ${ports} counter jump PSW_RULE comment "默认"`)}
${r('PSW_MANGLE', '740 (tproxy only)', `ip protocol tcp ${TP} comment "默认"`)}
${r('PSW_MANGLE', '741', 'ip protocol tcp counter return comment "默认"')}
${r('PSW_MANGLE', '767', 'ip protocol udp ip daddr 198.18.0.0/15 counter jump PSW_RULE comment "默认"')}
${r('PSW_MANGLE', '768 (udp_redir_ports 1:65535: no port match)', 'ip protocol udp ip daddr @passwall_black counter jump PSW_RULE comment "默认"')}
${r('PSW_MANGLE', '769', 'ip protocol udp ip daddr @passwall_gfw counter jump PSW_RULE comment "默认"')}
${r('PSW_MANGLE', '770', 'ip protocol udp ip daddr @passwall_chn mark != 1 counter return comment "默认"')}
${r('PSW_MANGLE', '772', 'ip protocol udp counter jump PSW_RULE comment "默认"')}
${r('PSW_MANGLE', '773', `ip protocol udp ${TP} comment "默认"`)}
${r('PSW_MANGLE', '774', 'ip protocol udp counter return comment "默认"')}
  }
  chain PSW_OUTPUT_MANGLE {
${r('PSW_OUTPUT_MANGLE', '1067', 'ip daddr @passwall_lan counter return')}
${r('PSW_OUTPUT_MANGLE', '1068', 'ip daddr @passwall_vps counter return')}
${r('PSW_OUTPUT_MANGLE', '1070', 'ip daddr @passwall_block counter drop')}
${r('PSW_OUTPUT_MANGLE', '1071', 'ip daddr @passwall_white counter return')}
${r('PSW_OUTPUT_MANGLE', '1072', 'meta mark 0xff counter return')}
  }
  chain PSW_MANGLE_V6 {
${r('PSW_MANGLE_V6', '1130', 'ip6 daddr @passwall_lan6 counter return')}
${r('PSW_MANGLE_V6', '1131', 'ip6 daddr @passwall_vps6 counter return')}
${r('PSW_MANGLE_V6', '637', 'meta l4proto udp udp dport 53 counter return comment "默认"')}
${r('PSW_MANGLE_V6', '639', 'meta l4proto tcp tcp dport 53 counter return comment "默认"')}
  }
}
`;
  c.rows.push('| base chains | dstnat (dstnat - 1), mangle_prerouting (mangle - 1), mangle_output, nat_output | 146-165 (gen_nft_tables) |');
  c.rows.push('| ip rule / route | `ip rule add fwmark 1 lookup 100`, `ip route add local 0.0.0.0/0 dev lo table 100` | 1124-1125 |');
  return {
    name: 'passwall-nft-tproxy',
    source:
      "Passwall on fw4 (nftables.sh), tcp_proxy_way tproxy (global_forwarding; 0_default_config:46 has redirect, app.sh:1968 reads it), " +
      `otherwise 0_default_config at ${PSW_HEAD} (37-47: tcp_redir_ports the 16-port list, udp_redir_ports 1:65535, udp_proxy_drop_ports 443, ` +
      'tcp_no_redir_ports and tcp_proxy_drop_ports disable) and the options app.sh reads with their defaults (the direct, proxy, block and GFW lists on, ' +
      'chn_list direct, localhost_proxy 1, client_proxy 1, dns_redirect 1; app.sh 1968-1990); one node for TCP with UDP on it (TCP_UDP: UDP on ' +
      'TCP_REDIR_PORT 1041), DNS through the copy dnsmasq on 11400, no WAN address on the side router. With is_tproxy set (1026-1034) TCP is ' +
      'jumped into PSW_MANGLE from mangle_prerouting (1077) instead of PSW_NAT from dstnat (1080-1094, not made), the default ACL writes its TCP ' +
      'rules into PSW_MANGLE with `counter jump PSW_RULE` (702-709) and adds the TPROXY of what PSW_RULE marked (740); PSW_RULE (1053-1057) marks ' +
      'a bare SYN (`== syn`, so not a SYN-ACK) and a new UDP entry. Stand-ins as in passwall-nft: the sets without their timeouts ' +
      '(gen_nftset: `flags interval, timeout`), the runtime lists empty, chnroute four prefixes, only the IPv6 sets the rules name. ' +
      "Left out: the [Local] rules in output hooks (mangle_output's jumps and returns 1304, 1356, 1372-1373, the PSW_OUTPUT_MANGLE rules of " +
      "1216-1231, 1295-1300, 1347-1352, nat_output's DNS redirects 1207-1210), the remote DNS access rules of hosts_foreach, and " +
      'PSW_OUTPUT_MANGLE_V6 (1133-1139). "默认" is "default", "本机" "this device".\n\n' +
      c.table('Openwrt-Passwall/openwrt-passwall', PSW_HEAD, 'luci-app-passwall/root/usr/share/passwall/nftables.sh'),
    nft,
    ip: ['rule add fwmark 1 lookup 100', 'route add local 0.0.0.0/0 dev lo table 100'],
  };
}
// Passwall on fw3 (iptables-legacy + ipset): Openwrt-Passwall/openwrt-passwall at e33d57c4 (iptables.sh last changed by
// 3f448d63, 2026-01-30), add_firewall_rule, the prerouting part of its [Local] rules and load_acl's default ACL, with the
// passwall-nft fixture's options. `$(comment …)` keeps its single quotes unless add_port_rules' eval removes them.

function passwallFw3Fixture(way: 'redirect' | 'tproxy' = 'redirect'): Fixture {
  const tproxy = way === 'tproxy';
  const { c, r } = iptCited();
  /** A rule only in tproxy mode (on: true) or only in redirect mode (on: false): '' otherwise. */
  const only = (on: boolean, text: () => string) => (on === tproxy ? text() : '');
  const ports = PSW_PORTS.split(', ');
  const ports15 = ports.slice(0, 15).join(',');
  const portsRest = ports.slice(15).join(',');
  const tmo = (n: string) => `create ${n} hash:net family inet hashsize 1024 maxelem 1048576 timeout 172800`;
  const plain = (n: string) => `create ${n} hash:net family inet hashsize 1024 maxelem 1048576`;
  const ipset = [
    plain('passwall_local'),
    'add passwall_local 127.0.0.1',
    'add passwall_local 192.168.1.2',
    plain('passwall_wan'),
    plain('passwall_lan'),
    ...PSW_LAN4.split(', ').map((n) => `add passwall_lan ${n}`),
    'add passwall_lan 192.168.1.0/24',
    plain('passwall_vps'),
    tmo('passwall_shunt'),
    tmo('passwall_gfw'),
    tmo('passwall_chn'),
    ...CN_SAMPLE.split(', ').map((n) => `add passwall_chn ${n} timeout 0`),
    tmo('passwall_black'),
    tmo('passwall_white'),
    'add passwall_white 192.168.1.1 timeout 0',
    tmo('passwall_block'),
    '',
  ].join('\n');
  c.rows.push("| ipset passwall_local | the router's IPv4 addresses | 823, 935-937 |");
  c.rows.push('| ipset passwall_wan | empty: get_wan_ips skips interfaces named lan | 824, 206-231 |');
  c.rows.push('| ipset passwall_lan | rules/lanlist_ipv4 (documentation ranges included), the LAN prefix | 825, 198-200, 943-963 |');
  c.rows.push('| ipset passwall_vps | empty (the node\'s address, filter_vpsip, left out) | 826, 767-775 |');
  c.rows.push('| ipset passwall_shunt/gfw/black/block | empty (runtime lists), timeout 172800 | 827-832 |');
  c.rows.push('| ipset passwall_chn | rules/chnroute: a four-prefix stand-in, timeout 0 | 829, 845 |');
  c.rows.push('| ipset passwall_white | the ISP DNS (resolv.conf.auto: 192.168.1.1), timeout 0; direct_ip left empty | 831, 875-877, 970-976 |');
  const Q = "-m comment --comment \"'默认'\"";
  const E = '-m comment --comment 默认';
  const L = "-m comment --comment \"'本机'\"";
  const TP = '-m mark --mark 0x1 -j TPROXY --on-port 1041 --on-ip 0.0.0.0 --tproxy-mark 0x1/0x1';
  const RD = '-j REDIRECT --to-ports 1041';
  const NOT1 = '-m mark ! --mark 0x1 -j RETURN';
  const set = (n: string) => `-m set --match-set ${n} dst`;
  // The default ACL's TCP rules: nat PSW with REDIRECT, or (tproxy: ipt_tmp is mangle, ipt_j `-j PSW_RULE`) mangle PSW.
  const tcpTable = tproxy ? 'mangle PSW' : 'nat PSW';
  const tcpJ = tproxy ? '-j PSW_RULE' : RD;
  const tcpPorts = (line: string, what: string, target: string) => [
    r(tcpTable, `${line} (add_port_rules: 15 ports, then the rest)`, `-A PSW -p tcp ${E} -m multiport --dports ${ports15} ${what}${target}`),
    r(tcpTable, line, `-A PSW -p tcp ${E} -m multiport --dports ${portsRest} ${what}${target}`),
  ];
  const tcpDefault = () =>
    [
      r(tcpTable, '699', `-A PSW -d 198.18.0.0/15 -p tcp ${Q} ${tcpJ}`),
      ...tcpPorts('700', `${set('passwall_black')} `, tcpJ),
      ...tcpPorts('701', `${set('passwall_gfw')} `, tcpJ),
      ...tcpPorts('702 (chn_list direct: get_jump_ipt)', `${set('passwall_chn')} `, NOT1),
      ...tcpPorts('704', '', tcpJ),
    ].join('\n');
  const iptables = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:PSW - [0:0]
:PSW_DNS - [0:0]
:PSW_OUTPUT - [0:0]
${r('nat PREROUTING', '1357 (-I, last)', "-A PREROUTING -m comment --comment \"'PSW'\" -m mark --mark 0x1 -j RETURN")}
${r('nat PREROUTING', '1024 (-I 1)', '-A PREROUTING -j PSW_DNS')}
${only(false, () => r('nat PREROUTING', '1011 (insert_rule_after prerouting_rule: none, so -A)', '-A PREROUTING -p tcp -j PSW'))}
${r('nat PSW', '1000', `-A PSW ${set('passwall_lan')} -j RETURN`)}
${r('nat PSW', '1001', `-A PSW ${set('passwall_vps')} -j RETURN`)}
${only(false, () => r('nat PSW', '622', `-A PSW ${Q} ${set('passwall_white')} -j RETURN`))}
${only(false, tcpDefault)}
${r('nat PSW', '720', `-A PSW -p tcp ${Q} -j RETURN`)}
${r('nat PSW_DNS', '614', `-A PSW_DNS -p udp ${Q} -m udp --dport 53 -j REDIRECT --to-ports 11400`)}
${r('nat PSW_DNS', '616', `-A PSW_DNS -p tcp ${Q} -m tcp --dport 53 -j REDIRECT --to-ports 11400`)}
${r('nat PSW_OUTPUT', '1014', `-A PSW_OUTPUT ${set('passwall_lan')} -j RETURN`)}
${r('nat PSW_OUTPUT', '1015', `-A PSW_OUTPUT ${set('passwall_vps')} -j RETURN`)}
${r('nat PSW_OUTPUT', '1016', `-A PSW_OUTPUT ${set('passwall_white')} -j RETURN`)}
${r('nat PSW_OUTPUT', '1017', '-A PSW_OUTPUT -m mark --mark 0xff -j RETURN')}
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:PSW - [0:0]
:PSW_DIVERT - [0:0]
:PSW_OUTPUT - [0:0]
:PSW_RULE - [0:0]
${r('mangle PREROUTING', '1053 (insert_rule_before the PSW jump)', '-A PREROUTING -p tcp -m socket -j PSW_DIVERT')}
${r('mangle PREROUTING', '1052 (insert_rule_before mwan3: none, so -A)', '-A PREROUTING -j PSW')}
${r('mangle PSW', '1039', `-A PSW ${set('passwall_lan')} -j RETURN`)}
${r('mangle PSW', '1040', `-A PSW ${set('passwall_vps')} -j RETURN`)}
${only(true, () => r('mangle PSW', '1265 ([Local], localhost_proxy 1)', `-A PSW -i lo -p tcp ${L} ${TP}`))}
${only(true, () => r('mangle PSW', '1269 ([Local])', `-A PSW -i lo -p tcp ${L} -j RETURN`))}
${r('mangle PSW', '1320 ([Local], localhost_proxy 1; UDP on the TCP node\'s port)', `-A PSW -i lo -p udp ${L} ${TP}`)}
${r('mangle PSW', '1322 ([Local])', `-A PSW -i lo -p udp ${L} -j RETURN`)}
${r('mangle PSW', '610', `-A PSW -p udp ${Q} -m udp --dport 53 -j RETURN`)}
${r('mangle PSW', '612', `-A PSW -p tcp ${Q} -m tcp --dport 53 -j RETURN`)}
${r('mangle PSW', '621', `-A PSW ${Q} ${set('passwall_block')} -j DROP`)}
${only(true, () => r('mangle PSW', '622', `-A PSW ${Q} ${set('passwall_white')} -j RETURN`))}
${r('mangle PSW', '655 (udp_proxy_drop_ports 443)', `-A PSW -d 198.18.0.0/15 -p udp ${E} -m multiport --dports 443 -j DROP`)}
${r('mangle PSW', '656', `-A PSW -p udp ${E} -m multiport --dports 443 ${set('passwall_black')} -j DROP`)}
${r('mangle PSW', '657', `-A PSW -p udp ${E} -m multiport --dports 443 ${set('passwall_gfw')} -j DROP`)}
${r('mangle PSW', '658', `-A PSW -p udp ${E} -m multiport --dports 443 ${set('passwall_chn')} ${NOT1}`)}
${r('mangle PSW', '660', `-A PSW -p udp ${E} -m multiport --dports 443 -j DROP`)}
${only(true, tcpDefault)}
${only(true, () => r('mangle PSW', '705 (tproxy only)', `-A PSW -p tcp ${Q} ${TP}`))}
${r('mangle PSW', '721', `-A PSW -p tcp ${Q} -j RETURN`)}
${r('mangle PSW', '733', `-A PSW -d 198.18.0.0/15 -p udp ${Q} -j PSW_RULE`)}
${r('mangle PSW', '734 (udp_redir_ports 1:65535: one rule)', `-A PSW -p udp ${E} ${set('passwall_black')} -j PSW_RULE`)}
${r('mangle PSW', '735', `-A PSW -p udp ${E} ${set('passwall_gfw')} -j PSW_RULE`)}
${r('mangle PSW', '736', `-A PSW -p udp ${E} ${set('passwall_chn')} ${NOT1}`)}
${r('mangle PSW', '738', `-A PSW -p udp ${E} -j PSW_RULE`)}
${r('mangle PSW', '739', `-A PSW -p udp ${Q} ${TP}`)}
${r('mangle PSW', '754', `-A PSW -p udp ${Q} -j RETURN`)}
${r('mangle PSW_DIVERT', '1028', '-A PSW_DIVERT -j MARK --set-xmark 0x1/0xffffffff')}
${r('mangle PSW_DIVERT', '1029', '-A PSW_DIVERT -j ACCEPT')}
${r('mangle PSW_OUTPUT', '1056', `-A PSW_OUTPUT ${set('passwall_lan')} -j RETURN`)}
${r('mangle PSW_OUTPUT', '1057', `-A PSW_OUTPUT ${set('passwall_vps')} -j RETURN`)}
${r('mangle PSW_OUTPUT', '1076', `-A PSW_OUTPUT ${set('passwall_block')} -j DROP`)}
${r('mangle PSW_OUTPUT', '1077', `-A PSW_OUTPUT ${set('passwall_white')} -j RETURN`)}
${r('mangle PSW_OUTPUT', '1078', '-A PSW_OUTPUT -m mark --mark 0xff -j RETURN')}
${r('mangle PSW_RULE', '1032', '-A PSW_RULE -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff')}
${r('mangle PSW_RULE', '1033', '-A PSW_RULE -m mark --mark 0x1 -j RETURN')}
${r('mangle PSW_RULE', '1034', '-A PSW_RULE -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j MARK --set-xmark 0x1/0xffffffff')}
${r('mangle PSW_RULE', '1035', '-A PSW_RULE -p udp -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff')}
${r('mangle PSW_RULE', '1036', '-A PSW_RULE -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff')}
COMMIT
`.replace(/\n\n+/g, '\n');
  c.rows.push('| ip rule / route | `ip rule add fwmark 1 lookup 100`, `ip route add local 0.0.0.0/0 dev lo table 100` | 1080-1081 |');
  const lead = tproxy
    ? 'Passwall on fw3, tcp_proxy_way tproxy (0_default_config:46 has redirect; app.sh:1968 reads it): with is_tproxy set (993-997) ' +
      'nat PREROUTING has no TCP jump to PSW (1011), the default ACL writes its TCP rules into mangle PSW with `-j PSW_RULE` (576-577, ' +
      '673-676, 699-704) and the TPROXY of what PSW_RULE marked (705), and the [Local] TCP TPROXY lands in mangle PSW too (1265, 1269); ' +
      'PSW_RULE (1031-1036) marks a bare SYN (`--tcp-flags FIN,SYN,RST,ACK SYN`, so not a SYN-ACK) and a new UDP entry. Otherwise as passwall-fw3: '
    : '';
  return {
    name: tproxy ? 'passwall-fw3-tproxy' : 'passwall-fw3',
    source:
      lead +
      'Passwall on fw3 (iptables-legacy + ipset; app.sh uses iptables.sh where fw4 or a dnsmasq with nftset is missing), ' +
      "the passwall-nft fixture's options (0_default_config at e33d57c4: tcp_proxy_way redirect, tcp_redir_ports the 16-port list, " +
      'udp_redir_ports 1:65535, udp_proxy_drop_ports 443, the direct, proxy, block and GFW lists on, chn_list direct, ' +
      'localhost_proxy 1, client_proxy 1, dns_redirect 1; one node for TCP with UDP on it (TCP_UDP), TCP_REDIR_PORT 1041, DNS ' +
      "through the copy dnsmasq on 11400). A plain node (no shunt). iptables' multiport takes at most 15 ports, so add_port_rules " +
      'writes each 16-port rule as two. Left out: the ip6tables rules (the fixture is IPv4), the [Local] rules in output hooks ' +
      '(nat/mangle OUTPUT jumps, PSW_OUTPUT redirects and drops, the remote DNS access rules of hosts_foreach and the ' +
      "IPT_APPEND_DNS returns, 1059-1074, 1145-1341), and fw3's own chains (the PSW jumps append, as insert_rule_after/before " +
      'find no prerouting_rule or mwan3 in PREROUTING itself).\n\n' +
      c.table('Openwrt-Passwall/openwrt-passwall', 'e33d57c4', 'luci-app-passwall/root/usr/share/passwall/iptables.sh'),
    iptables,
    iptablesVariant: 'legacy',
    ipset,
    ip: PSW_ROUTE,
  };
}

// Passwall2: Openwrt-Passwall/openwrt-passwall2 at 7d7dd9b6 (2026-02-01),
// luci-app-passwall2/root/usr/share/passwall2/nftables.sh (add_firewall_rule and the default ACL of
// load_acl), app.sh (get_config) and 0_default_config. Own table inet passwall2, one REDIR_PORT (1041,
// get_new_port 1041) for TCP and UDP; DNS_REDIRECT_PORT 11400 (the copy dnsmasq, get_new_port 11400).
// Two fixtures: the defaults (tcp_proxy_way redirect with tcp_redir_ports 1:65535, the default since
// a22e5fb, 2026-01-12: every TCP port, so REDIRECT of the server's mid-stream replies), and TPROXY
// (tcp_proxy_way tproxy) with the port list that was the default before.

const PSW2_COMMIT = '7d7dd9b6';
const PSW2_FILE = 'luci-app-passwall2/root/usr/share/passwall2/nftables.sh';
const PSW2_OLD_TCP_PORTS = '22,25,53,80,143,443,465,587,853,873,993,995,5222,8080,8443,9418';

function passwall2Fixture(name: string, way: 'redirect' | 'tproxy', tcpPorts: string): Fixture {
  const c = new Cited();
  const tproxy = way === 'tproxy';
  const dport = tcpPorts === '1:65535' ? '' : ` tcp dport { ${tcpPorts.split(',').join(', ')} }`;
  const set = (n: string, type: string, line: string, elements?: string) => {
    c.rows.push(`| set ${n} | ${type}, flags interval, timeout${elements ? `; ${elements.length > 60 ? 'see fixtures.ts' : elements}` : ''} | ${line} |`);
    return `  set ${n} {
    type ${type}
    flags interval,timeout
    auto-merge
${elements ? `    elements = { ${elements} }\n` : ''}  }`;
  };
  const LAN6 =
    '::/128, ::1/128, ::ffff:0:0/96, ::ffff:0:0:0/96, 64:ff9b::/96, 100::/64, 2001::/32, 2001:20::/28, 2001:db8::/32, 2002::/16, fc00::/7, fe80::/10, ff00::/8';
  const sets = [
    set('passwall2_wan', 'ipv4_addr', '707'),
    set('passwall2_local', 'ipv4_addr', '708, 717 (the router\'s addresses)', '127.0.0.1, 192.168.1.2'),
    set('passwall2_lan', 'ipv4_addr', '709, 204-215 (gen_lanlist), 729', LOCALNETWORK.join(', ')),
    set('passwall2_vps', 'ipv4_addr', '710'),
    set('passwall2_wan6', 'ipv6_addr', '712'),
    set('passwall2_local6', 'ipv6_addr', '713'),
    set('passwall2_lan6', 'ipv6_addr', '714, gen_lanlist_6', LAN6),
    set('passwall2_vps6', 'ipv6_addr', '715'),
    set('passwall2_global_white', 'ipv4_addr', '749'),
    set('passwall2_global_white6', 'ipv6_addr', '750'),
  ].join('\n');
  const nj = tproxy ? 'counter jump PSW2_RULE' : 'counter redirect to :1041';
  const tcpChain = tproxy ? 'PSW2_MANGLE' : 'PSW2_NAT';
  const defaultTcp = [
    c.rule(tcpChain, '602', `ip protocol tcp ip daddr 198.18.0.0/16 ${nj} comment "Default"`),
    c.rule(tcpChain, '604', `ip protocol tcp${dport} ${nj} comment "Default"`),
    tproxy ? c.rule('PSW2_MANGLE', '605', 'ip protocol tcp counter meta mark 1 tproxy ip to :1041 comment "Default"') : '',
  ].filter(Boolean);
  const defaultUdp = [
    c.rule('PSW2_MANGLE', '620', 'ip protocol udp ip daddr 198.18.0.0/16 counter jump PSW2_RULE comment "Default"'),
    c.rule('PSW2_MANGLE', '622', 'ip protocol udp counter jump PSW2_RULE comment "Default"'),
    c.rule('PSW2_MANGLE', '623', 'ip protocol udp counter meta mark 1 tproxy ip to :1041 comment "Default"'),
  ];
  const nft = `table inet passwall2 {
${sets}
  chain dstnat {
    type nat hook prerouting priority dstnat - 1; policy accept;
${c.rule('dstnat', '782', 'jump PSW2_DNS')}
${tproxy ? '' : c.rule('dstnat', '826', 'ip protocol tcp counter jump PSW2_NAT')}
  }
  chain mangle_prerouting {
    type filter hook prerouting priority mangle - 1; policy accept;
${c.rule('mangle_prerouting', '817', 'ip protocol udp counter jump PSW2_MANGLE')}
${tproxy ? c.rule('mangle_prerouting', '818', 'ip protocol tcp counter jump PSW2_MANGLE') : ''}
  }
  chain mangle_output {
    type route hook output priority mangle - 1; policy accept;
  }
  chain nat_output {
    type nat hook output priority -1; policy accept;
  }
  chain PSW2_DNS {
${c.rule('PSW2_DNS', '569', 'ip protocol udp udp dport 53 counter redirect to :11400 comment "Default"')}
${c.rule('PSW2_DNS', '570', 'ip protocol tcp tcp dport 53 counter redirect to :11400 comment "Default"')}
${c.rule('PSW2_DNS', '571', 'meta l4proto udp udp dport 53 counter redirect to :11400 comment "Default"')}
${c.rule('PSW2_DNS', '572', 'meta l4proto tcp tcp dport 53 counter redirect to :11400 comment "Default"')}
  }
  chain PSW2_RULE {
${c.rule('PSW2_RULE', '788', 'meta mark set ct mark counter')}
${c.rule('PSW2_RULE', '789', 'meta mark 1 counter return')}
${c.rule('PSW2_RULE', '790', 'tcp flags syn meta mark set mark and 0x0 xor 0x1 counter')}
${c.rule('PSW2_RULE', '791', 'meta l4proto udp ct state new,related meta mark set mark and 0x0 xor 0x1 counter')}
${c.rule('PSW2_RULE', '792', 'ct mark set mark counter')}
  }
  chain PSW2_MANGLE {
${c.rule('PSW2_MANGLE', '797', 'ip daddr @passwall2_lan counter return')}
${c.rule('PSW2_MANGLE', '798', 'ip daddr @passwall2_vps counter return')}
${c.rule('PSW2_MANGLE', '799', 'ct direction reply counter return')}
${tproxy ? defaultTcp.join('\n') : ''}
${defaultUdp.join('\n')}
  }
  chain PSW2_OUTPUT_MANGLE {
${c.rule('PSW2_OUTPUT_MANGLE', '803', 'ip daddr @passwall2_lan counter return')}
${c.rule('PSW2_OUTPUT_MANGLE', '804', 'ip daddr @passwall2_vps counter return')}
${c.rule('PSW2_OUTPUT_MANGLE', '805', 'ct direction reply counter return')}
${c.rule('PSW2_OUTPUT_MANGLE', '814', 'meta mark 0xff counter return')}
  }
${
  tproxy
    ? ''
    : `  chain PSW2_NAT {
${c.rule('PSW2_NAT', '824', 'ip daddr @passwall2_lan counter return')}
${c.rule('PSW2_NAT', '825', 'ip daddr @passwall2_vps counter return')}
${defaultTcp.join('\n')}
  }
  chain PSW2_OUTPUT_NAT {
${c.rule('PSW2_OUTPUT_NAT', '830', 'ip daddr @passwall2_lan counter return')}
${c.rule('PSW2_OUTPUT_NAT', '831', 'ip daddr @passwall2_vps counter return')}
${c.rule('PSW2_OUTPUT_NAT', '832', 'meta mark 0xff counter return')}
  }`
}
  chain PSW2_MANGLE_V6 {
${c.rule('PSW2_MANGLE_V6', '866', 'ip6 daddr @passwall2_lan6 counter return')}
${c.rule('PSW2_MANGLE_V6', '867', 'ip6 daddr @passwall2_vps6 counter return')}
${c.rule('PSW2_MANGLE_V6', '868', 'ct direction reply counter return')}
  }
  chain PSW2_OUTPUT_MANGLE_V6 {
${c.rule('PSW2_OUTPUT_MANGLE_V6', '872', 'ip6 daddr @passwall2_lan6 counter return')}
${c.rule('PSW2_OUTPUT_MANGLE_V6', '873', 'ip6 daddr @passwall2_vps6 counter return')}
${c.rule('PSW2_OUTPUT_MANGLE_V6', '874', 'ct direction reply counter return')}
${c.rule('PSW2_OUTPUT_MANGLE_V6', '875', 'meta mark 0xff counter return')}
  }
}
`;
  c.rows.push('| base chains | dstnat (dstnat - 1), mangle_prerouting (mangle - 1), mangle_output, nat_output | 129-152 (gen_nft_tables) |');
  c.rows.push('| ip rule / route | `ip rule add fwmark 1 lookup 100`, `ip route add local 0.0.0.0/0 dev lo table 100` | 860-861 |');
  return {
    name,
    source:
      `Passwall2, tcp_proxy_way ${way}, tcp_redir_ports ${tcpPorts}${tcpPorts === '1:65535' ? ' (0_default_config:30,34 and app.sh get_config: the defaults)' : ' (the default list before a22e5fb, 2026-01-12)'}; ` +
      'udp_redir_ports 1:65535, tcp/udp_no_redir_ports disable, accept_icmp 0, ipv6_tproxy 0, client_proxy 1; a plain node ' +
      "(the default node 'myshunt' is a shunt node: add_shunt_t_rule then adds an `ip daddr @<set>` rule per shunt rule before the catch-alls; left out), " +
      'DNS through the copy dnsmasq on 11400 (app.sh), no WAN address on the side router. Left out: the [Local] rules of ' +
      'add_firewall_rule for the router\'s own traffic (output hooks only). The comment "Default" is i18n("Default") in English.\n\n' +
      c.table('Openwrt-Passwall/openwrt-passwall2', PSW2_COMMIT, PSW2_FILE),
    nft: nft.replace(/\n\n+/g, '\n'),
    ip: PSW_ROUTE,
  };
}

const PSW_ROUTE = ['rule add fwmark 1 lookup 100', 'route add local 0.0.0.0/0 dev lo table 100'];

/**
 * Passwall2 as released from 25.11.14 to 26.1.1: nftables.sh as changed by 8e9c46f (2025-11-14, the first release with
 * `tcp flags syn` and `ct direction reply` came with 4aaec7c, 2025-11-05), with that release's defaults
 * (0_default_config: tcp_proxy_way redirect, tcp_redir_ports the 16-port list, udp_redir_ports 1:65535). Unlike the
 * two fixtures above, the [Local] rules that land in PSW2_MANGLE (prerouting) are here.
 */
function passwall2Nft2511Fixture(): Fixture {
  const c = new Cited();
  const r = (chain: string, line: string, text: string) => c.rule(chain, line, text);
  const set = (n: string, type: string, line: string, elements?: string) => {
    c.rows.push(`| set ${n} | ${type}, flags interval, timeout${elements ? `; ${elements.length > 60 ? 'see fixtures.ts' : elements}` : ''} | ${line} |`);
    return `  set ${n} {
    type ${type}
    flags interval,timeout
    auto-merge
${elements ? `    elements = { ${elements} }\n` : ''}  }`;
  };
  const LAN6 =
    '::/128, ::1/128, ::ffff:0:0/96, ::ffff:0:0:0/96, 64:ff9b::/96, 100::/64, 2001::/32, 2001:20::/28, 2001:db8::/32, 2002::/16, fc00::/7, fe80::/10, ff00::/8';
  const sets = [
    set('passwall2_local', 'ipv4_addr', "701, 709 (the router's addresses)", '127.0.0.1, 192.168.1.2'),
    set('passwall2_lan', 'ipv4_addr', '702, 199-211 (gen_lanlist), 721, 727', LOCALNETWORK.join(', ')),
    set('passwall2_vps', 'ipv4_addr', '703'),
    set('passwall2_local6', 'ipv6_addr', '705'),
    set('passwall2_lan6', 'ipv6_addr', '706, 213 (gen_lanlist_6)', LAN6),
    set('passwall2_vps6', 'ipv6_addr', '707'),
    set('passwall2_global_white', 'ipv4_addr', '741'),
    set('passwall2_global_white6', 'ipv6_addr', '742'),
  ].join('\n');
  const ports = `tcp dport { ${PSW2_OLD_TCP_PORTS.split(',').join(', ')} }`;
  const nft = `table inet passwall2 {
${sets}
  chain dstnat {
    type nat hook prerouting priority dstnat - 1; policy accept;
${r('dstnat', '774', 'jump PSW2_DNS')}
${r('dstnat', '818', 'ip protocol tcp counter jump PSW2_NAT')}
  }
  chain mangle_prerouting {
    type filter hook prerouting priority mangle - 1; policy accept;
${r('mangle_prerouting', '809', 'ip protocol udp counter jump PSW2_MANGLE')}
  }
  chain mangle_output {
    type route hook output priority mangle - 1; policy accept;
  }
  chain nat_output {
    type nat hook output priority -1; policy accept;
  }
  chain PSW2_DNS {
${r('PSW2_DNS', '563', 'ip protocol udp udp dport 53 counter redirect to :11400 comment "Default"')}
${r('PSW2_DNS', '564', 'ip protocol tcp tcp dport 53 counter redirect to :11400 comment "Default"')}
${r('PSW2_DNS', '565', 'meta l4proto udp udp dport 53 counter redirect to :11400 comment "Default"')}
${r('PSW2_DNS', '566', 'meta l4proto tcp tcp dport 53 counter redirect to :11400 comment "Default"')}
  }
  chain PSW2_RULE {
${r('PSW2_RULE', '780', 'meta mark set ct mark counter')}
${r('PSW2_RULE', '781', 'meta mark 1 counter return')}
${r('PSW2_RULE', '782', 'tcp flags syn meta mark set mark and 0x0 xor 0x1 counter')}
${r('PSW2_RULE', '783', 'meta l4proto udp ct state new,related meta mark set mark and 0x0 xor 0x1 counter')}
${r('PSW2_RULE', '784', 'ct mark set mark counter')}
  }
  chain PSW2_MANGLE {
${r('PSW2_MANGLE', '789', 'ip daddr @passwall2_lan counter return')}
${r('PSW2_MANGLE', '790', 'ip daddr @passwall2_vps counter return')}
${r('PSW2_MANGLE', '791', 'ct direction reply counter return')}
${r('PSW2_MANGLE', '971 ([Local], localhost_proxy 1)', 'ip protocol udp iif "lo" counter meta mark 1 tproxy ip to :1041 comment "Local"')}
${r('PSW2_MANGLE', '972 ([Local])', 'ip protocol udp iif "lo" counter return comment "Local"')}
${r('PSW2_MANGLE', '994', 'ip protocol udp udp dport 53 counter return')}
${r('PSW2_MANGLE', '614', 'ip protocol udp ip daddr 198.18.0.0/16 counter jump PSW2_RULE comment "Default"')}
${r('PSW2_MANGLE', '616', 'ip protocol udp counter jump PSW2_RULE comment "Default"')}
${r('PSW2_MANGLE', '617', 'ip protocol udp counter meta mark 1 tproxy ip to :1041 comment "Default"')}
  }
  chain PSW2_OUTPUT_MANGLE {
${r('PSW2_OUTPUT_MANGLE', '795', 'ip daddr @passwall2_lan counter return')}
${r('PSW2_OUTPUT_MANGLE', '796', 'ip daddr @passwall2_vps counter return')}
${r('PSW2_OUTPUT_MANGLE', '797', 'ct direction reply counter return')}
${r('PSW2_OUTPUT_MANGLE', '806', 'meta mark 0xff counter return')}
  }
  chain PSW2_NAT {
${r('PSW2_NAT', '816', 'ip daddr @passwall2_lan counter return')}
${r('PSW2_NAT', '817', 'ip daddr @passwall2_vps counter return')}
${r('PSW2_NAT', '596', 'ip protocol tcp ip daddr 198.18.0.0/16 counter redirect to :1041 comment "Default"')}
${r('PSW2_NAT', '598', `ip protocol tcp ${ports} counter redirect to :1041 comment "Default"`)}
  }
  chain PSW2_OUTPUT_NAT {
${r('PSW2_OUTPUT_NAT', '822', 'ip daddr @passwall2_lan counter return')}
${r('PSW2_OUTPUT_NAT', '823', 'ip daddr @passwall2_vps counter return')}
${r('PSW2_OUTPUT_NAT', '824', 'meta mark 0xff counter return')}
  }
  chain PSW2_MANGLE_V6 {
${r('PSW2_MANGLE_V6', '856', 'ip6 daddr @passwall2_lan6 counter return')}
${r('PSW2_MANGLE_V6', '857', 'ip6 daddr @passwall2_vps6 counter return')}
${r('PSW2_MANGLE_V6', '858', 'ct direction reply counter return')}
  }
  chain PSW2_OUTPUT_MANGLE_V6 {
${r('PSW2_OUTPUT_MANGLE_V6', '862', 'ip6 daddr @passwall2_lan6 counter return')}
${r('PSW2_OUTPUT_MANGLE_V6', '863', 'ip6 daddr @passwall2_vps6 counter return')}
${r('PSW2_OUTPUT_MANGLE_V6', '864', 'ct direction reply counter return')}
${r('PSW2_OUTPUT_MANGLE_V6', '865', 'meta mark 0xff counter return')}
  }
}
`;
  c.rows.push('| base chains | dstnat (dstnat - 1), mangle_prerouting (mangle - 1), mangle_output, nat_output | 129-147 (gen_nft_tables) |');
  c.rows.push('| ip rule / route | `ip rule add fwmark 1 lookup 100`, `ip route add local 0.0.0.0/0 dev lo table 100` | 850-851 |');
  return {
    name: 'passwall2-nft-25.11',
    source:
      'Passwall2 25.11.14 (Openwrt-Passwall/openwrt-passwall2@6fc5d72, the release commit; nftables.sh last changed by 8e9c46f, ' +
      'and the same in the releases up to 26.1.1, 4dfe421: the next change is 8034313, 2026-01-06), with that release\'s defaults ' +
      '(luci-app-passwall2/root/usr/share/passwall2/0_default_config at 8e9c46f:30-34: tcp_proxy_way redirect, tcp_redir_ports ' +
      `${PSW2_OLD_TCP_PORTS}, udp_redir_ports 1:65535; app.sh get_config at 6fc5d72:1396-1417: tcp/udp_no_redir_ports disable, ` +
      'localhost_proxy 1, client_proxy 1, REDIR_PORT 1041, DNS through the copy dnsmasq on 11400, app.sh:855). A plain node, as in ' +
      'the fixtures of today\'s release. The comment "Default" / "Local" is i18n() in English (since c9ff003, 2025-11-12). ' +
      'get_wan_ip (network_find_wan) finds no WAN interface on a side router, so there is no WAN_IP_RETURN rule (843-848). ' +
      'Left out: the [Local] rules in output hooks (nat_output, mangle_output, PSW2_OUTPUT_*: the router\'s own traffic).\n\n' +
      'Against today\'s nftables.sh (7d7dd9b6, the passwall2-nft fixtures): the same rules on the path of a forward\'s reply; ' +
      'the default that changed is tcp_redir_ports (1:65535 since a22e5fb, 2026-01-12), so here the server\'s TCP replies (to ' +
      "the client's port) are not redirected, while UDP is taken as today. The TPROXY SYN gate `tcp flags syn` (782) matches " +
      'a SYN-ACK too (the exact SYN `tcp flags & (fin | syn | rst | ack) == syn` before 4aaec7c); it acts only with tcp_proxy_way tproxy.\n\n' +
      c.table('Openwrt-Passwall/openwrt-passwall2', '6fc5d72', PSW2_FILE),
    nft,
    ip: PSW_ROUTE,
  };
}

/** Collects, for SOURCE.md, the upstream line of each iptables-save line (iptables fixtures). */
function iptCited(): { c: Cited; r: (chain: string, line: string, text: string) => string } {
  const c = new Cited();
  return {
    c,
    r: (chain, line, text) => {
      c.rows.push(`| ${chain} | \`${text.replace(/\|/g, '\\|')}\` | ${line} |`);
      return text;
    },
  };
}

// Passwall2 on fw3 (iptables-legacy + ipset): luci-app-passwall2/root/usr/share/passwall2/iptables.sh at the
// same commit as the nft fixtures (add_firewall_rule, the [Local] part of its default ACL, and load_acl's
// default ACL), the same options. app.sh picks iptables when ipset, iptables and a dnsmasq with ipset are there
// (check_run_environment, app.sh:38-40), as on a fw3 image. `$(comment …)` is expanded unquoted, so its single
// quotes stay in the comment ('Default'); add_port_rules runs its command through eval, which removes them.
const PSW2_IPT_FILE = 'luci-app-passwall2/root/usr/share/passwall2/iptables.sh';

/**
 * passwall2-fw3-tproxy: what tcp_proxy_way tproxy changes in iptables.sh (the rest is as in passwall2-fw3). Unlike
 * nftables.sh, whose PSW2_RULE has marked `tcp flags syn` (a SYN-ACK too) since 4aaec7c (2025-11-05), iptables.sh's
 * PSW2_RULE marks an exact SYN: the same commit wrote `--tcp-flags FIN,SYN,RST,ACK SYN` as `--syn`, the same match.
 */
const PSW2_FW3_TPROXY_LEAD =
  'Passwall2 on fw3, tcp_proxy_way tproxy (0_default_config:34 has redirect; app.sh:1237 reads it): with is_tproxy set ' +
  '(745-749) nat PREROUTING has no TCP jump to PSW2 (756), the default ACL writes its TCP rules into mangle PSW2 (ipt_tmp, ' +
  '519-520) with `-j PSW2_RULE` (555-557, 575-577) and adds the TPROXY of what PSW2_RULE marked (578; REDIRECT with TPROXY ' +
  'is `-m mark --mark 1 -j TPROXY --tproxy-mark 0x1/0x1 --on-port 1041`, 151-161); the [Local] TCP rules go into mangle ' +
  'PSW2_OUTPUT (867-868, 923-931), nat OUTPUT gets no TCP jump (932), mangle PSW2 gets the [Local] TCP TPROXY on lo and its ' +
  'return (934-935) and mangle OUTPUT the TCP jump to PSW2_OUTPUT (936). PSW2_RULE (771-776) marks an exact SYN only: `-p tcp ' +
  '-m tcp --syn` (774), which iptables-save prints as `--tcp-flags FIN,SYN,RST,ACK SYN`, so not a SYN-ACK; and mangle PSW2 ' +
  'returns `--ctdir REPLY` first (781). 4aaec7c (2025-11-05) turned the exact-SYN match of nftables.sh into `tcp flags syn` ' +
  "(which matches a SYN-ACK: passwall2-nft), but in iptables.sh only re-spelt `--tcp-flags FIN,SYN,RST,ACK SYN` as `--syn`, " +
  'the same match; no later commit up to 7d7dd9b6 touches that line. So the server\'s SYN-ACK and its later segments are ' +
  'never marked and pass the TPROXY, while its UDP replies (a new UDP entry on the side router) are marked and taken. ' +
  'Otherwise as passwall2-fw3: ';

function passwall2Fw3Fixture(way: 'redirect' | 'tproxy' = 'redirect'): Fixture {
  const tproxy = way === 'tproxy';
  const { c, r } = iptCited();
  /** A rule only in tproxy mode (on: true) or only in redirect mode (on: false): '' otherwise. */
  const only = (on: boolean, text: () => string) => (on === tproxy ? text() : '');
  const lan6 =
    '::/128 ::1/128 ::ffff:0:0/96 ::ffff:0:0:0/96 64:ff9b::/96 100::/64 2001::/32 2001:20::/28 2001:db8::/32 2002::/16 fc00::/7 fe80::/10 ff00::/8'.split(' ');
  const ipset = [
    'create passwall2_local hash:net family inet hashsize 1024 maxelem 1048576',
    'add passwall2_local 127.0.0.1',
    'add passwall2_local 192.168.1.2',
    'create passwall2_wan hash:net family inet hashsize 1024 maxelem 1048576',
    'add passwall2_wan 192.168.1.2',
    'create passwall2_lan hash:net family inet hashsize 1024 maxelem 1048576',
    ...LOCALNETWORK.map((n) => `add passwall2_lan ${n}`),
    'add passwall2_lan 192.168.1.0/24',
    'add passwall2_lan 192.168.1.1',
    'create passwall2_vps hash:net family inet hashsize 1024 maxelem 1048576',
    'create passwall2_local6 hash:net family inet6 hashsize 1024 maxelem 1048576',
    'create passwall2_wan6 hash:net family inet6 hashsize 1024 maxelem 1048576',
    'create passwall2_lan6 hash:net family inet6 hashsize 1024 maxelem 1048576',
    ...lan6.map((n) => `add passwall2_lan6 ${n}`),
    'create passwall2_vps6 hash:net family inet6 hashsize 1024 maxelem 1048576',
    'create passwall2_global_white hash:net family inet hashsize 1024 maxelem 1048576 timeout 259200',
    'create passwall2_global_white6 hash:net family inet6 hashsize 1024 maxelem 1048576 timeout 259200',
    '',
  ].join('\n');
  c.rows.push("| ipset passwall2_local | the router's IPv4 addresses (`ip address show`) | 672, 682-684 |");
  c.rows.push(
    '| ipset passwall2_wan | the address of each interface with a route (get_wan_ips: on a side router, lan with its gateway) | 673, 203-228, 783-788 |',
  );
  c.rows.push(
    '| ipset passwall2_lan | gen_lanlist, the LAN interface\'s own prefix (192.168.1.2/24), the ISP DNS (resolv.conf.auto: 192.168.1.1) | 674, 171-183, 689-691, 698-708, 715-720 |',
  );
  c.rows.push('| ipset passwall2_vps | empty (the node\'s address, added by filter_vpsip, is left out) | 675, 618-623 |');
  c.rows.push('| ipset passwall2_*6 | lan6: gen_lanlist_6; the others empty (the fixture runs without IPv6) | 677-680, 185-201, 693-695 |');
  c.rows.push('| ipset passwall2_global_white(6) | empty, timeout 259200 | 729-732 |');
  const D = "-m comment --comment \"'Default'\"";
  const L = "-m comment --comment \"'Local'\"";
  const TP = '-m mark --mark 0x1 -j TPROXY --on-port 1041 --on-ip 0.0.0.0 --tproxy-mark 0x1/0x1';
  // The default ACL's TCP target (555-561): REDIRECT in nat PSW2, or (tproxy: ipt_tmp is mangle, 519-520) PSW2_RULE.
  const tcpJ = tproxy ? '-j PSW2_RULE' : '-j REDIRECT --to-ports 1041';
  const tcpTable = tproxy ? 'mangle PSW2' : 'nat PSW2';
  const tcpDefault = () =>
    [
      r(tcpTable, '575', `-A PSW2 -d 198.18.0.0/16 -p tcp ${D} ${tcpJ}`),
      r(tcpTable, '577 (add_port_rules, 1:65535: one rule, through eval)', `-A PSW2 -p tcp -m comment --comment Default ${tcpJ}`),
    ].join('\n');
  // The [Local] TCP rules (929-931): nat PSW2_OUTPUT with REDIRECT, or mangle PSW2_OUTPUT into PSW2_RULE.
  const tcpLocal = () =>
    [
      r(`${tproxy ? 'mangle' : 'nat'} PSW2_OUTPUT`, '929', `-A PSW2_OUTPUT -d 198.18.0.0/16 -p tcp ${tcpJ}`),
      r(`${tproxy ? 'mangle' : 'nat'} PSW2_OUTPUT`, '931 (add_port_rules, 1:65535)', `-A PSW2_OUTPUT -p tcp ${tcpJ}`),
    ].join('\n');
  const iptables = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:PSW2 - [0:0]
:PSW2_DNS - [0:0]
:PSW2_OUTPUT - [0:0]
${r('nat PREROUTING', '768 (-I)', '-A PREROUTING -j PSW2_DNS')}
${only(false, () => r('nat PREROUTING', '756 (insert_rule_after prerouting_rule: none, so -A)', '-A PREROUTING -p tcp -j PSW2'))}
${r('nat OUTPUT', '898', "-A OUTPUT -o lo -p udp -m comment --comment \"'PSW2_DNS'\" -m udp --dport 53 -j REDIRECT --to-ports 11400")}
${r('nat OUTPUT', '900', "-A OUTPUT -o lo -p tcp -m comment --comment \"'PSW2_DNS'\" -m tcp --dport 53 -j REDIRECT --to-ports 11400")}
${only(false, () => r('nat OUTPUT', '932', '-A OUTPUT -p tcp -j PSW2_OUTPUT'))}
${r('nat PSW2', '752', '-A PSW2 -m set --match-set passwall2_lan dst -j RETURN')}
${r('nat PSW2', '753', '-A PSW2 -m set --match-set passwall2_vps dst -j RETURN')}
${r('nat PSW2', '789', "-A PSW2 -m comment --comment \"'WAN_IP_RETURN'\" -m set --match-set passwall2_wan dst -j RETURN")}
${only(false, tcpDefault)}
${r('nat PSW2_DNS', '546', `-A PSW2_DNS -p udp ${D} -m udp --dport 53 -j REDIRECT --to-ports 11400`)}
${r('nat PSW2_DNS', '548', `-A PSW2_DNS -p tcp ${D} -m tcp --dport 53 -j REDIRECT --to-ports 11400`)}
${r('nat PSW2_OUTPUT', '759', '-A PSW2_OUTPUT -m set --match-set passwall2_lan dst -j RETURN')}
${r('nat PSW2_OUTPUT', '760', '-A PSW2_OUTPUT -m set --match-set passwall2_vps dst -j RETURN')}
${r('nat PSW2_OUTPUT', '761', '-A PSW2_OUTPUT -m mark --mark 0xff -j RETURN')}
${only(false, tcpLocal)}
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:PSW2 - [0:0]
:PSW2_OUTPUT - [0:0]
:PSW2_RULE - [0:0]
${r('mangle PREROUTING', '794 (insert_rule_before mwan3: none, so -A)', '-A PREROUTING -j PSW2')}
${r('mangle OUTPUT', '982 (-I)', "-A OUTPUT -o lo -m comment --comment \"'mangle-OUTPUT-PSW2'\" -j RETURN")}
${only(true, () => r('mangle OUTPUT', '936 (insert_rule_before mwan3: none, so -A)', "-A OUTPUT -p tcp -m comment --comment \"'mangle-OUTPUT-PSW2'\" -j PSW2_OUTPUT"))}
${r('mangle OUTPUT', '963', "-A OUTPUT -p udp -m comment --comment \"'mangle-OUTPUT-PSW2'\" -j PSW2_OUTPUT")}
${r('mangle OUTPUT', '983', "-A OUTPUT -m comment --comment \"'mangle-OUTPUT-PSW2'\" -m mark --mark 0x1 -j RETURN")}
${r('mangle PSW2', '779', '-A PSW2 -m set --match-set passwall2_lan dst -j RETURN')}
${r('mangle PSW2', '780', '-A PSW2 -m set --match-set passwall2_vps dst -j RETURN')}
${r('mangle PSW2', '781', '-A PSW2 -m conntrack --ctdir REPLY -j RETURN')}
${r('mangle PSW2', '790', "-A PSW2 -m comment --comment \"'WAN_IP_RETURN'\" -m set --match-set passwall2_wan dst -j RETURN")}
${only(true, () => r('mangle PSW2', '934 ([Local], localhost_proxy 1)', `-A PSW2 -i lo -p tcp ${L} ${TP}`))}
${only(true, () => r('mangle PSW2', '935 ([Local])', `-A PSW2 -i lo -p tcp ${L} -j RETURN`))}
${r('mangle PSW2', '961', "-A PSW2 -i lo -p udp -m comment --comment \"'Local'\" -m mark --mark 0x1 -j TPROXY --on-port 1041 --on-ip 0.0.0.0 --tproxy-mark 0x1/0x1")}
${r('mangle PSW2', '962', "-A PSW2 -i lo -p udp -m comment --comment \"'Local'\" -j RETURN")}
${r('mangle PSW2', '988', '-A PSW2 -p udp -m udp --dport 53 -j RETURN')}
${only(true, tcpDefault)}
${only(true, () => r('mangle PSW2', '578 (tproxy only)', `-A PSW2 -p tcp ${D} ${TP}`))}
${r('mangle PSW2', '593', `-A PSW2 -d 198.18.0.0/16 -p udp ${D} -j PSW2_RULE`)}
${r('mangle PSW2', '595 (add_port_rules, 1:65535)', '-A PSW2 -p udp -m comment --comment Default -j PSW2_RULE')}
${r('mangle PSW2', '596', `-A PSW2 -p udp ${D} -m mark --mark 0x1 -j TPROXY --on-port 1041 --on-ip 0.0.0.0 --tproxy-mark 0x1/0x1`)}
${r('mangle PSW2_OUTPUT', '797', '-A PSW2_OUTPUT -m set --match-set passwall2_lan dst -j RETURN')}
${r('mangle PSW2_OUTPUT', '798', '-A PSW2_OUTPUT -m set --match-set passwall2_vps dst -j RETURN')}
${r('mangle PSW2_OUTPUT', '799', '-A PSW2_OUTPUT -m conntrack --ctdir REPLY -j RETURN')}
${r('mangle PSW2_OUTPUT', '804 (AUTO_DNS: the ISP DNS)', '-A PSW2_OUTPUT -d 192.168.1.1/32 -p udp -m udp --dport 53 -j RETURN')}
${r('mangle PSW2_OUTPUT', '808', '-A PSW2_OUTPUT -m mark --mark 0xff -j RETURN')}
${only(true, tcpLocal)}
${r('mangle PSW2_OUTPUT', '958', '-A PSW2_OUTPUT -d 198.18.0.0/16 -p udp -j PSW2_RULE')}
${r('mangle PSW2_OUTPUT', '960 (add_port_rules, 1:65535)', '-A PSW2_OUTPUT -p udp -j PSW2_RULE')}
${r('mangle PSW2_RULE', '772', '-A PSW2_RULE -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff')}
${r('mangle PSW2_RULE', '773', '-A PSW2_RULE -m mark --mark 0x1 -j RETURN')}
${r('mangle PSW2_RULE', '774', '-A PSW2_RULE -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j MARK --set-xmark 0x1/0xffffffff')}
${r('mangle PSW2_RULE', '775', '-A PSW2_RULE -p udp -m conntrack --ctstate NEW,RELATED -j MARK --set-xmark 0x1/0xffffffff')}
${r('mangle PSW2_RULE', '776', '-A PSW2_RULE -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff')}
COMMIT
`.replace(/\n\n+/g, '\n');
  c.rows.push('| ip rule / route | `ip rule add fwmark 1 lookup 100`, `ip route add local 0.0.0.0/0 dev lo table 100` | 810-811 |');
  return {
    name: tproxy ? 'passwall2-fw3-tproxy' : 'passwall2-fw3',
    source:
      (tproxy ? PSW2_FW3_TPROXY_LEAD : '') +
      'Passwall2 on fw3 (iptables-legacy + ipset), the defaults of 0_default_config and app.sh get_config at the same commit ' +
      `(tcp_proxy_way ${way}, tcp_redir_ports and udp_redir_ports 1:65535, tcp/udp_no_redir_ports disable, accept_icmp 0, ` +
      'accept_icmpv6 0, ipv6_tproxy 0, localhost_proxy 1, client_proxy 1, dns_redirect 1: DNS through the copy dnsmasq on 11400, ' +
      'REDIR_PORT 1041); a plain node (the default node \'myshunt\' is a shunt node: add_shunt_t_rule then adds a ' +
      '`-m set --match-set passwall2_global_white dst -j RETURN` before each catch-all; left out). The side router\'s ' +
      'resolv.conf.auto names the main router (192.168.1.1), so ISP_DNS and AUTO_DNS are 192.168.1.1 (app.sh:1260-1266). ' +
      'Left out: the ip6tables rules and IPv6 routes (the fixture is IPv4; ip6tables nat needs kmod-ipt-nat6, not on a stock image), ' +
      "and fw3's own chains (delegate_prerouting …): `insert_rule_after … prerouting_rule` and `insert_rule_before … mwan3` find " +
      'neither in PREROUTING itself and append. Unlike nftables.sh (`tcp flags syn`), iptables.sh marks only an exact SYN ' +
      '(`--syn`, 774).\n\n' +
      c.table('Openwrt-Passwall/openwrt-passwall2', PSW2_COMMIT, PSW2_IPT_FILE),
    iptables,
    iptablesVariant: 'legacy',
    ipset,
    ip: PSW_ROUTE,
  };
}

// ---------------------------------------------------------------------------
// homeproxy: immortalwrt/homeproxy at edece28a, root/etc/homeproxy/scripts/firewall_post.ut rendered into
// table inet fw4 (fw4 includes it as table-post: its `chain dstnat { … }` and `chain mangle_prerouting { … }`
// append to fw4's chains), with root/etc/config/homeproxy's defaults: proxy_mode redirect_tproxy,
// routing_mode bypass_mainland_china, routing_port common (infra.common_port), ipv6_support 1,
// lan_proxy_mode disabled, the default wan_proxy_ipv4/ipv6_ips, self_mark 100, redirect 5331, tproxy 5332 /
// mark 101 → table 100; one node set as main_node (main_udp_node 'same', so UDP TPROXY is on).

const HP_COMMIT = 'edece28a';
const HP_FILE = 'root/etc/homeproxy/scripts/firewall_post.ut';
const HP_PORTS = '22, 53, 80, 143, 443, 465, 587, 853, 873, 993, 995, 5222, 8080, 8443, 9418';
const HP_LOCAL4 =
  '0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.0.0.0/24, 192.0.2.0/24, 192.31.196.0/24, 192.52.193.0/24, 192.88.99.0/24, 192.168.0.0/16, 192.175.48.0/24, 198.18.0.0/15, 198.51.100.0/24, 203.0.113.0/24, 224.0.0.0/4, 240.0.0.0/4';
const HP_LOCAL6 =
  '::/128, ::1/128, ::ffff:0:0/96, 100::/64, 64:ff9b::/96, 2001::/32, 2001:10::/28, 2001:20::/28, 2001:db8::/28, 2002::/16, fc00::/7, fe80::/10, ff00::/8';
const HP_WAN_PROXY4 =
  '91.105.192.0/23, 91.108.4.0/22, 91.108.8.0/22, 91.108.16.0/22, 91.108.12.0/22, 91.108.20.0/22, 91.108.56.0/22, 149.154.160.0/20, 185.76.151.0/24, 203.208.50.66/32';
const HP_WAN_PROXY6 = '2001:67c:4e8::/48, 2001:b28:f23c::/48, 2001:b28:f23d::/48, 2001:b28:f23f::/48, 2a0a:f280::/32';
/** A stand-in for resources/china_ip6.txt (shipped data): one prefix. */
const HP_CN6_SAMPLE = '240e::/20';

/**
 * homeproxy with the defaults (redirect_tproxy), or proxy_mode tun (TCP and UDP marked to the sing-box TUN), or
 * redirect_tun (TCP redirected, UDP marked to the TUN).
 */
function homeproxyFixture(mode: 'redirect_tproxy' | 'tun' | 'redirect_tun' = 'redirect_tproxy'): Fixture {
  const c = new Cited();
  const set = (name: string, type: string, line: string, elements?: string, note?: string) => {
    c.rows.push(`| set ${name} | ${type}${note ? `; ${note}` : ''} | ${line} |`);
    return `  set ${name} {
    type ${type}
    flags interval
    auto-merge
${elements ? `    elements = { ${elements} }\n` : ''}  }`;
  };
  const sets = [
    set('homeproxy_local_addr_v4', 'ipv4_addr', '117-141', HP_LOCAL4, 'reserved ranges, documentation ranges included'),
    set('homeproxy_local_addr_v6', 'ipv6_addr', '143-162', HP_LOCAL6),
    set('homeproxy_mainland_addr_v4', 'ipv4_addr', '179-188', CN_SAMPLE, 'resources/china_ip4.txt: a four-prefix stand-in'),
    set('homeproxy_mainland_addr_v6', 'ipv6_addr', '190-199', HP_CN6_SAMPLE, 'resources/china_ip6.txt: a one-prefix stand-in'),
    set('homeproxy_wan_proxy_addr_v4', 'ipv4_addr', '204-211', HP_WAN_PROXY4, 'control.wan_proxy_ipv4_ips (default list)'),
    set('homeproxy_wan_proxy_addr_v6', 'ipv6_addr', '214-221', HP_WAN_PROXY6, 'control.wan_proxy_ipv6_ips (default list)'),
    set('homeproxy_wan_direct_addr_v4', 'ipv4_addr', '224-231'),
    set('homeproxy_wan_direct_addr_v6', 'ipv6_addr', '234-241'),
    set('homeproxy_routing_port', 'inet_service', '245-250', HP_PORTS, 'infra.common_port'),
  ].join('\n');
  const r = (chain: string, line: string, text: string) => c.rule(chain, line, text);
  if (mode !== 'redirect_tproxy') return homeproxyTunFixture(c, sets, r, mode);
  const nft = fw4({
    sets,
    dstnatAfter: [
      r('dstnat', '259', 'meta nfproto { ipv4, ipv6 } udp dport 53 counter redirect to :53 comment "!homeproxy: DNS hijack"'),
      r('dstnat', '262', 'meta nfproto { ipv4, ipv6 } meta l4proto tcp jump homeproxy_redirect_lanac'),
    ].join('\n'),
    mangle: r('mangle_prerouting', '536', 'meta nfproto { ipv4, ipv6 } meta l4proto udp jump homeproxy_mangle_lanac'),
    mangleOutput: r('mangle_output', '540', 'meta nfproto { ipv4, ipv6 } meta l4proto udp jump homeproxy_mangle_output'),
    chains: `${homeproxyRedirectChains(r)}
  chain homeproxy_mangle_tproxy {
${r('homeproxy_mangle_tproxy', '381', 'meta l4proto udp meta mark set 0x65 tproxy ip to 127.0.0.1:5332 counter accept')}
${r('homeproxy_mangle_tproxy', '383', 'meta l4proto udp meta mark set 0x65 tproxy ip6 to [::1]:5332 counter accept')}
  }
  chain homeproxy_mangle_tproxy_port {
${r('homeproxy_mangle_tproxy_port', '389', 'udp dport != @homeproxy_routing_port counter return')}
${r('homeproxy_mangle_tproxy_port', '391', 'goto homeproxy_mangle_tproxy')}
  }
  chain homeproxy_mangle_mark {
${r('homeproxy_mangle_mark', '396', 'udp dport != @homeproxy_routing_port counter return')}
${r('homeproxy_mangle_mark', '398', 'meta l4proto udp meta mark set 0x65 counter accept')}
  }
  chain homeproxy_mangle_lanac {
${r('homeproxy_mangle_lanac', '405', 'iifname != "lo" udp dport 53 counter return')}
${r('homeproxy_mangle_lanac', '406', 'meta mark 100 counter return')}
${r('homeproxy_mangle_lanac', '431', 'counter goto homeproxy_mangle_prerouting')}
  }
  chain homeproxy_mangle_prerouting {
${r('homeproxy_mangle_prerouting', '436', 'ip daddr @homeproxy_wan_proxy_addr_v4 counter goto homeproxy_mangle_tproxy_port')}
${r('homeproxy_mangle_prerouting', '438', 'ip6 daddr @homeproxy_wan_proxy_addr_v6 counter goto homeproxy_mangle_tproxy_port')}
${r('homeproxy_mangle_prerouting', '441', 'ip daddr @homeproxy_local_addr_v4 counter return')}
${r('homeproxy_mangle_prerouting', '443', 'ip6 daddr @homeproxy_local_addr_v6 counter return')}
${r('homeproxy_mangle_prerouting', '458', 'ip daddr @homeproxy_wan_direct_addr_v4 counter return')}
${r('homeproxy_mangle_prerouting', '460', 'ip6 daddr @homeproxy_wan_direct_addr_v6 counter return')}
${r('homeproxy_mangle_prerouting', '470', 'ip daddr @homeproxy_mainland_addr_v4 counter return')}
${r('homeproxy_mangle_prerouting', '472', 'ip6 daddr @homeproxy_mainland_addr_v6 counter return')}
${r('homeproxy_mangle_prerouting', '475', 'udp dport { 80, 443 } counter reject comment "!homeproxy: Fuck you QUIC"')}
${r('homeproxy_mangle_prerouting', '494', 'counter goto homeproxy_mangle_tproxy_port')}
  }
  chain homeproxy_mangle_output {
${r('homeproxy_mangle_output', '498', 'meta mark 100 counter return')}
${r('homeproxy_mangle_output', '500', 'ip daddr @homeproxy_wan_proxy_addr_v4 counter goto homeproxy_mangle_mark')}
${r('homeproxy_mangle_output', '502', 'ip6 daddr @homeproxy_wan_proxy_addr_v6 counter goto homeproxy_mangle_mark')}
${r('homeproxy_mangle_output', '505', 'ip daddr @homeproxy_local_addr_v4 counter return')}
${r('homeproxy_mangle_output', '507', 'ip6 daddr @homeproxy_local_addr_v6 counter return')}
${r('homeproxy_mangle_output', '510', 'ip daddr @homeproxy_wan_direct_addr_v4 counter return')}
${r('homeproxy_mangle_output', '512', 'ip6 daddr @homeproxy_wan_direct_addr_v6 counter return')}
${r('homeproxy_mangle_output', '521', 'ip daddr @homeproxy_mainland_addr_v4 counter return')}
${r('homeproxy_mangle_output', '523', 'ip6 daddr @homeproxy_mainland_addr_v6 counter return')}
${r('homeproxy_mangle_output', '532', 'counter goto homeproxy_mangle_mark')}
  }`,
  });
  c.rows.push('| ip rule / route | `ip rule add fwmark 101 table 100`, `ip route add local 0.0.0.0/0 dev lo table 100` | root/etc/init.d/homeproxy:120-121 |');
  return {
    name: 'homeproxy',
    source:
      'homeproxy, redirect_tproxy with the defaults of root/etc/config/homeproxy at the same commit and a node set. ' +
      'Left out: the IPv6 TPROXY route (init.d/homeproxy:124-125; the fixture namespace runs without IPv6). ' +
      'The documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) are in homeproxy_local_addr_v4: replies to peers there are never proxied.\n\n' +
      c.table('immortalwrt/homeproxy', HP_COMMIT, HP_FILE),
    nft,
    ip: ['rule add fwmark 101 table 100', 'route add local 0.0.0.0/0 dev lo table 100'],
  };
}


/** firewall_post.ut's TCP redirect chains (268-375), for the proxy modes with `redirect` in their name. */
function homeproxyRedirectChains(r: (chain: string, line: string, text: string) => string): string {
  return `  chain homeproxy_redirect_proxy {
${r('homeproxy_redirect_proxy', '269', 'meta l4proto tcp counter redirect to :5331')}
  }
  chain homeproxy_redirect_proxy_port {
${r('homeproxy_redirect_proxy_port', '274', 'tcp dport != @homeproxy_routing_port counter return')}
${r('homeproxy_redirect_proxy_port', '276', 'goto homeproxy_redirect_proxy')}
  }
  chain homeproxy_redirect_lanac {
${r('homeproxy_redirect_lanac', '283', 'meta mark 100 counter return')}
${r('homeproxy_redirect_lanac', '308', 'counter goto homeproxy_redirect')}
  }
  chain homeproxy_redirect {
${r('homeproxy_redirect', '313', 'meta mark 100 counter return')}
${r('homeproxy_redirect', '315', 'ip daddr @homeproxy_wan_proxy_addr_v4 counter goto homeproxy_redirect_proxy_port')}
${r('homeproxy_redirect', '317', 'ip6 daddr @homeproxy_wan_proxy_addr_v6 counter goto homeproxy_redirect_proxy_port')}
${r('homeproxy_redirect', '320', 'ip daddr @homeproxy_local_addr_v4 counter return')}
${r('homeproxy_redirect', '322', 'ip6 daddr @homeproxy_local_addr_v6 counter return')}
${r('homeproxy_redirect', '337', 'ip daddr @homeproxy_wan_direct_addr_v4 counter return')}
${r('homeproxy_redirect', '339', 'ip6 daddr @homeproxy_wan_direct_addr_v6 counter return')}
${r('homeproxy_redirect', '348', 'ip daddr @homeproxy_mainland_addr_v4 counter return')}
${r('homeproxy_redirect', '350', 'ip6 daddr @homeproxy_mainland_addr_v6 counter return')}
${r('homeproxy_redirect', '369', 'counter goto homeproxy_redirect_proxy_port')}
  }
  chain homeproxy_output_redir {
    type nat hook output priority filter - 105; policy accept;
${r('homeproxy_output_redir', '374', 'meta nfproto { ipv4, ipv6 } meta l4proto tcp jump homeproxy_redirect')}
  }`;
}

/**
 * homeproxy, proxy_mode tun or redirect_tun (the fw4 parts: firewall_post.ut's TUN branch, with the TCP redirect
 * chains for redirect_tun, and firewall_pre.uc's accept rules).
 */
function homeproxyTunFixture(
  c: Cited,
  sets: string,
  r: (chain: string, line: string, text: string) => string,
  mode: 'tun' | 'redirect_tun',
): Fixture {
  const tun = mode === 'tun';
  // redirect_tun: the TUN takes UDP only (659, 663), and homeproxy_mangle_tun_mark returns by UDP port only (583-586).
  const l4 = tun ? '{ tcp, udp }' : '{ udp }';
  const nft = fw4({
    sets,
    dstnatAfter: [
      r('dstnat', '259', 'meta nfproto { ipv4, ipv6 } udp dport 53 counter redirect to :53 comment "!homeproxy: DNS hijack"'),
      ...(tun ? [] : [r('dstnat', '262', 'meta nfproto { ipv4, ipv6 } meta l4proto tcp jump homeproxy_redirect_lanac')]),
    ].join('\n'),
    // firewall_pre.uc: included at chain-pre of fw4's forward and input (uci-defaults/luci-homeproxy:9-21).
    forward: r('forward', 'firewall_pre.uc:33', 'oifname "singtun0" counter accept comment "!homeproxy: accept tun forward"'),
    input: r('input', 'firewall_pre.uc:34', 'iifname "singtun0" counter accept comment "!homeproxy: accept tun input"'),
    mangle: r('mangle_prerouting', '659', `meta nfproto { ipv4, ipv6 } meta l4proto ${l4} jump homeproxy_mangle_lanac`),
    mangleOutput: r('mangle_output', '663', `meta nfproto { ipv4, ipv6 } meta l4proto ${l4} jump homeproxy_mangle_tun`),
    chains: `${tun ? '' : `${homeproxyRedirectChains(r)}\n`}  chain homeproxy_mangle_lanac {
${r('homeproxy_mangle_lanac', '547', 'iifname "singtun0" counter return')}
${r('homeproxy_mangle_lanac', '548', 'udp dport 53 counter return')}
${r('homeproxy_mangle_lanac', '577', 'counter goto homeproxy_mangle_tun')}
  }
  chain homeproxy_mangle_tun_mark {
${tun ? `${r('homeproxy_mangle_tun_mark', '584', 'tcp dport != @homeproxy_routing_port counter return')}\n` : ''}${r('homeproxy_mangle_tun_mark', '586', 'udp dport != @homeproxy_routing_port counter return')}
${r('homeproxy_mangle_tun_mark', '589', 'counter meta mark set 0x66')}
  }
  chain homeproxy_mangle_tun {
${r('homeproxy_mangle_tun', '593', 'iifname "singtun0" counter return')}
${r('homeproxy_mangle_tun', '595', 'ip daddr @homeproxy_wan_proxy_addr_v4 counter goto homeproxy_mangle_tun_mark')}
${r('homeproxy_mangle_tun', '597', 'ip6 daddr @homeproxy_wan_proxy_addr_v6 counter goto homeproxy_mangle_tun_mark')}
${r('homeproxy_mangle_tun', '600', 'ip daddr @homeproxy_local_addr_v4 counter return')}
${r('homeproxy_mangle_tun', '602', 'ip6 daddr @homeproxy_local_addr_v6 counter return')}
${r('homeproxy_mangle_tun', '631', 'ip daddr @homeproxy_mainland_addr_v4 counter return')}
${r('homeproxy_mangle_tun', '633', 'ip6 daddr @homeproxy_mainland_addr_v6 counter return')}
${r('homeproxy_mangle_tun', '636', 'udp dport { 80, 443 } counter reject comment "!homeproxy: Fuck you QUIC"')}
${r('homeproxy_mangle_tun', '655', 'counter goto homeproxy_mangle_tun_mark')}
  }`,
  });
  c.rows.push(
    '| ip rule / route | `ip route replace default dev singtun0 table 100`, `ip rule add fwmark 102 lookup 100` (and `-6`, left out) | root/etc/init.d/homeproxy:134-142 |',
  );
  if (!tun) return homeproxyRedirectTun(c, nft);
  return {
    name: 'homeproxy-tun',
    source:
      'homeproxy, proxy_mode tun, otherwise the defaults of root/etc/config/homeproxy at the same commit (routing_mode ' +
      'bypass_mainland_china, routing_port common, ipv6_support 1, lan_proxy_mode disabled, tun_name singtun0, tun_addr4 ' +
      '172.19.0.1/30, tun_mark 102 = 0x66, table_mark 100) and a main node. The sets are the redirect_tproxy fixture\'s. ' +
      'Stand-ins: singtun0 is a plain tun device (sing-box makes it and its address); firewall_pre.uc\'s accept rules, ' +
      "which fw4 includes at the top of its forward and input chains, stand after fw4's `ct state established,related accept` " +
      '(the fw4() helper has no chain-pre slot; no verdict walked here changes). Left out: the IPv6 route and rule ' +
      '(init.d/homeproxy:141-142; the namespace runs without IPv6). With routing_port common, homeproxy_mangle_tun_mark ' +
      "returns every packet whose destination port is not a common port, so a forward's replies (to the client's port) pass.\n\n" +
      c.table('immortalwrt/homeproxy', HP_COMMIT, HP_FILE),
    nft,
    ip: ['rule add fwmark 102 lookup 100', 'route replace default dev singtun0 table 100'],
    tun: ['singtun0 172.19.0.1/30'],
  };
}

/** homeproxy, proxy_mode redirect_tun ("Redirect TCP + Tun UDP", htdocs/…/view/homeproxy/client.js 289). */
function homeproxyRedirectTun(c: Cited, nft: string): Fixture {
  return {
    name: 'homeproxy-redirect-tun',
    source:
      'homeproxy, proxy_mode redirect_tun, otherwise the defaults of root/etc/config/homeproxy at the same commit (routing_mode ' +
      'bypass_mainland_china, routing_port common, ipv6_support 1, lan_proxy_mode disabled, redirect_port 5331, self_mark 100, ' +
      'tun_name singtun0, tun_addr4 172.19.0.1/30, tun_mark 102 = 0x66, table_mark 100) and a main node. TCP takes the ' +
      "redirect_tproxy fixture's chains (dstnat → homeproxy_redirect_lanac → … → redirect to 5331); UDP is marked for the TUN " +
      "as in the tun fixture, with the TUN chains' jumps and homeproxy_mangle_tun_mark's port return for UDP only. " +
      "The sets are the redirect_tproxy fixture's. Stand-ins and omissions as in homeproxy-tun: singtun0 is a plain tun device, " +
      "firewall_pre.uc's accept rules stand after fw4's `ct state established,related accept`, and the IPv6 route and rule " +
      '(init.d/homeproxy:141-142) are left out. With routing_port common, the redirect chain returns TCP and the mark chain UDP ' +
      "whose destination port is not a common port, so a forward's replies (to the client's port) pass.\n\n" +
      c.table('immortalwrt/homeproxy', HP_COMMIT, HP_FILE),
    nft,
    ip: ['route replace default dev singtun0 table 100', 'rule add fwmark 102 lookup 100'],
    tun: ['singtun0 172.19.0.1/30'],
  };
}

// ---------------------------------------------------------------------------
// nikki: nikkinikki-org/OpenWrt-nikki main, nikki/files/ucode/hijack.ut rendered with the defaults of
// nikki/files/nikki.conf (tcp_mode redirect, udp_mode tun, IPv4 and IPv6 proxy and DNS hijack,
// fake_ip_ping_hijack, lan_inbound_interface lan = br-lan, bypass_dscp 4, proxy_tcp/udp_dport 0-65535,
// one lan_access_control entry with dns and proxy on; mixin: redir 7891, DNS [::]:1053, fake-ip
// 198.18.0.1/16, tun device nikki, no fake-ip-range6). Routes from nikki/files/nikki.init (tun, IPv4).

const NIKKI_COMMIT = '388f34e5';
const NIKKI_FILE = 'nikki/files/ucode/hijack.ut';

/** nikki's proxy.tcp_mode and proxy.udp_mode (LuCI: luci-app-nikki …/view/nikki/proxy.js 36-47) per fixture. */
const NIKKI_MODES = {
  /** The defaults (nikki.conf 146-147). */
  mix: { tcp: 'redirect', udp: 'tun' },
  /** With IPv6 on in the namespace (ipv6_proxy is on by default). */
  tproxy: { tcp: 'tproxy', udp: 'tproxy' },
  tun: { tcp: 'tun', udp: 'tun' },
  'redirect-tproxy': { tcp: 'redirect', udp: 'tproxy' },
} as const;
type NikkiMode = keyof typeof NIKKI_MODES;

/**
 * nikki's table for one pair of modes: lan_redirect for tcp_mode redirect (and the bypass returns in dstnat before
 * its jump), lan_tproxy for either mode tproxy, lan_tun for either mode tun, and the l4proto vmap that sends TCP and
 * UDP to the chain of its mode (continue for redirect).
 */
function nikkiFixture(mode: NikkiMode = 'mix'): Fixture {
  const { tcp, udp } = NIKKI_MODES[mode];
  const uses = (m: string) => tcp === m || udp === m;
  const vmapTarget = (m: string) => (m === 'tproxy' ? 'jump lan_tproxy' : m === 'tun' ? 'jump lan_tun' : 'continue');
  const c = new Cited();
  const bypass = (chain: string, from: number) =>
    [
      'fib daddr type { local, broadcast, anycast, multicast } counter return',
      'ct direction reply counter return',
      'ip daddr @reserved_ip ip daddr != 198.18.0.1/16 counter return',
      'ip6 daddr @reserved_ip6 counter return',
      'ip daddr @china_ip counter return',
      'ip6 daddr @china_ip6 counter return',
      'meta nfproto ipv4 meta l4proto . th dport != @proxy_dport ip daddr != 198.18.0.1/16 counter return',
      'meta nfproto ipv6 meta l4proto . th dport != @proxy_dport counter return',
      'meta l4proto { tcp, udp } ip dscp @bypass_dscp ip daddr != 198.18.0.1/16 counter return',
      'meta l4proto { tcp, udp } ip6 dscp @bypass_dscp counter return',
    ].map((t, i) => c.rule(chain, String(from + i), t));
  const set = (name: string, lines: string, body: string) => {
    c.rows.push(`| set ${name} | ${body.replace(/\n\s*/g, '; ').replace(/\|/g, '\\|')} | ${lines} |`);
    return `  set ${name} {\n    ${body}\n  }`;
  };
  const sets = [
    set('dns_hijack_nfproto', '172-180', 'type nf_proto\n    flags interval\n    elements = { ipv4, ipv6 }'),
    set('proxy_nfproto', '182-190', 'type nf_proto\n    flags interval\n    elements = { ipv4, ipv6 }'),
    set('reserved_ip', '192-201', `type ipv4_addr\n    flags interval\n    auto-merge\n    elements = { ${LOCALNETWORK.join(', ')} }`),
    set('reserved_ip6', '203-212', 'type ipv6_addr\n    flags interval\n    auto-merge\n    elements = { ::/128, ::1/128, ::ffff:0:0/96, 100::/64, 64:ff9b::/96, 2001::/32, 2001:10::/28, 2001:20::/28, 2001:db8::/32, 2002::/16, fc00::/7, fe80::/10, ff00::/8 }'),
    set('lan_inbound_device', '214-223', 'type ifname\n    flags interval\n    auto-merge\n    elements = { "br-lan" }'),
    set('china_ip', '225-228', 'type ipv4_addr\n    flags interval'),
    set('china_ip6', '230-233', 'type ipv6_addr\n    flags interval'),
    set('proxy_dport', '235-244', 'type inet_proto . inet_service\n    flags interval\n    auto-merge\n    elements = { tcp . 0-65535, udp . 0-65535 }'),
    set('bypass_dscp', '246-255', 'type dscp\n    flags interval\n    auto-merge\n    elements = { 4 }'),
  ];
  const chains = [
    `  chain lan_dns_hijack {
${c.rule('lan_dns_hijack', '376', 'meta nfproto @dns_hijack_nfproto meta l4proto { tcp, udp } th dport 53 counter redirect to :1053')}
  }`,
  ];
  if (tcp === 'redirect')
    chains.push(`  chain lan_redirect {
${c.rule('lan_redirect', '400', 'meta nfproto @proxy_nfproto meta l4proto tcp counter redirect to :7891')}
  }`);
  if (uses('tproxy'))
    chains.push(`  chain lan_tproxy {
${c.rule('lan_tproxy', '425', 'meta nfproto @dns_hijack_nfproto meta l4proto { tcp, udp } th dport 53 counter return')}
${c.rule('lan_tproxy', '427', 'meta nfproto @proxy_nfproto meta l4proto { tcp, udp } meta mark set meta mark & 0xffffff00 | 0x80 tproxy to :7892 counter accept')}
  }`);
  if (uses('tun'))
    chains.push(`  chain lan_tun {
${c.rule('lan_tun', '465', 'meta nfproto @dns_hijack_nfproto meta l4proto { tcp, udp } th dport 53 counter return')}
${c.rule('lan_tun', '467', 'meta nfproto @proxy_nfproto meta l4proto { tcp, udp } meta mark set meta mark & 0xffffff00 | 0x81 counter accept')}
  }`);
  chains.push(
    [
      '  chain dstnat {',
      '    type nat hook prerouting priority dstnat + 1; policy accept;',
      c.rule('dstnat', '576', 'iifname @lan_inbound_device jump lan_dns_hijack'),
      ...(tcp === 'redirect'
        ? [...bypass('dstnat', 579), c.rule('dstnat', '592', 'iifname @lan_inbound_device jump lan_redirect')]
        : []),
      c.rule('dstnat', '596', 'icmp type echo-request ip daddr 198.18.0.1/16 counter redirect'),
      '  }',
    ].join('\n'),
    `  chain mangle_prerouting_lan {
    type filter hook prerouting priority mangle; policy accept;
${bypass('mangle_prerouting_lan', 606).join('\n')}
${c.rule('mangle_prerouting_lan', '619', `iifname @lan_inbound_device meta l4proto vmap { tcp : ${vmapTarget(tcp)}, udp : ${vmapTarget(udp)} }`)}
  }`,
  );
  const nft = `table inet nikki {
${sets.join('\n')}
${chains.join('\n')}
}
`;
  if (mode === 'tproxy') {
    c.rows.push(
      '| ip rule / route | `ip -4 route add local default dev lo table 80`, `ip -4 rule add pref 1024 fwmark 0x80/0xff table 80`, the same with `-6` (ipv6_proxy 1) | nikki/files/nikki.init:397-405 |',
    );
    return {
      name: 'nikki-tproxy-ipv6',
      source:
        'nikki, tcp_mode tproxy and udp_mode tproxy (LuCI: Proxy → TCP/UDP mode), otherwise the defaults of nikki/files/nikki.conf ' +
        'at the same commit (ipv4_proxy and ipv6_proxy 1, IPv4 and IPv6 DNS hijack, lan_inbound_interface lan = br-lan, one ' +
        'lan_access_control entry with dns and proxy on; mixin tproxy 7892, routing tproxy_fw_mark 0x80/0xff, table 80, pref 1024: ' +
        'nikki.conf:47, 222-228). IPv6 on in the namespace: br-lan has the lab\'s 2001:db8:50::2/64 (test/lab/lab.ts). ' +
        'With tcp_mode tproxy the dstnat chain keeps only the DNS jump and the fake-ip ping redirect (the bypass returns and ' +
        'lan_redirect come only with tcp_mode redirect, 578-593). Left out, as in the nikki fixture: the router_proxy part ' +
        '(output hooks, and mangle_prerouting_router for lo only).\n\n' +
        c.table('nikkinikki-org/OpenWrt-nikki', NIKKI_COMMIT, NIKKI_FILE),
      nft,
      ip: [
        'route add local default dev lo table 80',
        'rule add pref 1024 fwmark 0x80/0xff table 80',
        `-6 addr add ${SIDE6} dev br-lan nodad`,
        `-6 route add default via ${SIDE6_GATEWAY} dev br-lan`,
        '-6 route add local default dev lo table 80',
        '-6 rule add pref 1024 fwmark 0x80/0xff table 80',
      ],
      ipv6: true,
    };
  }
  if (mode === 'mix') {
    c.rows.push('| ip rule / route | `ip -4 route add unicast default dev nikki table 81`, `ip -4 rule add pref 1025 fwmark 0x81/0xff table 81` | nikki/files/nikki.init:409-410 |');
    return {
      name: 'nikki',
      source:
        `nikki, main (tcp_mode redirect, udp_mode tun): defaults of nikki/files/nikki.conf at the same commit. ` +
        'Left out, as stand-ins would be needed: the router_proxy part (chains router_*, nat_output, mangle_output, ' +
        'mangle_prerouting_router, lines 257-570: they match the router\'s users and cgroups v2 paths, and hook output, or ' +
        'prerouting only for lo and the nikki device) and the IPv6 routes (the fixture namespace runs without IPv6). ' +
        'The earlier fixture came from 48ff42e, a commit on no branch of this snapshot (not main).\n\n' +
        c.table('nikkinikki-org/OpenWrt-nikki', NIKKI_COMMIT, NIKKI_FILE),
      nft,
      ip: ['rule add fwmark 0x81/0xff table 81 pref 1025', 'route add default dev nikki table 81'],
      tun: ['nikki'],
    };
  }
  const tun = mode === 'tun';
  c.rows.push(
    tun
      ? '| ip rule / route | `ip -4 route add unicast default dev nikki table 81`, `ip -4 rule add pref 1025 fwmark 0x81/0xff table 81` | nikki/files/nikki.init:407-410 |'
      : '| ip rule / route | `ip -4 route add local default dev lo table 80`, `ip -4 rule add pref 1024 fwmark 0x80/0xff table 80` | nikki/files/nikki.init:397-400 |',
  );
  return {
    name: `nikki-${mode}`,
    source:
      `nikki, tcp_mode ${tcp} and udp_mode ${udp} (LuCI: Proxy → TCP Mode / UDP Mode; UDP has no redirect mode), otherwise the defaults ` +
      'of nikki/files/nikki.conf at the same commit (IPv4 and IPv6 proxy and DNS hijack, fake_ip_ping_hijack, lan_inbound_interface lan = ' +
      'br-lan, bypass_dscp 4, proxy_tcp/udp_dport 0-65535, one lan_access_control entry with dns and proxy on; mixin: redir 7891, ' +
      'tproxy 7892, DNS [::]:1053, fake-ip 198.18.0.1/16, tun device nikki; routing: tproxy mark 0x80/0xff → table 80 pref 1024, tun mark ' +
      '0x81/0xff → table 81 pref 1025, nikki.conf 44-59, 144-184, 216-229). ' +
      (tun
        ? 'With tcp_mode tun the dstnat chain keeps only the DNS jump and the fake-ip ping redirect (the bypass returns and lan_redirect come ' +
          'only with tcp_mode redirect, 578-593); TCP and UDP are both marked for the TUN in lan_tun. Stand-in: the nikki device is a plain ' +
          'tun device (mihomo makes it). '
        : 'TCP is redirected in lan_redirect after dstnat\'s bypass returns; UDP gets TPROXY in lan_tproxy. ') +
      'Left out, as in the nikki fixture: the router_proxy part (output hooks, and mangle_prerouting_router for lo and the nikki device) ' +
      'and the IPv6 routes (the namespace runs without IPv6)' +
      (tun
        ? "; and firewall_include.sh's accepts for the TUN device in fw4's input and forward (nikki/files/scripts/firewall_include.sh:15-19; " +
          'no fw4 table here).'
        : '.') +
      '\n\n' +
      c.table('nikkinikki-org/OpenWrt-nikki', NIKKI_COMMIT, NIKKI_FILE),
    nft,
    ip: tun
      ? ['route add default dev nikki table 81', 'rule add pref 1025 fwmark 0x81/0xff table 81']
      : ['route add local default dev lo table 80', 'rule add pref 1024 fwmark 0x80/0xff table 80'],
    ...(tun ? { tun: ['nikki'] } : {}),
  };
}

// ---------------------------------------------------------------------------
// ShellCrash: juewuy/ShellCrash scripts/starts/fw_nftables.sh @9aa6f3d5 and fw_iptables.sh @f72192e8 (start_nft_route,
// start_nft_dns, start_nft_wan / start_ipt_route, start_ipt_dns, start_ipt_wan) with fw_start.sh defaults (@43cf4a91):
// redir_mod Redir模式, lan_proxy on, common_ports ON (multiport 22,80,443,8080,8443), fake-ip 28.0.0.0/8,
// mix 7890 / redir 7892 / tproxy 7893 / dns 1053 / db 9999, routing_mark 7894, host_ipv4 = the LAN.
const SC_RESERVED = LOCALNETWORK.join(', ');
const SC_PORTS = '22, 80, 443, 8080, 8443';
/** ShellCrash's nft modes (redir_mod): Redir模式, Tproxy模式, Tun模式 and 混合模式 (Mix), as fw_nftables.sh at 9aa6f3d5 and fw_start.sh at 43cf4a91 name them. */
type ScMode = 'redir' | 'tproxy' | 'tun' | 'mix';

/** fw_nftables.sh at 9aa6f3d5: what each mode's JUMP (and Mix's extra TCP mark and nat chain) is, and where. */
const SC_JUMP: Record<Exclude<ScMode, 'redir'>, { line: string; jump: string }> = {
  tproxy: { line: '97, 177 (JUMP of Tproxy mode)', jump: 'meta l4proto { tcp, udp } mark set 7892 tproxy to :7893' },
  tun: { line: '97, 187 (JUMP of Tun mode)', jump: 'meta l4proto { tcp, udp } mark set 7892' },
  mix: { line: '97, 188 (JUMP of Mix mode)', jump: 'meta l4proto udp mark set 7892' },
};

/** ShellCrash on nftables, LAN only (firewall_area 1), fw_wan on, ipv6_redir off, no MAC filter file. */
function shellcrashNftFixture(mode: ScMode = 'redir', commonPorts = true): Fixture {
  const c = new Cited();
  const r = (chain: string, line: string, text: string) => c.rule(chain, line, text);
  const redir = mode === 'redir';
  // Functions, so that the cited rows come in the order of the ruleset.
  const commonPortReturns = () =>
    [
      r('prerouting', '41', `ip daddr != { 28.0.0.0/8 } tcp dport != { ${SC_PORTS} } return`),
      r('prerouting', '42', `ip daddr != { 28.0.0.0/8 } udp dport != { ${SC_PORTS} } return`),
      r('prerouting', '43', `ip6 daddr != { fc00::/16 } tcp dport != { ${SC_PORTS} } return`),
      r('prerouting', '44', `ip6 daddr != { fc00::/16 } udp dport != { ${SC_PORTS} } return`),
    ].join('\n');
  const last = () =>
    redir
    ? r('prerouting', '97, 172 (JUMP of Redir mode)', 'meta l4proto tcp redirect to :7892')
    : [
        r('prerouting', SC_JUMP[mode].line, SC_JUMP[mode].jump),
        ...(mode === 'mix' ? [r('prerouting', '100', 'meta l4proto tcp mark set 7893')] : []),
      ].join('\n');
  const mixtcp = () =>
    mode === 'mix'
      ? `  chain prerouting_mixtcp {
    type nat hook prerouting priority -100; policy accept;
${r('prerouting_mixtcp', '102', 'mark 7893 meta l4proto tcp redirect to 7892')}
  }
`
      : '';
  // Tun and Mix: fw_nftables.sh makes fw4's table and chains when they are missing, then inserts the accepts.
  const fw4Accepts = () =>
    mode === 'tun' || mode === 'mix'
      ? `table inet fw4 {
  chain forward {
    type filter hook forward priority filter; policy accept;
${r('fw4 forward', '193, 195', 'oifname "utun" accept')}
  }
  chain input {
    type filter hook input priority filter; policy accept;
${r('fw4 input', '194, 196', 'iifname "utun" accept')}
  }
}
`
      : '';
  const nft = `table inet shellcrash {
  chain input {
    type filter hook input priority -100; policy accept;
${r('input', '139', 'iif "lo" accept')}
${r('input', '150', 'ip saddr { 192.168.1.0/24 } accept')}
${r('input', '151', 'ip6 saddr { fe80::/10, fd00::/8 } accept')}
${r('input', '152', 'tcp dport { 7890, 9999 } reject')}
${r('input', '153', 'udp dport { 7890, 9999 } reject')}
  }
  chain prerouting_dns {
    type nat hook prerouting priority -100; policy accept;
${r('prerouting_dns', '115', 'udp dport != 53 return')}
${r('prerouting_dns', '116', 'tcp dport != 53 return')}
${r('prerouting_dns', '118', 'meta mark 7894 return')}
${r('prerouting_dns', '119', 'meta skgid { 453, 7890 } return')}
${r('prerouting_dns', '121', 'ip saddr != { 192.168.1.0/24 } return')}
${r('prerouting_dns', '122', 'ip6 saddr != { fe80::/10, fd00::/8 } return')}
${r('prerouting_dns', '132', 'udp dport 53 redirect to :1053')}
${r('prerouting_dns', '133', 'tcp dport 53 redirect to :1053')}
  }
  chain prerouting {
    type ${redir ? 'nat' : 'filter'} hook prerouting priority ${redir ? -100 : -150}; policy accept;
${r('prerouting', '32', 'tcp dport 53 return')}
${r('prerouting', '33', 'udp dport 53 return')}
${r('prerouting', '35', 'meta mark 7894 return')}
${r('prerouting', '36', 'meta skgid 7890 return')}
${commonPorts ? commonPortReturns() : r('prerouting', '38', 'tcp dport { 7890, 7892, 7893 } return')}
${r('prerouting', '47', `ip daddr { ${SC_RESERVED} } return`)}
${r('prerouting', '59', 'ip saddr != { 192.168.1.0/24 } return')}
${r('prerouting', '92', 'meta nfproto ipv6 return')}
${last()}
  }
${mixtcp()}}
${fw4Accepts()}`;
  if (redir) {
    c.rows.push('| chains | input (filter, input, -100), prerouting_dns (nat, prerouting, -100), prerouting (nat, prerouting, -100) | 138, 113, 29 with 167, 173 |');
    return {
      name: 'shellcrash-nft',
      source:
        'ShellCrash, nftables, Redir mode with the defaults of scripts/starts/fw_start.sh (juewuy/ShellCrash@43cf4a91: common_ports ON, ' +
        "multiport 22,80,443,8080,8443 — so `$ports` is set and line 38's port return is not added — macfilter 黑名单 with no MAC file, dns_mod redir_host) " +
        'and firewall_area 1 (LAN only), fw_wan on, ipv6_redir off; ports mix 7890, redir 7892, DNS 1053, db 9999, routing_mark 7894; ' +
        'host_ipv4 the LAN, host_ipv6 fe80::/10 and fd00::/8, reserve_ipv4 the reserved ranges (fw_getlanip.sh, not re-read here). ' +
        "No fw4 table in this fixture, so line 157's `meta mark 0x67890 accept` in fw4's input is absent.\n\n" +
        c.table('juewuy/ShellCrash', '9aa6f3d5', 'scripts/starts/fw_nftables.sh'),
      nft,
    };
  }
  c.rows.push(
    `| chains | input (filter, input, -100), prerouting_dns (nat, prerouting, -100), prerouting (filter, prerouting, -150)${mode === 'mix' ? ', prerouting_mixtcp (nat, prerouting, -100)' : ''} | 138, 113, 29 with 167, ${mode === 'tproxy' ? '178' : '190'}${mode === 'mix' ? ', 101' : ''} |`,
  );
  const tproxy = mode === 'tproxy';
  c.rows.push(
    tproxy
      ? '| ip rule / route | `ip route add local default dev lo table 100`, `ip rule add fwmark 7892 table 100` | fw_start.sh 17, 31 |'
      : '| ip rule / route | `ip route add default dev utun table 100` (tun_statu=true once utun has a route), `ip rule add fwmark 7892 table 100` | fw_start.sh 18-29 (27), 31 |',
  );
  const what = {
    tproxy: 'Tproxy mode (redir_mod Tproxy模式: TCP and UDP TPROXY to 7893 with mark 7892 → table 100, a local route)',
    tun: 'Tun mode (redir_mod Tun模式: TCP and UDP marked 7892 → table 100, a default route into utun)',
    mix: 'Mix mode (redir_mod 混合模式: UDP marked 7892 → table 100 into utun; TCP marked 7893 and redirected to 7892 in prerouting_mixtcp)',
  }[mode];
  const ports = commonPorts
    ? "With common ports on, prerouting returns every packet whose destination port is not a common port before the JUMP, so a forward's replies (to the client's port) pass."
    : 'common_ports OFF (every port proxied): `$ports` and `$PORTS` stay empty, so lines 41-44 are not added and line 38 ' +
      "returns only TCP to ShellCrash's own ports; a forward's replies reach the JUMP.";
  return {
    name: `shellcrash-nft-${mode}${commonPorts ? '' : '-allports'}`,
    source:
      `ShellCrash, nftables, ${what}, otherwise the defaults of the shellcrash-nft fixture: scripts/starts/fw_start.sh at 43cf4a91 ` +
      `(${commonPorts ? 'common_ports ON, multiport 22,80,443,8080,8443, ' : ''}macfilter 黑名单 with no MAC file, dns_mod redir_host), firewall_area 1 (LAN only), ` +
      'fw_wan on, ipv6_redir off; scripts/libs/get_config.sh at 22cd7766 (lines 4-12): mix 7890, redir 7892, tproxy 7893, DNS 1053, db 9999, ' +
      "fwmark = redir_port 7892, routing_mark fwmark + 2 = 7894, table 100. fw_nftables.sh at 9aa6f3d5 (the shellcrash-nft fixture's commit) " +
      'and fw_start.sh at 43cf4a91 both name the modes Tproxy模式, Tun模式 and 混合模式. ' +
      ports +
      (tproxy
        ? ''
        : ' Stand-in: utun is a plain tun device (the core makes it). The namespace has no fw4, so fw_nftables.sh makes table inet fw4 with ' +
          "its forward and input chains (192-194) before inserting the accepts, and line 157's `meta mark 0x67890 accept` is absent.") +
      '\n\n' +
      c.table('juewuy/ShellCrash', '9aa6f3d5', 'scripts/starts/fw_nftables.sh'),
    nft,
    ip: tproxy
      ? ['route add local default dev lo table 100', 'rule add fwmark 7892 table 100']
      : ['route add default dev utun table 100', 'rule add fwmark 7892 table 100'],
    ...(tproxy ? {} : { tun: ['utun'] }),
  };
}

/** ShellCrash on iptables (fw_iptables.sh at juewuy/ShellCrash@f72192e8), the same defaults as the nft fixture. */
function shellcrashIptablesFixture(): Fixture {
  const c = new Cited();
  const r = (chain: string, line: string, text: string) => {
    c.rows.push(`| ${chain} | \`${text}\` | ${line} |`);
    return text;
  };
  const iptables = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
${r('filter INPUT', '162 (-I, last)', '-A INPUT -i lo -j ACCEPT')}
${r('filter INPUT', '156 (-I)', '-A INPUT -s 192.168.1.0/24 -j ACCEPT')}
${r('filter INPUT', '140 via 146 (-I)', '-A INPUT -p udp -m multiport --dports 7890,9999,1053 -j REJECT --reject-with icmp-port-unreachable')}
${r('filter INPUT', '140 via 145 (-I, first)', '-A INPUT -p tcp -m multiport --dports 7890,9999,1053 -j REJECT --reject-with icmp-port-unreachable')}
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:shellcrash - [0:0]
:shellcrash_dns - [0:0]
${r('nat PREROUTING', '130 (-I, after 129)', '-A PREROUTING -p udp -m udp --dport 53 -j shellcrash_dns')}
${r('nat PREROUTING', '129 (-I)', '-A PREROUTING -p tcp -m tcp --dport 53 -j shellcrash_dns')}
${r('nat PREROUTING', '67 ($ports: multiport, common_ports ON)', '-A PREROUTING -p tcp -m multiport --dports 22,80,443,8080,8443 -j shellcrash')}
${r('nat shellcrash', '23', '-A shellcrash -p tcp -m tcp --dport 53 -j RETURN')}
${r('nat shellcrash', '24', '-A shellcrash -p udp -m udp --dport 53 -j RETURN')}
${r('nat shellcrash', '26', '-A shellcrash -m mark --mark 0x1e96 -j RETURN')}
${r('nat shellcrash', '34 (host_ipv4)', '-A shellcrash -d 192.168.1.0/24 -j RETURN')}
${LOCALNETWORK.map((n) => r('nat shellcrash', '34 (reserve_ipv4)', `-A shellcrash -d ${n} -j RETURN`)).join('\n')}
${r('nat shellcrash', '63 (JUMP of Redir mode, 170)', '-A shellcrash -s 192.168.1.0/24 -p tcp -j REDIRECT --to-ports 7892')}
${r('nat shellcrash_dns', '89', '-A shellcrash_dns -m mark --mark 0x1e96 -j RETURN')}
${r('nat shellcrash_dns', '121', '-A shellcrash_dns -s 192.168.1.0/24 -p tcp -j REDIRECT --to-ports 1053')}
${r('nat shellcrash_dns', '122', '-A shellcrash_dns -s 192.168.1.0/24 -p udp -j REDIRECT --to-ports 1053')}
COMMIT
`;
  return {
    name: 'shellcrash-iptables',
    source:
      'ShellCrash on iptables, Redir mode, with the defaults of scripts/starts/fw_start.sh (juewuy/ShellCrash@43cf4a91: common_ports ON, ' +
      'multiport 22,80,443,8080,8443, dns_mod redir_host — so no 28.0.0.0/8 jump, which is for fake-ip and mix), firewall_area 1, fw_wan on; ' +
      'routing_mark 7894 (0x1e96), mix 7890, db 9999, DNS 1053, redir 7892. Loaded with iptables-nft so that nft -j shows the same tables ' +
      "with xt parts. Left out: the ip6tables rules (the fixture is IPv4). The DNS chain is made by start_iptables' start_ipt_dns " +
      '(after the route rules, so its PREROUTING jumps come first).\n\n' +
      c.table('juewuy/ShellCrash', 'f72192e8', 'scripts/starts/fw_iptables.sh'),
    iptables,
    iptablesVariant: 'nft',
  };
}

// ---------------------------------------------------------------------------
// ShellClash, ShellCrash's name before its rename: scripts/start.sh at juewuy/ShellCrash@cd801e12 (2021, then
// juewuy/ShellClash), Redir模式 on iptables, its default. Defaults of getconfig: redir_port 7892, dns_port 1053,
// common_ports 已开启 with multiport 22,53,587,465,995,993,143,80,443,8080, dns_mod redir_host, cn_ip_route,
// ipv6_support, public_support and local_proxy off, an empty MAC list. The side router's LAN address 192.168.1.2
// makes gethost's $lanhost `-s 192.0.0.0/8` (the first octet, then 0.0.0/8).

/** ShellClash on iptables (start.sh at cd801e12): afstart runs start_dns, then start_redir. */
function shellclashIptablesFixture(commonPorts = true): Fixture {
  const c = new Cited();
  const r = (chain: string, line: string, text: string) => {
    c.rows.push(`| ${chain} | \`${text}\` | ${line} |`);
    return text;
  };
  const ports = commonPorts ? '-m multiport --dports 22,53,587,465,995,993,143,80,443,8080 ' : '';
  const reserved = LOCALNETWORK.filter((n) => n !== '100.64.0.0/10');
  const iptables = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:clash - [0:0]
:clash_dns - [0:0]
${r('nat PREROUTING', '344 (-I, last: first)', '-A PREROUTING -d 8.8.4.4/32 -p tcp -j clash')}
${r('nat PREROUTING', '343 (-I)', '-A PREROUTING -d 8.8.8.8/32 -p tcp -j clash')}
${r('nat PREROUTING', '388 (start_dns, before start_redir)', '-A PREROUTING -p udp -j clash_dns')}
${r('nat PREROUTING', '337 ($lanhost from gethost, 84-88)', '-A PREROUTING -s 192.0.0.0/8 -p tcp -j clash')}
${reserved.map((n) => r('nat clash', '316-323', `-A clash -d ${n} -j RETURN`)).join('\n')}
${r('nat clash', `335 (mac blacklist, list empty${commonPorts ? '; $ports: common_ports 已开启, 18, 33, 35' : '; common_ports 未开启: $ports empty, 35'})`, `-A clash -p tcp ${ports}-j REDIRECT --to-ports 7892`)}
${r('nat clash_dns', '385', '-A clash_dns -p udp -m udp --dport 53 -j REDIRECT --to-ports 1053')}
${r('nat clash_dns', '386', '-A clash_dns -p tcp -m tcp --dport 53 -j REDIRECT --to-ports 1053')}
COMMIT
`;
  return {
    name: `shellclash-iptables${commonPorts ? '' : '-allports'}`,
    source:
      'ShellClash (ShellCrash before its rename), Redir模式 on iptables, as scripts/start.sh at juewuy/ShellCrash@cd801e12 ' +
      '(2021, when the repository was juewuy/ShellClash) writes it: afstart (the redir_mod dispatch) runs start_dns, then ' +
      'start_redir. getconfig defaults (lines 14-35): redir_mod Redir模式 (15-16), ' +
      (commonPorts
        ? 'common_ports 已开启 (18) with multiport 22,53,587,465,995,993,143,80,443,8080 (33), so $ports (35) is on the REDIRECT, '
        : 'but common_ports 未开启 (set in $clashdir/mark; the default is 已开启, 18), so $ports (35) is empty and the REDIRECT takes all TCP, ') +
      'redir_port 7892 (26), dns_port 1053 (28), ipv6_support off (22, so no clashv6 chains), public_support off (30), ' +
      'dns_mod redir_host with cn_ip_route off (19, 29: no cn_ip return), an empty MAC list ($clashdir/mac, blacklist). ' +
      "gethost (84-88) makes $lanhost from the LAN address's first octet: 192.168.1.2 gives -s 192.0.0.0/8. " +
      'Loaded with iptables-nft so that nft -j shows the same tables with xt parts. The chain names are ShellClash\'s own: ' +
      'clash and clash_dns (not shellclash*); its nft modes (later releases) used table inet shellclash. ' +
      'Lines as counted in the stored file; juewuy/ShellCrash issue #64 links lines 311-320 of this file at this commit ' +
      "(start_redir's opening and its reserved-range returns).\n\n" +
      c.table('juewuy/ShellCrash', 'cd801e12', 'scripts/start.sh'),
    iptables,
    iptablesVariant: 'nft',
  };
}

// ---------------------------------------------------------------------------
// OpenClash fw3 (iptables-legacy + ipset), fake-ip with the defaults, from the same init.d/openclash
// (v0.47.071, the `#IPTABLES` branch). Without iptables' owner match (OpenClash does not depend on
// iptables-mod-extra) its "own traffic" test is `-m mark --mark 0x1a0a` (line 2316).

/**
 * OpenClash on fw3 in one of its modes: fake-ip (the defaults), redir-host (en_mode redir-host, common_ports 0: the
 * common_ports returns name a set OpenClash makes only with common_ports on, so iptables refuses them), or fake-ip-tun
 * (en_mode_tun 1: no nat chains of its own, everything marked in mangle openclash for the TUN); `ipv6` is fake-ip with
 * IPv6 proxying on in its default mode (the IPv4 rules as in fake-ip, plus the ip6tables branch, see openclashFw3Ipv6).
 */
function openclashFw3Fixture(mode: 'fakeip' | 'redirhost' | 'tun' | 'mix' | 'ipv6' = 'fakeip'): Fixture {
  const fakeIp = mode !== 'redirhost';
  const tun = mode === 'tun';
  /** fake-ip-mix (en_mode_tun 2): the nat chains for TCP as without TUN, UDP (and ICMP) marked in mangle for utun. */
  const mix = mode === 'mix';
  /** en_mode_tun set (1 or 2): utun, its filter rules and routes (2665-2770). */
  const utun = tun || mix;
  const c = new Cited();
  const r = (chain: string, line: string, text: string) => {
    c.rows.push(`| ${chain} | \`${text.replace(/\|/g, '\\|')}\` | ${line} |`);
    return text;
  };
  const lines = (...l: (string | false)[]) => l.filter((x): x is string => x !== false).join('\n');
  const ipset = [
    'create localnetwork hash:net family inet hashsize 1024 maxelem 65536',
    ...LOCALNETWORK.map((n) => `add localnetwork ${n}`),
    'create china_ip_route hash:net family inet hashsize 1024 maxelem 1000000',
    ...OC_CHINA_SAMPLE.map((n) => `add china_ip_route ${n}`),
    'create china_ip_route_pass hash:net family inet hashsize 1024 maxelem 1000000',
    '',
  ].join('\n');
  c.rows.push('| ipset localnetwork | the default members | 2385, 2392-2400 |');
  c.rows.push('| ipset china_ip_route | /etc/openclash/china_ip_route.ipset (disable_udp_quic=1): a four-prefix stand-in | 2326-2328; its header as openclash_chnroute.sh 58 writes it |');
  c.rows.push('| ipset china_ip_route_pass | empty | 2331, 2338 |');
  const QUIC = '-p udp -m udp --dport 443 -m comment --comment "OpenClash QUIC REJECT" -m set ! --match-set china_ip_route dst -j REJECT --reject-with icmp-port-unreachable';
  const MARK = '-j MARK --set-xmark 0x162/0xffffffff';
  const ICMP_REJECT = (chain: string, extra = '') =>
    `-p icmp -m icmp --icmp-type 8 -m comment --comment "OpenClash ICMP ${chain} REJECT" ${extra}-j REJECT --reject-with icmp-admin-prohibited`;
  const filter = utun
    ? lines(
        r('filter INPUT', '2759 (-I)', '-A INPUT -i utun -m comment --comment "OpenClash TUN Input" -j ACCEPT'),
        r('filter FORWARD', '2767 (-I, last)', `-A FORWARD -o utun ${QUIC}`),
        r('filter FORWARD', '2758 (-I)', '-A FORWARD -i utun -m comment --comment "OpenClash TUN Forward" -j ACCEPT'),
        r('filter FORWARD', '2757 (-I, first)', '-A FORWARD -o utun -m comment --comment "OpenClash TUN Forward" -j ACCEPT'),
      )
    : lines(
        // fake-ip without TUN: ping to a fake-ip address is refused (3122-3126, each -I: first in its chain).
        fakeIp && r('filter INPUT', '3124 (-I)', `-A INPUT -d 198.18.0.0/16 ${ICMP_REJECT('INPUT')}`),
        r('filter INPUT', '2629', `-A INPUT ${QUIC}`),
        fakeIp && r('filter FORWARD', '3125 (-I)', `-A FORWARD -d 198.18.0.0/16 ${ICMP_REJECT('FORWARD')}`),
        fakeIp &&
          r('filter OUTPUT', '3126 (-I; $noowner 2317)', `-A OUTPUT -d 198.18.0.0/16 ${ICMP_REJECT('OUTPUT', '-m mark ! --mark 0x1a0a ')}`),
      );
  const natChains = tun ? '' : ':openclash - [0:0]\n:openclash_output - [0:0]\n';
  const nat = lines(
    r('nat PREROUTING', '2468 (-I, after 2467)', '-A PREROUTING -p tcp -m tcp --dport 53 -m comment --comment "OpenClash DNS Hijack" -j REDIRECT --to-ports 53'),
    r('nat PREROUTING', '2467', '-A PREROUTING -p udp -m udp --dport 53 -m comment --comment "OpenClash DNS Hijack" -j REDIRECT --to-ports 53'),
    !tun && r('nat PREROUTING', '2539', '-A PREROUTING -p tcp -j openclash'),
    r('nat OUTPUT', '2478 (-I, after 2477)', '-A OUTPUT -d 127.0.0.1/32 -p udp -m mark ! --mark 0x1a0a -m comment --comment "OpenClash DNS Hijack" -m udp --dport 53 -j REDIRECT --to-ports 53'),
    r('nat OUTPUT', '2477', '-A OUTPUT -d 127.0.0.1/32 -p tcp -m mark ! --mark 0x1a0a -m comment --comment "OpenClash DNS Hijack" -m tcp --dport 53 -j REDIRECT --to-ports 53'),
    !tun && r('nat OUTPUT', '2661', '-A OUTPUT -j openclash_output'),
    utun && r('nat POSTROUTING', '2760 (-I)', '-A POSTROUTING -o utun -m comment --comment "OpenClash TUN Postrouting" -j RETURN'),
    !tun && r('nat openclash', '2513', '-A openclash -m set --match-set localnetwork dst -j RETURN'),
    !tun && r('nat openclash', '2514', '-A openclash -m conntrack --ctdir REPLY -j RETURN'),
    !tun && r('nat openclash', '2515', '-A openclash -d 198.18.0.0/16 -p tcp -j REDIRECT --to-ports 7892'),
    !tun && r('nat openclash', '2538', '-A openclash -p tcp -j REDIRECT --to-ports 7892'),
    !tun && r('nat openclash_output', '2638', '-A openclash_output -m mark --mark 0x1a0a -j RETURN'),
    !tun && fakeIp && r('nat openclash_output', '2640', '-A openclash_output -d 198.18.0.0/16 -p tcp -j REDIRECT --to-ports 7892'),
    !tun && r('nat openclash_output', '2643', '-A openclash_output -m set --match-set localnetwork dst -j RETURN'),
    !tun && r('nat openclash_output', '2644', '-A openclash_output -m conntrack --ctdir REPLY -j RETURN'),
    !tun && r('nat openclash_output', '2659', '-A openclash_output -p tcp -j REDIRECT --to-ports 7892'),
  );
  const ICMP = '-p icmp -m icmp --icmp-type 8 -m comment --comment "OpenClash ICMP Mark" -j MARK --set-xmark 0x162/0xffffffff';
  const mangle = mix
    ? lines(
        r('mangle PREROUTING', '2754', '-A PREROUTING -j openclash'),
        r('mangle OUTPUT', '2703', '-A OUTPUT -j openclash_output'),
        r('mangle openclash', '2712', '-A openclash -i utun -j RETURN'),
        r('mangle openclash', '2713', '-A openclash -m set --match-set localnetwork dst -j RETURN'),
        r('mangle openclash', '2714', '-A openclash -m conntrack --ctdir REPLY -j RETURN'),
        r('mangle openclash', '2718 (en_mode_tun 2)', `-A openclash -d 198.18.0.0/16 -p udp ${MARK}`),
        r('mangle openclash', '2744', '-A openclash -p udp -j openclash_upnp'),
        r('mangle openclash', '2750', `-A openclash ${ICMP}`),
        r('mangle openclash', '2751', `-A openclash -p udp ${MARK}`),
        r('mangle openclash_output', '2672', '-A openclash_output -m mark --mark 0x1a0a -j RETURN'),
        r('mangle openclash_output', '2673', '-A openclash_output -m set --match-set localnetwork dst -j RETURN'),
        r('mangle openclash_output', '2674', '-A openclash_output -m conntrack --ctdir REPLY -j RETURN'),
        r('mangle openclash_output', '2678 (en_mode_tun 2)', `-A openclash_output -d 198.18.0.0/16 -p udp ${MARK}`),
        r('mangle openclash_output', '2699', `-A openclash_output ${ICMP}`),
        r('mangle openclash_output', '2700', `-A openclash_output -p udp ${MARK}`),
      )
    : tun
    ? lines(
        r('mangle PREROUTING', '2754', '-A PREROUTING -j openclash'),
        r('mangle OUTPUT', '2703', '-A OUTPUT -j openclash_output'),
        r('mangle openclash', '2712', '-A openclash -i utun -j RETURN'),
        r('mangle openclash', '2713', '-A openclash -m set --match-set localnetwork dst -j RETURN'),
        r('mangle openclash', '2714', '-A openclash -m conntrack --ctdir REPLY -j RETURN'),
        r('mangle openclash', '2716', `-A openclash -d 198.18.0.0/16 ${MARK}`),
        r('mangle openclash', '2744', '-A openclash -p udp -j openclash_upnp'),
        r('mangle openclash', '2747', `-A openclash ${MARK}`),
        r('mangle openclash_output', '2672', '-A openclash_output -m mark --mark 0x1a0a -j RETURN'),
        r('mangle openclash_output', '2673', '-A openclash_output -m set --match-set localnetwork dst -j RETURN'),
        r('mangle openclash_output', '2674', '-A openclash_output -m conntrack --ctdir REPLY -j RETURN'),
        r('mangle openclash_output', '2676', `-A openclash_output -d 198.18.0.0/16 ${MARK}`),
        r('mangle openclash_output', '2696', `-A openclash_output ${MARK}`),
      )
    : lines(
        r('mangle PREROUTING', '2581', '-A PREROUTING -p udp -j openclash'),
        r('mangle OUTPUT', '2621', '-A OUTPUT -p udp -j openclash_output'),
        r('mangle openclash', '2552', '-A openclash -m set --match-set localnetwork dst -j RETURN'),
        r('mangle openclash', '2553', '-A openclash -m conntrack --ctdir REPLY -j RETURN'),
        fakeIp &&
          r('mangle openclash', '2555', '-A openclash -d 198.18.0.0/16 -p udp -j TPROXY --on-port 7895 --on-ip 0.0.0.0 --tproxy-mark 0x162/0xffffffff'),
        r('mangle openclash', '2579', '-A openclash -p udp -j openclash_upnp'),
        r('mangle openclash', '2580', '-A openclash -p udp -j TPROXY --on-port 7895 --on-ip 0.0.0.0 --tproxy-mark 0x162/0xffffffff'),
        r('mangle openclash_output', '2598', '-A openclash_output -m mark --mark 0x1a0a -j RETURN'),
        r('mangle openclash_output', '2599', '-A openclash_output -m set --match-set localnetwork dst -j RETURN'),
        r('mangle openclash_output', '2600', '-A openclash_output -m conntrack --ctdir REPLY -j RETURN'),
        fakeIp && r('mangle openclash_output', '2604', '-A openclash_output -d 198.18.0.0/16 -p udp -j MARK --set-xmark 0x162/0xffffffff'),
        r('mangle openclash_output', '2619', '-A openclash_output -p udp -j MARK --set-xmark 0x162/0xffffffff'),
      );
  const iptables = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
${filter}
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
${natChains}${nat}
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:openclash - [0:0]
:openclash_output - [0:0]
:openclash_upnp - [0:0]
${mangle}
COMMIT
`;
  c.rows.push(
    utun
      ? '| ip rule / route | `ip route add default dev utun table 0x162`, `ip rule add fwmark 0x162 table 0x162 pref 1888` | 738-740 |'
      : '| ip rule / route | `ip rule add fwmark 0x162 table 0x162`, `ip route add local 0.0.0.0/0 dev lo table 0x162` | 2545-2546 |',
  );
  const v6 = mode === 'ipv6' ? openclashFw3Ipv6(c) : undefined;
  const common =
    'no owner match (mark 0x1a0a instead), fakeip_range 198.18.0.1/16 (iptables stores 198.18.0.0/16), DNSPORT 53.\n\n' +
    c.table(OC_REPO, OC_COMMIT, OC_FILE);
  if (v6)
    return {
      name: 'openclash-fw3-ipv6',
      source: v6.source + common,
      iptables,
      ip6tables: v6.ip6tables,
      iptablesVariant: 'legacy',
      ipset: ipset + v6.ipset,
      ip: [...OC_TPROXY_ROUTE, ...v6.ip],
      ipv6: true,
    };
  if (mode === 'fakeip')
    return {
      name: 'openclash-fw3-fakeip',
      source:
        'OpenClash fw3 (iptables-legacy + ipset), fake-ip with the defaults of luci-app-openclash/root/etc/config/openclash; ' + common,
      iptables,
      iptablesVariant: 'legacy',
      ipset,
      ip: OC_TPROXY_ROUTE,
    };
  return {
    name: `openclash-fw3-${mode}`,
    source:
      (mix
        ? 'OpenClash fw3 (iptables-legacy + ipset), en_mode fake-ip-mix (en_mode_tun 2, do_run_mode 490-493), otherwise the defaults ' +
          'of luci-app-openclash/root/etc/config/openclash: TCP as in fake-ip, REDIRECTed to 7892 by nat openclash (2509-2539, made for ' +
          'en_mode_tun 2 too) with the router\'s own TCP in nat openclash_output (2635-2661, the fake-ip redirect 2640 as en_mode_tun is not 1); ' +
          'no UDP TPROXY and no QUIC reject in INPUT (2541: without TUN only); UDP and ICMP echo requests are marked 0x162 in mangle openclash ' +
          '(2706-2754, the en_mode_tun 2 branches 2718 and 2749-2751) and openclash_output (2669-2703) and routed into utun (738-740); the ' +
          'TUN filter and nat rules and the QUIC reject out of utun as in fake-ip-tun (2756-2769); no fake-ip ICMP rejects (3122-3126: fake-ip ' +
          'without TUN only). Stand-in: utun is a plain tun device (the core makes it). Left out: the rules naming sets OpenClash makes only ' +
          'for a non-empty list (wan_ac_*, lan_ac_*). As in openclash-fw3-fakeip: '
        : tun
        ? 'OpenClash fw3 (iptables-legacy + ipset), en_mode fake-ip-tun (en_mode_tun 1, do_run_mode 475-478), otherwise the defaults ' +
          'of luci-app-openclash/root/etc/config/openclash: the nat chains openclash and openclash_output are not made (2509), TCP and UDP ' +
          'are marked 0x162 in mangle openclash (2706-2754) and routed into utun (738-740); the QUIC reject moves to FORWARD out of utun ' +
          '(2762-2769) and the fake-ip ICMP rejects are not written (3122-3126: fake-ip without TUN only). Stand-in: utun is a plain tun ' +
          'device (the core makes it). Left out: the rules naming sets OpenClash makes only for a non-empty list (wan_ac_*, lan_ac_*: ' +
          'iptables refuses them and OpenClash ignores the error). As in openclash-fw3-fakeip: '
        : 'OpenClash fw3 (iptables-legacy + ipset), en_mode redir-host, otherwise the defaults of luci-app-openclash/root/etc/config/openclash ' +
          "(common_ports 0, so the common_ports returns at 2527, 2568 and 2648 name a set that is not made (2410-2415) and are refused, as are the " +
          'wan_ac_*/lan_ac_* rules for empty lists): the fake-ip TPROXY and MARK rules (2555, 2604), the output fake-ip redirect (2640) and the ' +
          'fake-ip ICMP rejects (3122-3126) are not written; the nat fake-ip redirect (2515) is, in every mode. As in openclash-fw3-fakeip: ') +
      common,
    iptables,
    iptablesVariant: 'legacy',
    ipset,
    ip: utun ? OC_TUN_ROUTE : OC_TPROXY_ROUTE,
    ...(utun ? { tun: ['utun'] } : {}),
  };
}

/**
 * The ip6tables branch of init.d/openclash's `#IPTABLES` part (2773-3119, 3128-3134) with ipv6_enable 1 and the rest
 * of IPv6 at its defaults once it is on: ipv6_mode 0 (TProxy: get_config 3648 falls back to 0, LuCI's form default is
 * "0", and root/etc/config/openclash sets none), enable_v6_udp_proxy 1 (the form's default, written when IPv6 is turned
 * on; get_config 3649 would read an unset option as 0), china_ip6_route 0, ipv6_dns 0. Appends its rows to `c`.
 */
function openclashFw3Ipv6(c: Cited): { ip6tables: string; ipset: string; ip: string[]; source: string } {
  const r = (chain: string, line: string, text: string) => {
    c.rows.push(`| ip6 ${chain} | \`${text.replace(/\|/g, '\\|')}\` | ${line} |`);
    return text;
  };
  const lines = (...l: string[]) => l.join('\n');
  /** fakeip_range6's default (get_config 3665), as ip6tables stores it. */
  const FAKE6 = '-d fdfe:dcba:9876::/64';
  const TPROXY = '-j TPROXY --on-port 7895 --on-ip :: --tproxy-mark 0x162/0xffffffff';
  const MARK = '-j MARK --set-xmark 0x162/0xffffffff';
  const ICMP6_REJECT = (chain: string, extra = '') =>
    `${FAKE6} -p ipv6-icmp -m icmp6 --icmpv6-type 128 ${extra}-m comment --comment "OpenClash ICMPv6 ${chain} REJECT" -j REJECT --reject-with icmp6-adm-prohibited`;
  const DNS = (proto: string, extra = '') =>
    `-p ${proto} -m ${proto} --dport 53 ${extra}-m comment --comment "OpenClash DNS Hijack" -j REDIRECT --to-ports 53`;
  const ipset = [
    'create china_ip6_route hash:net family inet6 hashsize 1024 maxelem 1000000',
    ...OC_CHINA6_SAMPLE.map((n) => `add china_ip6_route ${n}`),
    'create china_ip6_route_pass hash:net family inet6 hashsize 1024 maxelem 1000000',
    'create localnetwork6 hash:net family inet6 hashsize 1024 maxelem 65536',
    ...LOCALNETWORK6.map((n) => `add localnetwork6 ${n}`),
    `add localnetwork6 ${SIDE6}`,
    '',
  ].join('\n');
  c.rows.push(
    '| ipset china_ip6_route | /etc/openclash/china_ip6_route.ipset (disable_udp_quic=1), in the ipset form usr/share/openclash/openclash_chnroute.sh:96-97 writes without fw4; members: a three-prefix stand-in from the shipped list | 2775-2777 |',
  );
  c.rows.push('| ipset china_ip6_route_pass | empty (the shipped custom/openclash_custom_chnroute6_pass.list holds only comments and domains, which the awk filter drops) | 2778-2786 |');
  c.rows.push(
    "| ipset localnetwork6 | `hash:net family inet6`, custom/openclash_custom_localnetwork_ipv6.list as shipped, then the router's own inet6 addresses (wan_ip6s, `ifconfig`, get_config 3675: 2001:db8:50::2/64 is added, ::1/128 is already there) | 2846-2850, 2867-2871 |",
  );
  const filter = lines(
    // -I, after the QUIC reject (3084): first in INPUT.
    r('filter INPUT', '3130 (-I)', `-A INPUT ${ICMP6_REJECT('INPUT')}`),
    r(
      'filter INPUT',
      '3073-3084 (-I; chain INPUT as ipv6_mode is 0, 3077)',
      '-A INPUT -p udp -m udp --dport 443 -m comment --comment "OpenClash QUIC REJECT" -m set ! --match-set china_ip6_route dst -j REJECT --reject-with icmp6-port-unreachable',
    ),
    r('filter FORWARD', '3131 (-I)', `-A FORWARD ${ICMP6_REJECT('FORWARD')}`),
    r('filter OUTPUT', '3132 (-I; $noowner 2317)', `-A OUTPUT ${ICMP6_REJECT('OUTPUT', '-m mark ! --mark 0x1a0a ')}`),
  );
  const nat = lines(
    r('nat PREROUTING', '2804 (-I, after 2803)', `-A PREROUTING ${DNS('tcp')}`),
    r('nat PREROUTING', '2803', `-A PREROUTING ${DNS('udp')}`),
    // `-d ::/0` (every address) is not kept by ip6tables.
    r('nat OUTPUT', '2813 (-I, after 2812; router_self_proxy 1)', `-A OUTPUT ${DNS('udp', '-m mark ! --mark 0x1a0a ')}`),
    r('nat OUTPUT', '2812', `-A OUTPUT ${DNS('tcp', '-m mark ! --mark 0x1a0a ')}`),
  );
  const mangle = lines(
    r('mangle PREROUTING', '2975', '-A PREROUTING -j openclash'),
    r('mangle OUTPUT', '3052 (router_self_proxy 1)', '-A OUTPUT -j openclash_output'),
    r('mangle openclash', '2910', '-A openclash -m set --match-set localnetwork6 dst -j RETURN'),
    r('mangle openclash', '2911', '-A openclash -m conntrack --ctdir REPLY -j RETURN'),
    r('mangle openclash', '2914 (ipv6_mode 0)', `-A openclash ${FAKE6} -p tcp ${TPROXY}`),
    r('mangle openclash', '2923 (enable_v6_udp_proxy 1)', `-A openclash ${FAKE6} -p udp ${TPROXY}`),
    r('mangle openclash', '2960 (ipv6_mode 0)', `-A openclash -p tcp -m comment --comment "OpenClash TCP Tproxy" ${TPROXY}`),
    r('mangle openclash', '2971 (enable_v6_udp_proxy 1)', `-A openclash -p udp -m comment --comment "OpenClash UDP Tproxy" ${TPROXY}`),
    r('mangle openclash_output', '3010 ($owner 2316)', '-A openclash_output -m mark --mark 0x1a0a -j RETURN'),
    r('mangle openclash_output', '3011', '-A openclash_output -m set --match-set localnetwork6 dst -j RETURN'),
    r('mangle openclash_output', '3012', '-A openclash_output -m conntrack --ctdir REPLY -j RETURN'),
    r('mangle openclash_output', '3017 (ipv6_mode 0, enable_v6_udp_proxy 1)', `-A openclash_output ${FAKE6} -p tcp ${MARK}`),
    r('mangle openclash_output', '3018', `-A openclash_output ${FAKE6} -p udp ${MARK}`),
    r('mangle openclash_output', '3047 (ipv6_mode 0, enable_v6_udp_proxy 1)', `-A openclash_output ${MARK}`),
  );
  c.rows.push('| ip -6 rule / route | `ip -6 rule add fwmark 0x162 table 0x162`, `ip -6 route add local ::/0 dev lo table 0x162` | 3056-3060 |');
  const ip6tables = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
${filter}
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
${nat}
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:openclash - [0:0]
:openclash_output - [0:0]
${mangle}
COMMIT
`;
  return {
    ip6tables,
    ipset,
    ip: [
      `-6 addr add ${SIDE6} dev br-lan nodad`,
      `-6 route add default via ${SIDE6_GATEWAY} dev br-lan`,
      '-6 rule add fwmark 0x162 table 0x162',
      '-6 route add local ::/0 dev lo table 0x162',
    ],
    source:
      'OpenClash fw3 (iptables-legacy + ip6tables-legacy + ipset), fake-ip with IPv6 proxying on: ipv6_enable 1, ipv6_mode 0 ' +
      '(TProxy; root/etc/config/openclash sets no ipv6_mode, get_config 3648 falls back to 0 and ' +
      'luasrc/model/cbi/openclash/settings.lua:1176-1182 offers "0" as the default), enable_v6_udp_proxy 1 (settings.lua:1195-1199, ' +
      "the form's default once IPv6 is on), china_ip6_route 0, ipv6_dns 0; otherwise the defaults of luci-app-openclash/root/etc/config/openclash. " +
      "The IPv4 rules are openclash-fw3-fakeip's (ipv6_enable changes none of them); the ip6tables rules are the branch at 2773-3119 " +
      '(entered as ip6tables has a mangle table) and the ICMPv6 rejects at 3128-3134. The side router has the lab\'s 2001:db8:50::2/64 on br-lan. ' +
      'In TProxy mode there is no ip6tables nat chain of OpenClash\'s own (nat openclash and openclash_output are made only for ipv6_mode 1 ' +
      'or 3, 2873-2904, 2979-3005): TCP and UDP are both TPROXYed in mangle openclash, whose catch-all rules (2960, 2971) take a ' +
      "forward's replies, the SYN-ACK included. Left out: the rules naming sets OpenClash makes only for a non-empty list " +
      '(wan_ac_black_ipv6s, wan_ac_black_ports, lan_ac_black_*, lan_ac_white_*: 2926-2935, 3023-3024; ip6tables refuses them and ' +
      'OpenClash ignores the error), the intranet_allowed chain (3100-3118: made only for a WAN zone, which the side router has not), ' +
      'and the port-forward and firewall-rule returns (firewall_redirect_exclude, firewall_rule_exclude: none configured). ' +
      'fakeip_range6 fdfe:dcba:9876::1/64 (get_config 3665; ip6tables stores fdfe:dcba:9876::/64), TPROXY without --on-ip (ip6tables shows `--on-ip ::`); ',
  };
}

// ---------------------------------------------------------------------------
// An unknown transparent proxy (a hand-written sing-box style TPROXY table): recognised only by what it does.
const UNKNOWN_NFT = `table inet sbx {
  chain pre {
    type filter hook prerouting priority mangle; policy accept;
    ip daddr { 10.0.0.0/8, 127.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 } return
    meta l4proto { tcp, udp } meta mark set 0x1 tproxy ip to 127.0.0.1:12345 accept
  }
}
`;

export const FIXTURES: Fixture[] = [
  openclashFixture('openclash-fw4-fakeip', 'fake-ip (TCP redirect, UDP TPROXY)', {}),
  openclashFw4V046Fixture(),
  openclashFixture('openclash-fw4-redirhost-common-ports', 'redir-host with common_ports=1', { commonPorts: true }, 'en_mode redir-host, common_ports 1. '),
  openclashFixture('openclash-fw4-tun', 'fake-ip-tun (en_mode_tun=1)', { tun: 'tun' }, 'en_mode fake-ip-tun. '),
  openclashFixture('openclash-fw4-mix', 'fake-ip-mix (en_mode_tun=2)', { tun: 'mix' }, 'en_mode fake-ip-mix. '),
  openclashFixture('openclash-fw4-bypass-gateway-compatible', 'fake-ip with bypass_gateway_compatible=1', { bypassGatewayCompatible: true }, 'bypass_gateway_compatible 1. '),
  openclashFixture(
    'openclash-fw4-china-ip-route-8k',
    'fake-ip with china_ip_route=1',
    { chinaIpRoute: chinaPrefixes() },
    'china_ip_route 1; the 8,000 china_ip_route prefixes are generated (seeded xorshift, chinaPrefixes() in fixtures.ts), not real data. ',
  ),
  openclashFixture(
    'openclash-fw4-ipv6-tproxy',
    'fake-ip with IPv6 on, ipv6_mode 0 (TProxy, the default)',
    { ipv6: 'tproxy' },
    'ipv6_enable 1, ipv6_mode 0, enable_v6_udp_proxy 1 (luasrc/model/cbi/openclash/settings.lua:1172-1199: the form\'s defaults once IPv6 is on), china_ip6_route 0, ipv6_dns 0. ',
  ),
  openclashFixture(
    'openclash-fw4-ipv6-redirect',
    'fake-ip with IPv6 on, ipv6_mode 1 (Redirect)',
    { ipv6: 'redirect' },
    'ipv6_enable 1, ipv6_mode 1, enable_v6_udp_proxy 1 (luasrc/model/cbi/openclash/settings.lua:1172-1199), china_ip6_route 0, ipv6_dns 0. ',
  ),
  openclashFw3Fixture(),
  openclashFw3Fixture('redirhost'),
  openclashFw3Fixture('tun'),
  openclashFw3Fixture('mix'),
  openclashFw3Fixture('ipv6'),
  passwallFixture(),
  passwallFw3Fixture(),
  passwallFw3Fixture('tproxy'),
  passwallNftTproxyFixture(),
  passwall2Fixture('passwall2-nft', 'tproxy', PSW2_OLD_TCP_PORTS),
  passwall2Fixture('passwall2-nft-redirect', 'redirect', '1:65535'),
  passwall2Fw3Fixture(),
  passwall2Fw3Fixture('tproxy'),
  passwall2Nft2511Fixture(),
  homeproxyFixture(),
  homeproxyFixture('tun'),
  homeproxyFixture('redirect_tun'),
  nikkiFixture(),
  nikkiFixture('tproxy'),
  nikkiFixture('tun'),
  nikkiFixture('redirect-tproxy'),
  shellcrashNftFixture(),
  shellcrashNftFixture('tproxy'),
  shellcrashNftFixture('tun'),
  shellcrashNftFixture('mix'),
  shellcrashNftFixture('tproxy', false),
  shellcrashIptablesFixture(),
  shellclashIptablesFixture(),
  shellclashIptablesFixture(false),
  { name: 'unknown-tproxy', source: 'A hand-written TPROXY table with no known proxy names.', nft: UNKNOWN_NFT, ip: ['rule add fwmark 1 table 100', 'route add local 0.0.0.0/0 dev lo table 100'] },
  { name: 'empty', source: 'No firewall rules at all: a plain router.' },
];
