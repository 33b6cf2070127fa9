// Passwall2 (Openwrt-Passwall/openwrt-passwall2): luci-app-passwall2/root/usr/share/passwall2/nftables.sh
// makes table inet passwall2 with PSW2_* chains, iptables.sh the PSW2* chains; REDIR_PORT 1041 (app.sh) for
// TCP (REDIRECT by default, or TPROXY) and UDP (TPROXY).

import { redirPortsFix } from './passwall';
import type { ProxyModule } from './proxy-module';

export const PASSWALL2: ProxyModule = {
  name: 'passwall2',
  label: 'Passwall2',
  tables: ['passwall2'],
  chains: /^PSW2/,
  ports: [
    {
      port: 1041,
      natChains: [
        { proxy: 'Passwall2', firewall: 'fw4', table: 'inet passwall2', chain: 'PSW2_NAT' },
        { proxy: 'Passwall2', firewall: 'fw3', table: 'nat', chain: 'PSW2' },
      ],
    },
  ],
  tunDevices: [],
  nativeFixes: (ctx) => redirPortsFix('passwall2', ctx),
};
