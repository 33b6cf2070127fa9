// The one ruleset model: what nft -j, iptables-save, ipset save and ip -j
// rule/route/addr load into. Both firewall backends become the same tables,
// chains, rules (typed match terms + statements + one verdict) and sets, so
// that one evaluator walks them. Plain data: JSON-serialisable, no methods.

export type Backend = 'nft' | 'iptables' | 'ip6tables' | 'ipset';

/** A value a rule compares with, already normalised (symbols → numbers where the kernel compares numbers). */
export type Value =
  | { kind: 'num'; n: number }
  | { kind: 'str'; s: string } // interface names ("eth*" = prefix), MAC addresses (lower case)
  | { kind: 'prefix'; family: 4 | 6; addr: string; bits: number }
  | { kind: 'range'; lo: Value; hi: Value }
  | { kind: 'concat'; parts: Value[] }
  | { kind: 'set'; elements: Value[] } // anonymous set
  | { kind: 'setref'; name: string }; // named set (nft: in the rule's table; iptables: an ipset)

/** What a match reads from the packet. */
export type Key =
  | { kind: 'meta'; key: string } // l4proto nfproto iifname oifname iif mark skgid skuid …
  | { kind: 'payload'; proto: string; field: string } // ip saddr, tcp dport, th dport, ether saddr …
  | { kind: 'ct'; key: string; dir?: string } // state direction status mark …
  | { kind: 'fib'; result: string; flags: string[] } // fib daddr type
  | { kind: 'concat'; parts: Key[] }
  | { kind: 'binop'; op: '&' | '|' | '^' | '>>' | '<<'; left: Key; right: Value }
  /** iptables `-m set --match-set NAME src,dst`: the dimensions are resolved with the ipset's type. */
  | { kind: 'ipset'; dirs: ('src' | 'dst')[] }
  /** nft `socket transparent`/`socket wildcard`, iptables -m socket: a local socket for the packet's flow. */
  | { kind: 'socket'; key: string };

export type CmpOp = '==' | '!=' | '<' | '>' | '<=' | '>=' | 'in';

export type Match =
  | { kind: 'cmp'; key: Key; op: CmpOp; value: Value }
  /** A match the loader could not model (socket, owner on prerouting, an unknown extension): always "maybe". */
  | { kind: 'unknown'; text: string; why: string };

/** A value a statement writes, possibly computed from packet state (`meta mark set ct mark & 0xff | 0x80`). */
export type Expr =
  | { kind: 'const'; n: number }
  | { kind: 'key'; key: Key }
  | { kind: 'binop'; op: '&' | '|' | '^'; left: Expr; right: Expr };

export type Statement =
  | { kind: 'set-mark'; target: 'meta' | 'ct'; value: Expr }
  | { kind: 'counter'; packets?: number; bytes?: number }
  | { kind: 'log'; prefix?: string }
  | { kind: 'unknown-statement'; text: string; why: string };

export type Verdict =
  | { kind: 'accept' }
  | { kind: 'drop' }
  | { kind: 'reject' }
  | { kind: 'return' }
  | { kind: 'continue' }
  | { kind: 'queue' }
  | { kind: 'jump'; chain: string }
  | { kind: 'goto'; chain: string }
  | { kind: 'redirect'; port?: number }
  | { kind: 'dnat'; addr?: string; port?: number }
  | { kind: 'snat'; addr?: string; port?: number }
  | { kind: 'masquerade' }
  /** TPROXY: assigns the packet to a local socket; terminal (accept) in iptables, followed by accept in nft. */
  | { kind: 'tproxy'; addr?: string; port?: number; terminal: boolean }
  /** A verdict map: the verdict depends on a lookup. */
  | { kind: 'vmap'; key: Key; map: Value }
  | { kind: 'unknown'; text: string; why: string };

export interface Rule {
  /** 1-based position in its chain. */
  position: number;
  /** nft handle; undefined for iptables. */
  handle?: number;
  /** The rule as the tool would print it (nft: reconstructed; iptables: the -A line). */
  text: string;
  comment?: string;
  matches: Match[];
  /** Statements and verdicts in rule order (`mark set 0x162 tproxy ip to :7895 counter accept`). */
  ops: Op[];
}

export type Op = Statement | Verdict;

export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress';

export interface Chain {
  name: string;
  /** Base chains only. */
  hook?: Hook;
  type?: 'filter' | 'nat' | 'route';
  priority?: number;
  policy?: 'accept' | 'drop';
  rules: Rule[];
}

export interface NamedSet {
  name: string;
  /** Key types as nft names them (ipv4_addr, inet_service, ether_addr, ifname, inet_proto …), one per concat part. */
  keyType: string[];
  flags: string[];
  elements: Value[];
  /** Maps: the data of each element, same order; verdict maps hold Verdicts. */
  data?: (Value | Verdict)[];
  isMap?: boolean;
  /** ipset: which of its dimensions are addresses/ports, e.g. hash:ip,port. */
  ipsetType?: string;
}

export interface Table {
  backend: Backend;
  /** nft family: ip ip6 inet arp bridge netdev. iptables: ip (iptables) / ip6 (ip6tables). */
  family: string;
  name: string;
  /** iptables: legacy or nf_tables variant. */
  variant?: 'legacy' | 'nft';
  chains: Chain[];
  sets: NamedSet[];
}

export interface IpRule {
  priority: number;
  table: string;
  family: 4 | 6;
  not?: boolean;
  src?: string; // prefix or 'all'
  dst?: string;
  iif?: string;
  fwmark?: number;
  fwmask?: number;
  action?: string; // unreachable, prohibit, blackhole, goto … (table is '' then)
}

export interface Route {
  table: string;
  family: 4 | 6;
  type: string; // unicast local broadcast blackhole unreachable prohibit throw …
  dst: string; // prefix, or 'default'
  dev?: string;
  gateway?: string;
  metric?: number;
}

export interface InterfaceAddr {
  ifname: string;
  family: 4 | 6;
  address: string;
  prefixlen: number;
}

export interface Routing {
  rules: IpRule[];
  routes: Route[];
  addresses: InterfaceAddr[];
  /** Interface names seen in ip -j addr (up or not); tun-like names (utun, nikki, singtun0 …) mark TUN proxies. */
  interfaces: string[];
}

export interface LoadIssue {
  severity: 'error' | 'warning';
  source: string; // e.g. "nft -j", "iptables-save", "ipset save"
  message: string;
}

export interface Ruleset {
  tables: Table[];
  /** ipset sets, referenced by iptables -m set. */
  ipsets: NamedSet[];
  routing: Routing;
  /** net.netfilter.nf_conntrack_tcp_loose; undefined = unknown (the kernel default 1 is assumed, and said so). */
  tcpLoose?: number;
  issues: LoadIssue[];
  /** Which dumps were present. */
  sources: string[];
}

export function emptyRouting(): Routing {
  return { rules: [], routes: [], addresses: [], interfaces: [] };
}

export function emptyRuleset(): Ruleset {
  return { tables: [], ipsets: [], routing: emptyRouting(), issues: [], sources: [] };
}
