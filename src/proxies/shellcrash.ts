// ShellCrash (juewuy/ShellCrash): scripts/starts/fw_nftables.sh makes table inet shellcrash, fw_iptables.sh
// the shellcrash* chains; redir port 7892 (the same default as OpenClash), TUN device utun.
//
// Before its rename ShellCrash was ShellClash, and releases of that name (some still run) wrote other names
// from scripts/start.sh: the nft table inet shellclash (its Nft modes), and on iptables, its default, the
// chains clash (nat REDIRECT to redir_port 7892, mangle TPROXY/mark 1), clash_dns (DNS to 1053), clashv6,
// clashv6_dns, clash_out, clash_dns_out and clash_docker (start.sh at cd801e12: start_redir, start_dns,
// start_udp, start_output). Its settings live in $clashdir/mark, its device filter is by MAC only ($clashdir/mac).

import type { Fix } from '../detector/fix';
import { COMMON_PORTS_NOTE, type NativeFixContext, type ProxyModule } from './proxy-module';

/** What replyguard calls ShellCrash when the rules carry ShellClash's names. */
export const SHELLCLASH_LABEL = 'ShellCrash (ShellClash)';

/** ShellClash's chains on iptables, by their exact names (the plain "clash" prefix is too common to claim). */
const SHELLCLASH_CHAINS = /^clash(v6)?(_dns|_out|_dns_out|_docker)?$/;

export const SHELLCRASH: ProxyModule = {
  name: 'shellcrash',
  label: 'ShellCrash',
  tables: ['shellcrash', 'shellclash'],
  chains: new RegExp(`^shellcrash|${SHELLCLASH_CHAINS.source}`),
  ports: [
    {
      port: 7892,
      natChains: [
        { proxy: 'ShellCrash', firewall: 'fw4', table: 'inet shellcrash', chain: 'prerouting' },
        { proxy: 'ShellCrash', firewall: 'fw3', table: 'nat', chain: 'shellcrash' },
        { proxy: SHELLCLASH_LABEL, firewall: 'fw3', table: 'nat', chain: 'clash' },
      ],
    },
  ],
  tunDevices: ['utun'],
  labelOf: (chains) =>
    chains.some((key) => {
      const [, table, chain] = key.split(' ');
      return table === 'shellclash' || SHELLCLASH_CHAINS.test(chain ?? '');
    })
      ? SHELLCLASH_LABEL
      : 'ShellCrash',
  nativeFixes: (ctx) => (ctx.label === SHELLCLASH_LABEL ? shellclashFixes(ctx) : shellcrashFixes(ctx)),
};

// common_ports / multiport and the LAN device filter, configs/mac and configs/ip_filter (scripts/starts/fw_start.sh,
// fw_nftables.sh).
function shellcrashFixes(ctx: NativeFixContext): Fix[] {
  return [
    {
      kind: 'proxy_setting',
      proxy: 'shellcrash',
      text:
        `ShellCrash: keep "common ports only" on (common_ports=ON, the default, with multiport listing service ports only, e.g. 22,80,443,8080,8443 — ${COMMON_PORTS_NOTE}), ` +
        `or exclude the device ${ctx.server} in crash → 流量过滤 → 局域网设备过滤 (blacklist mode, the default: the address goes to configs/ip_filter), then restart ShellCrash.`,
      basis: 'ruleset',
    },
  ];
}

// ShellClash had common_ports (default 已开启) and multiport in $clashdir/mark, and a device filter by MAC address
// only: macfilter_type (黑名单, blacklist, the default) with the list in $clashdir/mac (start.sh at cd801e12,
// getconfig and start_redir; clash.sh macfilter). No address filter (configs/ip_filter came with ShellCrash).
function shellclashFixes(ctx: NativeFixContext): Fix[] {
  return [
    {
      kind: 'proxy_setting',
      proxy: 'shellcrash',
      text:
        `ShellClash (ShellCrash before its rename): keep common ports on (common_ports=已开启 in $clashdir/mark, the default, with multiport listing service ports only — ${COMMON_PORTS_NOTE}), ` +
        `or put the MAC address of ${ctx.server} in its device filter (macfilter_type 黑名单, blacklist, the default; the list is $clashdir/mac), then restart ShellClash (clash → 1). ` +
        'Or update to ShellCrash.',
      basis: 'ruleset',
    },
  ];
}
