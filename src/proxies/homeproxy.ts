// homeproxy (immortalwrt/homeproxy): root/etc/homeproxy/scripts/firewall_post.ut adds homeproxy_* chains to
// fw4's table inet fw4; redirect_port 5331, TUN device singtun0 (root/etc/config/homeproxy). fw4 only.

import { commitAndRestart, type Fix, type UciChange, uciLine } from '../detector/fix';
import { COMMON_PORTS_NOTE, type NativeFixContext, type ProxyModule } from './proxy-module';

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
  nativeFixes: homeproxyFixes,
};

/** Two alternatives in one fix (either spares the replies), so no single command list. */
function homeproxyFixes(ctx: NativeFixContext): Fix[] {
  const v6 = ctx.server.includes(':');
  const common: UciChange = {
    op: 'set',
    config: 'homeproxy',
    section: 'config',
    option: 'routing_port',
    value: 'common',
  };
  const except: UciChange[] = [
    { op: 'set', config: 'homeproxy', section: 'control', option: 'lan_proxy_mode', value: 'except_listed' },
    {
      op: 'add_list',
      config: 'homeproxy',
      section: 'control',
      option: v6 ? 'lan_direct_ipv6_ips' : 'lan_direct_ipv4_ips',
      value: ctx.server,
    },
  ];
  return [
    {
      kind: 'proxy_setting',
      proxy: 'homeproxy',
      text:
        `homeproxy: proxy only common ports (${COMMON_PORTS_NOTE}): ${uciLine(common)}, ` +
        `or exclude the server: ${except.map(uciLine).join(' && ')}; then ${commitAndRestart('homeproxy').join(' && ')}`,
      uci: [common, ...except],
      applies: { firewall: 'fw4', family: v6 ? 'ipv6' : 'ipv4' },
      basis: 'ruleset',
    },
  ];
}
