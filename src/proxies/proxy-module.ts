// What replyguard knows of one transparent proxy, in one place: how its rules
// are recognised, its default ports and the nat chain holding each redirect
// (per firewall), the names of its TUN devices, and its own settings that
// exempt a server's replies. Pure, each module citing the proxy's own repository.

import type { Fix } from '../detector/fix';
import { parseAddress } from '../net/ip-address';
import type { ProxyName } from './proxy-name';

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

/** Why a list of common ports spares the replies: said by every proxy's own fix. */
export const COMMON_PORTS_NOTE = "replies go to the client's ephemeral port, which a list of common ports leaves out";

/** The replies a proxy-native fix is for, and how the proxy takes them. */
export interface NativeFixContext {
  server: string;
  port: number;
  proto: 'tcp' | 'udp';
  /** The declared forward's name, if any. */
  forward?: string;
  /** The proxy's label as recognised ("OpenClash (fw4)", "Passwall2"). */
  label: string;
  /** What the ruleset showed of it ("common_ports (redir-host)", …). */
  features: readonly string[];
  /** The replies are taken by a nat REDIRECT. */
  redirected: boolean;
  /** The replies are masqueraded (not taken). */
  masqueraded: boolean;
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
  /**
   * Its label for the chains recognised as its own ("family table chain" each), where an earlier release
   * with other names gets another label; absent: always `label`.
   */
  labelOf?(chains: readonly string[]): string;
  /** Its own settings that exempt the replies (kind proxy_setting or masquerade_setting), best first. */
  nativeFixes(ctx: NativeFixContext): Fix[];
  /**
   * Its fixes for these replies of an IPv6 server are proven in the lab's IPv6 mode
   * (test/integration/native-fixes-ipv6.test.ts). Absent, or false: none is offered for an IPv6 server.
   */
  ipv6FixesProven?(ctx: NativeFixContext): boolean;
}

/**
 * The module's own fixes for the replies: for an IPv6 server only where they are proven for IPv6 (the rule
 * the proxy writes for an IPv6 host differs from the IPv4 one: other chains, other sets, other options).
 */
export function provenNativeFixes(m: ProxyModule, ctx: NativeFixContext): Fix[] {
  if (parseAddress(ctx.server)?.family === 6 && !m.ipv6FixesProven?.(ctx)) return [];
  return m.nativeFixes(ctx);
}
