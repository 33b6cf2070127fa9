// nikki (nikkinikki-org/OpenWrt-nikki): nikki/files/ucode/hijack.ut makes table inet nikki; before it was
// renamed the package was OpenWrt-mihomo, whose hijack.nft made table inet mihomo (mihomo/files/nftables/
// hijack.nft at d29a6d1a). redir port 7891, TUN device nikki (nikki/files/nikki.conf). fw4 only.

import { commitAndRestart, type Fix, type UciChange, uciLine } from '../detector/fix';
import type { NativeFixContext, ProxyModule } from './proxy-module';

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
  nativeFixes: nikkiFixes,
  // proxy_dport's IPv6 return (hijack.ut, meta nfproto ipv6) is proven beside the IPv4 one.
  ipv6FixesProven: () => true,
};

function nikkiFixes(ctx: NativeFixContext): Fix[] {
  const ports = ctx.proto === 'tcp' ? '21 22 80 110 143 194 443 465 853 993 995 8080 8443' : '53 443';
  const uci: UciChange[] = [
    { op: 'set', config: 'nikki', section: 'proxy', option: `proxy_${ctx.proto}_dport`, value: ports },
  ];
  const command = [...uci.map(uciLine), ...commitAndRestart('nikki')];
  return [
    {
      kind: 'proxy_setting',
      proxy: 'nikki',
      text:
        'nikki: proxy only the destination ports clients connect to (default 0-65535 takes every reply): ' +
        `${command.join(' && ')}; or mark the replies with a mark nikki bypasses (its bypass_fwmark / bypass_dscp options).`,
      command,
      uci,
      applies: { firewall: 'fw4' },
      basis: 'ruleset',
    },
  ];
}
