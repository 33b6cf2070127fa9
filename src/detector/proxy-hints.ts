// Default redirect ports of the transparent proxies people run on side routers
// (research/proxies.md). A hint only: the ruleset names the real rule.

export interface ProxyHint {
  proxy: string;
  /** The nat chain that the proxy jumps to from prerouting, where a guard goes. */
  natChain?: string;
  /** nft table holding that chain. */
  nftTable?: string;
}

const BY_PORT: Record<number, ProxyHint> = {
  7892: { proxy: 'OpenClash (or ShellCrash)', natChain: 'openclash', nftTable: 'inet fw4' },
  7874: { proxy: 'OpenClash DNS', natChain: 'openclash', nftTable: 'inet fw4' },
  1041: { proxy: 'Passwall / Passwall2', natChain: 'PSW_NAT', nftTable: 'inet passwall' },
  5331: { proxy: 'homeproxy', natChain: 'homeproxy_redirect_proxy', nftTable: 'inet fw4' },
  7891: { proxy: 'nikki', natChain: 'lan_redirect', nftTable: 'inet nikki' },
};

export function proxyHintForPort(port: number): ProxyHint | undefined {
  return BY_PORT[port];
}
