// homeproxy (immortalwrt/homeproxy): root/etc/homeproxy/scripts/firewall_post.ut adds homeproxy_* chains to
// fw4's table inet fw4; redirect_port 5331, TUN device singtun0 (root/etc/config/homeproxy). fw4 only.

import { COMMON_PORTS_NOTE, type ProxyModule } from './proxy-module';

export const HOMEPROXY: ProxyModule = {
  name: 'homeproxy',
  label: 'homeproxy',
  tables: [],
  chains: /^homeproxy/,
  ports: [
    {
      port: 5331,
      natChains: [{ proxy: 'homeproxy', firewall: 'fw4', table: 'inet fw4', chain: 'homeproxy_redirect_proxy' }],
    },
  ],
  tunDevices: ['singtun\\d*'],
  // config.routing_port, and control.lan_proxy_mode except_listed with lan_direct_ipv4/ipv6_ips (firewall_post.ut).
  nativeFixes: (ctx) => [
    `homeproxy: proxy only common ports (${COMMON_PORTS_NOTE}): uci set homeproxy.config.routing_port='common', ` +
      `or exclude the server: uci set homeproxy.control.lan_proxy_mode='except_listed' && ` +
      `uci add_list homeproxy.control.${ctx.server.includes(':') ? 'lan_direct_ipv6_ips' : 'lan_direct_ipv4_ips'}='${ctx.server}'; then uci commit homeproxy && /etc/init.d/homeproxy restart`,
  ],
};
