// homeproxy (immortalwrt/homeproxy): root/etc/homeproxy/scripts/firewall_post.ut adds homeproxy_* chains to
// fw4's table inet fw4; redirect_port 5331, TUN device singtun0 (root/etc/config/homeproxy). fw4 only.

import type { ProxyModule } from './proxy-module';

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
};
