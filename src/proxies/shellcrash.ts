// ShellCrash (juewuy/ShellCrash): scripts/starts/fw_nftables.sh makes table inet shellcrash, fw_iptables.sh
// the shellcrash* chains; redir port 7892 (the same default as OpenClash), TUN device utun.

import { COMMON_PORTS_NOTE, type ProxyModule } from './proxy-module';

export const SHELLCRASH: ProxyModule = {
  name: 'shellcrash',
  label: 'ShellCrash',
  tables: ['shellcrash'],
  chains: /^shellcrash/,
  ports: [
    {
      port: 7892,
      natChains: [
        { proxy: 'ShellCrash', firewall: 'fw4', table: 'inet shellcrash', chain: 'prerouting' },
        { proxy: 'ShellCrash', firewall: 'fw3', table: 'nat', chain: 'shellcrash' },
      ],
    },
  ],
  tunDevices: ['utun'],
  // common_ports / multiport and the LAN device filter, configs/mac and configs/ip_filter (scripts/starts/fw_start.sh,
  // fw_nftables.sh).
  nativeFixes: (ctx) => [
    {
      kind: 'proxy_setting',
      proxy: 'shellcrash',
      text:
        `ShellCrash: keep "common ports only" on (common_ports=ON, the default, with multiport listing service ports only, e.g. 22,80,443,8080,8443 — ${COMMON_PORTS_NOTE}), ` +
        `or exclude the device ${ctx.server} in crash → 流量过滤 → 局域网设备过滤 (blacklist mode, the default: the address goes to configs/ip_filter), then restart ShellCrash.`,
      basis: 'ruleset',
    },
  ],
};
