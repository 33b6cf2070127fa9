// Per golden folder, the proxy's own options replyguard offers as fixes, the rule the proxy's code writes for
// each (re-stated in test/integration/native-fixes.test.ts, which shows the lab's forward working with it and
// the LAN's own traffic still proxied), and where upstream writes it. regenerate.ts puts this into SOURCE.md.

const HEAD = (mode: string) =>
  '## Fixes replyguard offers, proven in the lab\n\n' +
  `\`test/integration/native-fixes.test.ts\`, lab mode \`${mode}\`: the option is read from the text replyguard prints for the lab's live ruleset, ` +
  "turned into the rule below, and then the outside client's TLS (and, for a UDP option, the UDP forward) works while the TCP and UDP of another LAN host still reach the proxy " +
  "(and, for a per-port option, the server's own outbound traffic too); replyguard's model then lets the reply pass.\n\n" +
  '| option (as printed) | rule the proxy writes for it | upstream |\n|---|---|---|\n';

export const FIX_PROOFS: Readonly<Record<string, string>> = {
  'openclash-fw4-fakeip': `${HEAD('openclash-fw4-fakeip')}| \`lan_ac_traffic\` entry: \`src_ip\`, \`src_port\`, \`proto\`, \`family\`, \`target='return'\`, \`comment='replyguard_<forward>'\` | \`nft insert rule inet fw4 openclash position 0 tcp sport 443 meta nfproto {ipv4} ip daddr != { 198.18.0.1/16 } ip saddr { <server> } counter return comment replyguard_nas\` (the rule string expanded unquoted: the comment must be one bare word); UDP: the same into \`openclash_mangle\` | gorillapower/OpenClash 7664c89d (vernesong/OpenClash v0.47.071), \`luci-app-openclash/root/etc/init.d/openclash\` 885-897 (options), 942-944 (rule strings), 956 (TCP), 960 (UDP); the quoted form of v0.47.055: vernesong/OpenClash 8af97e15, same file 925-958 |
| \`lan_ac_mode='0'\`, \`lan_ac_black_ips='<server>'\` | set \`lan_ac_black_ips\` (ipv4_addr, interval, auto-merge) with the server; \`ip saddr @lan_ac_black_ips counter return\` in \`openclash\` before the catch-all redirect and in \`openclash_mangle\` before \`jump openclash_upnp\` | same file 1507-1513, 802-810 (nft_ac_add), 1667, 1710 |
| \`common_ports='1'\` (redir-host) | set \`common_ports\` (inet_service, interval) with the default list; \`th dport != @common_ports counter return\` before the catch-all redirect | same file 1437-1442 (default list), 1567-1570 (set), 1676-1678 (en_mode redir-host only), 1719-1721 (mangle) |

Not proven here: \`bypass_gateway_compatible='0'\`, offered only when a masquerade breaks the replies (the lab's modes do not masquerade).
`,
  'openclash-fw3-fakeip': `${HEAD('openclash-fw3')}| \`lan_ac_traffic\` entry: \`src_ip\`, \`src_port\`, \`proto\`, \`family\`, \`target='return'\`, \`comment='replyguard_<forward>'\` | \`iptables -t nat -I openclash -p tcp ! -d 198.18.0.1/16 -s <server> --sport 443 -j RETURN -m comment --comment replyguard_nas\` (the rule string expanded unquoted); UDP: the same into mangle \`openclash\` | gorillapower/OpenClash 7664c89d (vernesong/OpenClash v0.47.071), \`luci-app-openclash/root/etc/init.d/openclash\` 885-897 (options), 1009, 1032-1034 (rule strings), 1046 (TCP), 1050 (UDP); the quoted form of v0.47.055: vernesong/OpenClash 8af97e15, same file 1000-1030 |
| \`lan_ac_mode='0'\`, \`lan_ac_black_ips='<server>'\` | ipset \`lan_ac_black_ips\` (hash:net) with the server; \`-m set --match-set lan_ac_black_ips src -j RETURN\` in nat \`openclash\` before the REDIRECT and in mangle \`openclash\` before the TPROXY | same file 2344-2349, 812-820 (ac_add), 2518, 2560 |
| \`common_ports='1'\` (redir-host) | ipset \`common_ports\` (bitmap:port) with the default list; \`-m set ! --match-set common_ports dst -j RETURN\` before the REDIRECT | same file 1437-1442, 2411-2414, 2526-2528 (en_mode redir-host only), 2567-2569 (mangle) |
`,
  'shellcrash-iptables': `${HEAD('shellcrash-fw3')}| common ports on: \`common_ports=ON\`, \`multiport='22,80,443,8080,8443'\` (the defaults) | the PREROUTING jump becomes \`-p tcp -m multiport --dports 22,80,443,8080,8443 -j shellcrash\`: the replies' client ports never enter the chain | juewuy/ShellCrash f72192e8, \`scripts/starts/fw_iptables.sh\` 67 (\`$ports\`); 43cf4a91 \`scripts/starts/fw_start.sh\` 8-10 |
| device filter, blacklist (\`macfilter_type\` 黑名单, the default), the server in \`configs/ip_filter\` | \`-A shellcrash -s <server> -j RETURN\` before the REDIRECT | fw_iptables.sh 40-49 (45-48 ip_filter), 62-63; fw_start.sh 7 |

The lab mode \`shellcrash-fw3\` is Redir mode with common ports off: \`-A PREROUTING -p tcp -j shellcrash\` (67 with \`$ports\` empty), the returns of 23-24, 26, 31, 33-35 and \`-s <LAN> -p tcp -j REDIRECT --to-ports 7892\` (62-63).
`,
  'passwall-nft': `${HEAD('passwall')}| \`@global_forwarding[0].tcp_redir_ports='22,25,53,80,143,443,465,587,853,873,993,995,5222,8080,8443,9418'\` | \`PSW_NAT\`: \`ip protocol tcp tcp dport {22,25,…} counter redirect to :1041 comment "默认"\`, then \`ip protocol tcp counter return comment "默认"\` | xiaorouji/openwrt-passwall 471fb79a, \`luci-app-passwall/root/usr/share/passwall/nftables.sh\` 37-59 (factor), 736, 738; \`app.sh\` 2267 (read from global_forwarding); \`0_default_config\` 37-43 |
| \`udp_redir_ports='53,443'\` | \`PSW_MANGLE\`: \`ip protocol udp udp dport {53,443} counter jump PSW_RULE comment "默认"\` before the \`meta mark 1 tproxy\` rule | nftables.sh 769-770; app.sh 2268 |
`,
  'passwall2-nft-redirect': `${HEAD('passwall2-redirect')}| \`@global_forwarding[0].tcp_redir_ports='22,25,53,80,143,443,465,587,853,873,993,995,5222,8080,8443,9418'\` | \`PSW2_NAT\` (redirect mode): \`ip protocol tcp tcp dport {22,25,…} counter redirect to :1041 comment "Default"\` | Openwrt-Passwall/openwrt-passwall2 7d7dd9b6, \`luci-app-passwall2/root/usr/share/passwall2/nftables.sh\` 22-44 (factor), 103-119 (REDIRECT), 582-585 (PSW2_NAT for redirect), 604; \`app.sh\` 1237-1241 (tcp_proxy_way, ports from global_forwarding); \`0_default_config\` 27-34 (the defaults: redirect, 1:65535) |
| \`udp_redir_ports='53,443'\` | \`PSW2_MANGLE\`: \`ip protocol udp udp dport {53,443} counter jump PSW2_RULE comment "Default"\` before the \`meta mark 1 tproxy\` rule | nftables.sh 622-623 |

The lab mode \`passwall2-redirect\` itself (Passwall2's defaults): \`dstnat\` (dstnat - 1) \`ip protocol tcp counter jump PSW2_NAT\` (826), \`PSW2_NAT\` \`ip daddr @passwall2_lan counter return\` (824) and the catch-all redirect (604), \`mangle_prerouting\` \`ip protocol udp counter jump PSW2_MANGLE\` (817), \`PSW2_MANGLE\` 797, 799, 622, 623, \`PSW2_RULE\` 788-792, \`ip rule fwmark 1 lookup 100\` (860-861). \`passwall2-redirect-live.test.ts\`: the daemon attributes the TCP hijack to \`PSW2_NAT\`, the UDP one to \`PSW2_MANGLE\`.
`,
  homeproxy: `${HEAD('homeproxy')}| \`config.routing_port='common'\` | set \`homeproxy_routing_port\` (inet_service, interval, auto-merge) from \`infra.common_port\`; \`tcp dport != @homeproxy_routing_port counter return\` before \`goto homeproxy_redirect_proxy\`, \`udp dport != @homeproxy_routing_port counter return\` before \`goto homeproxy_mangle_tproxy\` | immortalwrt/homeproxy edece28a, \`root/etc/homeproxy/scripts/firewall_post.ut\` 71-73, 244-250, 272-277, 387-391; \`root/etc/config/homeproxy\` 4 (common_port), 31 (routing_port 'common', the default) |
| \`control.lan_proxy_mode='except_listed'\`, \`lan_direct_ipv4_ips='<server>'\` | \`ip saddr { <server> } counter return\` in \`homeproxy_redirect_lanac\` and \`homeproxy_mangle_lanac\`, before their \`goto\` | firewall_post.ut 295-298, 418-421; config 38 |

The lab mode \`homeproxy\` is redirect_tproxy with \`routing_port\` unset (all ports): with the default 'common' the replies' client ports already miss the proxy.
`,
  nikki: `${HEAD('nikki')}| \`proxy.proxy_tcp_dport='21 22 80 110 143 194 443 465 853 993 995 8080 8443'\` (and \`proxy_udp_dport='53 443'\`) | set \`proxy_dport\` (inet_proto . inet_service, interval, auto-merge) of \`tcp . <port>\` and \`udp . <port>\`; \`meta nfproto ipv4 meta l4proto . th dport != @proxy_dport ip daddr != 198.18.0.1/16 counter return\` in \`dstnat\` before the jump to \`lan_redirect\`, and in \`mangle_prerouting_lan\` before \`lan_tun\` | nikkinikki-org/OpenWrt-nikki 388f34e5, \`nikki/files/ucode/hijack.ut\` 134-135, 162-168, 235-244, 585, 612; \`nikki/files/nikki.conf\` 181-182 (default 0-65535) |
`,
  'shellcrash-nft': `${HEAD('shellcrash')}| common ports on: \`common_ports=ON\`, \`multiport='22,80,443,8080,8443'\` (the defaults) | \`ip daddr != {28.0.0.0/8} tcp dport != {22, 80, 443, 8080, 8443} return\` (and udp, and the ip6 pair) before the reserved-address return | juewuy/ShellCrash 9aa6f3d5, \`scripts/starts/fw_nftables.sh\` 24, 40-45; 43cf4a91 \`scripts/starts/fw_start.sh\` 7-9 (defaults) |
| device filter, blacklist (\`macfilter_type\` 黑名单, the default), the server in \`configs/ip_filter\` | \`ip saddr {<server>} return\` before \`ip saddr != {<LAN>} return\` | fw_nftables.sh 50-59 (55-57 ip_filter); fw_start.sh 7 |
`,
};
