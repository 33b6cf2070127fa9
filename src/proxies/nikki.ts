// nikki (nikkinikki-org/OpenWrt-nikki): nikki/files/ucode/hijack.ut makes table inet nikki; before it was
// renamed the package was OpenWrt-mihomo, whose hijack.nft made table inet mihomo (mihomo/files/nftables/
// hijack.nft at d29a6d1a). redir port 7891, TUN device nikki (nikki/files/nikki.conf). fw4 only.

import type { ProxyModule } from './proxy-module';

export const NIKKI: ProxyModule = {
  name: 'nikki',
  label: 'nikki',
  tables: ['nikki', 'mihomo'],
  ports: [
    {
      port: 7891,
      natChains: [{ proxy: 'nikki', firewall: 'fw4', table: 'inet nikki', chain: 'lan_redirect' }],
    },
  ],
  tunDevices: ['nikki', 'mihomo'],
};
