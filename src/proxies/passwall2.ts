// Passwall2 (Openwrt-Passwall/openwrt-passwall2): luci-app-passwall2/root/usr/share/passwall2/nftables.sh
// makes table inet passwall2 with PSW2_* chains, iptables.sh the PSW2* chains; REDIR_PORT 1041 (app.sh) for
// TCP (REDIRECT by default, or TPROXY) and UDP (TPROXY). With tcp_proxy_way tproxy TCP goes through PSW2_RULE, and
// the TPROXY takes only what it marked: nftables.sh marks `tcp flags syn` (a SYN-ACK too, since 4aaec7c), iptables.sh
// only an exact SYN (`--syn`, iptables.sh:774 at 7d7dd9b6), so on fw3 the TCP replies pass and only UDP's are taken.

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
