// Default redirect ports of the transparent proxies people run on side routers,
// and the nat chains that hold their redirect, as each proxy's own firewall
// script names them. A hint only, for when no ruleset was read: a port can be
// the default of two proxies, and each names its chain differently on fw4
// (nft) and fw3 (iptables), so every candidate is listed; the ruleset (explain,
// diagnose) names the real rule.

/** One place the redirect can be: a proxy on one firewall. */
export interface NatChainCandidate {
  proxy: string;
  firewall: 'fw4' | 'fw3';
  /** nft table ("inet fw4") for fw4; the iptables table ("nat") for fw3. */
  table: string;
  chain: string;
}

export interface ProxyHint {
  proxy: string;
  /** The nat chains that redirect to this port, one per proxy and firewall. Empty: none known. */
  natChains: NatChainCandidate[];
}

const OPENCLASH: NatChainCandidate[] = [
  // vernesong/OpenClash luci-app-openclash/root/etc/init.d/openclash: `nft add rule inet fw4 openclash …`, `iptables -t nat -A openclash …`.
  { proxy: 'OpenClash', firewall: 'fw4', table: 'inet fw4', chain: 'openclash' },
  { proxy: 'OpenClash', firewall: 'fw3', table: 'nat', chain: 'openclash' },
];
const SHELLCRASH: NatChainCandidate[] = [
  // juewuy/ShellCrash scripts/starts/fw_nftables.sh (start_nft_route prerouting, Redir mode) and fw_iptables.sh.
  { proxy: 'ShellCrash', firewall: 'fw4', table: 'inet shellcrash', chain: 'prerouting' },
  { proxy: 'ShellCrash', firewall: 'fw3', table: 'nat', chain: 'shellcrash' },
];
const PASSWALL: NatChainCandidate[] = [
  // xiaorouji/openwrt-passwall luci-app-passwall/root/usr/share/passwall/nftables.sh (PSW_NAT) and iptables.sh (nat PSW).
  { proxy: 'Passwall', firewall: 'fw4', table: 'inet passwall', chain: 'PSW_NAT' },
  { proxy: 'Passwall', firewall: 'fw3', table: 'nat', chain: 'PSW' },
  // Openwrt-Passwall/openwrt-passwall2 luci-app-passwall2/root/usr/share/passwall2/nftables.sh (PSW2_NAT) and iptables.sh (nat PSW2).
  { proxy: 'Passwall2', firewall: 'fw4', table: 'inet passwall2', chain: 'PSW2_NAT' },
  { proxy: 'Passwall2', firewall: 'fw3', table: 'nat', chain: 'PSW2' },
];

const BY_PORT: Record<number, ProxyHint> = {
  7892: { proxy: 'OpenClash (or ShellCrash)', natChains: [...OPENCLASH, ...SHELLCRASH] },
  // OpenClash's DNS port: its DNS hijack redirects there from fw4's own dstnat, not from a chain of its own.
  7874: { proxy: 'OpenClash DNS', natChains: [] },
  1041: { proxy: 'Passwall / Passwall2', natChains: PASSWALL },
  // immortalwrt/homeproxy root/etc/homeproxy/scripts/firewall_post.ut (fw4 only).
  5331: {
    proxy: 'homeproxy',
    natChains: [{ proxy: 'homeproxy', firewall: 'fw4', table: 'inet fw4', chain: 'homeproxy_redirect_proxy' }],
  },
  // nikkinikki-org/OpenWrt-nikki nikki/files/ucode/hijack.ut (fw4 only).
  7891: {
    proxy: 'nikki',
    natChains: [{ proxy: 'nikki', firewall: 'fw4', table: 'inet nikki', chain: 'lan_redirect' }],
  },
};

export function proxyHintForPort(port: number): ProxyHint | undefined {
  return BY_PORT[port];
}
