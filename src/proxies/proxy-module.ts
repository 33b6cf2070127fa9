// What replyguard knows of one transparent proxy, in one place: how its rules
// are recognised, its default ports and the nat chain holding each redirect
// (per firewall), and the names of its TUN devices. Pure data, each module
// citing the proxy's own repository.

export type ProxyName = 'openclash' | 'passwall' | 'passwall2' | 'homeproxy' | 'nikki' | 'shellcrash' | 'unknown';

/** One place a redirect can be: a proxy's nat chain on one firewall. */
export interface NatChainCandidate {
  proxy: string;
  firewall: 'fw4' | 'fw3';
  /** nft table ("inet fw4") for fw4; the iptables table ("nat") for fw3. */
  table: string;
  chain: string;
}

export interface ProxyPort {
  port: number;
  /** What the port serves when it is not the proxy itself ("DNS"). */
  what?: string;
  /** The nat chains that redirect to it; empty when the redirect is in no chain of the proxy's own. */
  natChains: readonly NatChainCandidate[];
}

export interface ProxyModule {
  name: Exclude<ProxyName, 'unknown'>;
  label: string;
  /** Tables it owns (by name, any family), including the names of earlier releases. */
  tables: readonly string[];
  /** Chains it owns in other tables (fw4's inet table, iptables' nat and mangle). */
  chains?: RegExp;
  /** Its default ports. */
  ports: readonly ProxyPort[];
  /** Its TUN devices: regular-expression sources matched at the start of a device name, any case. */
  tunDevices: readonly string[];
}
