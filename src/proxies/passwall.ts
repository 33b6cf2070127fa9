// Passwall (xiaorouji/openwrt-passwall): luci-app-passwall/root/usr/share/passwall/nftables.sh makes table
// inet passwall with PSW_* chains, iptables.sh the PSW* chains in nat and mangle; TCP_REDIR_PORT 1041
// (app.sh): TCP REDIRECT (or TPROXY), UDP TPROXY, no TUN device. With tcp_proxy_way 'tproxy' TCP goes through
// PSW_RULE like UDP, which marks only a bare SYN (nftables.sh `tcp flags & (fin|syn|rst|ack) == syn`, iptables.sh
// `--tcp-flags FIN,SYN,RST,ACK SYN`), and the TPROXY takes only what is marked: the TCP replies pass, UDP's do not.

import { commitAndRestart, type Fix, type UciChange, uciLine } from '../detector/fix';
import { COMMON_PORTS_NOTE, type NativeFixContext, type ProxyModule } from './proxy-module';

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
  nativeFixes: (ctx) => redirPortsFix('passwall', ctx),
};

/**
 * Passwall's and Passwall2's forwarding ports (global_forwarding tcp_redir_ports / udp_redir_ports, the
 * same option in both): proxy only the ports clients connect to. The TCP list is Passwall's default
 * (luci-app-passwall/root/usr/share/passwall/0_default_config).
 */
export function redirPortsFix(cfg: 'passwall' | 'passwall2', ctx: NativeFixContext): Fix[] {
  const opt = ctx.proto === 'tcp' ? 'tcp_redir_ports' : 'udp_redir_ports';
  const ports = ctx.proto === 'tcp' ? '22,25,53,80,143,443,465,587,853,873,993,995,5222,8080,8443,9418' : '53,443';
  const uci: UciChange[] = [{ op: 'set', config: cfg, section: '@global_forwarding[0]', option: opt, value: ports }];
  const command = [...uci.map(uciLine), ...commitAndRestart(cfg)];
  // Passwall2 has no Forwarding tab on Basic Settings: its global_forwarding section is "Forwarding Settings" on the
  // Other Settings page (Openwrt-Passwall/openwrt-passwall2 7d7dd9b6, luci-app-passwall2/luasrc/controller/passwall2.lua:40,
  // luci-app-passwall2/luasrc/model/cbi/passwall2/client/other.lua:61, 84-94).
  const page = cfg === 'passwall2' ? 'Other Settings → Forwarding Settings' : 'Basic Settings → Forwarding';
  return [
    {
      kind: 'proxy_setting',
      proxy: cfg,
      text:
        `${ctx.label}: proxy only the ports clients connect to, not all (${COMMON_PORTS_NOTE}): ` +
        `${command.join(' && ')} ` +
        `(LuCI: ${ctx.label} → ${page}; access-control rules (acl_rule) have their own ${opt}).`,
      command,
      uci,
      basis: 'ruleset',
    },
  ];
}
