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
  // proxy.proxy_tcp_dport / proxy_udp_dport, bypass_fwmark, bypass_dscp (hijack.ut).
  nativeFixes: (ctx) => [
    `nikki: proxy only the destination ports clients connect to (default 0-65535 takes every reply): ` +
      `uci set nikki.proxy.proxy_${ctx.proto}_dport='${ctx.proto === 'tcp' ? '21 22 80 110 143 194 443 465 853 993 995 8080 8443' : '53 443'}' && ` +
      'uci commit nikki && /etc/init.d/nikki restart; or mark the replies with a mark nikki bypasses (its bypass_fwmark / bypass_dscp options).',
  ],
};
