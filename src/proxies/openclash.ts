// OpenClash (vernesong/OpenClash): how its rules are recognised, and the
// settings replyguard tells its users to change, in the form
// luci-app-openclash/root/etc/init.d/openclash reads them.

import { COMMON_PORTS_NOTE, type NativeFixContext, type ProxyModule } from './proxy-module';

/**
 * init.d/openclash names every chain it makes `openclash…` (fw4: in table inet fw4; fw3: iptables nat and
 * mangle); redir port 7892, DNS 7874 (luci-app-openclash/root/etc/config/openclash); TUN device utun, and
 * clash0, the device older releases made for en_mode_tun 2 (vernesong/OpenClash@ab25fe10).
 */
export const OPENCLASH: ProxyModule = {
  name: 'openclash',
  label: 'OpenClash',
  tables: [],
  chains: /^openclash/i,
  ports: [
    {
      port: 7892,
      natChains: [
        { proxy: 'OpenClash', firewall: 'fw4', table: 'inet fw4', chain: 'openclash' },
        { proxy: 'OpenClash', firewall: 'fw3', table: 'nat', chain: 'openclash' },
      ],
    },
    // Its DNS hijack redirects there from fw4's own dstnat (or PREROUTING), not from a chain of its own.
    { port: 7874, what: 'DNS', natChains: [] },
  ],
  tunDevices: ['utun', 'clash\\d*'],
  nativeFixes: openclashFixes,
};

/** One Lan Traffic Access List entry (section type `lan_ac_traffic`) that exempts a server port's replies. */
export interface LanAcTrafficEntry {
  host: string;
  port: number;
  proto: 'tcp' | 'udp';
  /** The forward's name, if declared: it names the entry. */
  name?: string;
}

/** What nft takes as a string without quotes, which is also one shell word that no glob touches. */
const BARE_WORD = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * The entry's comment. firewall_lan_ac_traffic (init.d/openclash) expands it unquoted into
 * `nft insert rule … comment ${comment}` and `iptables … -m comment --comment ${comment}` (earlier
 * releases quoted it): a comment with a space, a colon or a quote makes nft and iptables reject the
 * rule, and OpenClash discards the error. So: one bare word.
 */
export function lanAcTrafficComment(e: LanAcTrafficEntry): string {
  const what = e.name ?? `${e.host}_${e.port}`;
  const word = `replyguard_${what}`.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64);
  return BARE_WORD.test(word) ? word : 'replyguard';
}

/** The uci commands that add the entry (target return: the replies skip OpenClash's chains). */
export function lanAcTrafficCommands(e: LanAcTrafficEntry): string[] {
  const s = 'openclash.@lan_ac_traffic[-1]';
  return [
    'uci add openclash lan_ac_traffic',
    `uci set ${s}.enabled='1'`,
    `uci set ${s}.src_ip='${e.host}'`,
    `uci set ${s}.src_port='${e.port}'`,
    `uci set ${s}.proto='${e.proto}'`,
    `uci set ${s}.family='${e.host.includes(':') ? 'ipv6' : 'ipv4'}'`,
    `uci set ${s}.target='return'`,
    `uci set ${s}.comment='${lanAcTrafficComment(e)}'`,
  ];
}

/**
 * The LAN blacklist takes IPv4 and IPv6 hosts in the one list `lan_ac_black_ips` (init.d/openclash
 * adds each entry to both the lan_ac_black_ips and lan_ac_black_ipv6s sets; there is no option of the
 * second name).
 */
export function lanBlacklistCommand(host: string): string {
  return `uci add_list openclash.config.lan_ac_black_ips='${host}'`;
}

export const OPENCLASH_RESTART = 'uci commit openclash && /etc/init.d/openclash restart';

/** Bypass Gateway Compatible off (when it masquerades the replies), the access-list entry, common ports, the blacklist. */
function openclashFixes(ctx: NativeFixContext): string[] {
  const lines: string[] = [];
  if (ctx.masqueraded) {
    lines.push(
      'OpenClash: turn off "Bypass Gateway Compatible" (旁路网关兼容), which masquerades the replies: ' +
        `uci set openclash.config.bypass_gateway_compatible='0' && ${OPENCLASH_RESTART}`,
    );
  }
  lines.push(
    "OpenClash: add a Lan Traffic Access List entry (插件设置 → 访问控制 → 来源流量访问控制, OpenClash ≥ 0.46.059) for the server's replies: " +
      [
        ...lanAcTrafficCommands({
          host: ctx.server,
          port: ctx.port,
          proto: ctx.proto,
          ...(ctx.forward ? { name: ctx.forward } : {}),
        }),
        OPENCLASH_RESTART,
      ].join(' && '),
  );
  if (ctx.proto === 'tcp' && ctx.redirected && !ctx.features.some((f) => /common_ports/.test(f)))
    lines.push(
      `Or, in OpenClash redir-host mode, proxy only common ports (${COMMON_PORTS_NOTE}): ` +
        `uci set openclash.config.common_ports='1' && ${OPENCLASH_RESTART}`,
    );
  lines.push(
    `Or bypass the server entirely (all its traffic, not only the replies) with the LAN blacklist: uci set openclash.config.lan_ac_mode='0' && ` +
      `${lanBlacklistCommand(ctx.server)} && ${OPENCLASH_RESTART}`,
  );
  return lines;
}
