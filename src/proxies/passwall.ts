// Passwall (xiaorouji/openwrt-passwall): luci-app-passwall/root/usr/share/passwall/nftables.sh makes table
// inet passwall with PSW_* chains, iptables.sh the PSW* chains in nat and mangle; TCP_REDIR_PORT 1041
// (app.sh): TCP REDIRECT (or TPROXY), UDP TPROXY, no TUN device.

import type { ProxyModule } from './proxy-module';

export const PASSWALL: ProxyModule = {
  name: 'passwall',
  label: 'Passwall',
  tables: ['passwall'],
  chains: /^PSW(_|$)/,
  ports: [
    {
      port: 1041,
      natChains: [
        { proxy: 'Passwall', firewall: 'fw4', table: 'inet passwall', chain: 'PSW_NAT' },
        { proxy: 'Passwall', firewall: 'fw3', table: 'nat', chain: 'PSW' },
      ],
    },
  ],
  tunDevices: [],
};
