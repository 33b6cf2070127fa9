// Which transparent proxy wrote these rules: OpenClash (fw3/fw4), Passwall,
// Passwall2, homeproxy, nikki, ShellCrash, or an unknown one (any
// REDIRECT/TPROXY/mark-to-tun path). Recognised from the model by the
// chain and table names their generators use, then described by what the
// rules do: ports, marks, route tables, entry chains.

import { BEFORE_REPLY_RETURN_FEATURE } from '../proxies/openclash';
import type { ProxyName } from '../proxies/proxy-name';
import { proxyLabel, proxyModule, proxyOwning } from '../proxies/registry';
import type { Hop } from './evaluate';
import type { Expr, Op, Ruleset, Table } from './model';

export interface ProxyRoute {
  mark: string;
  table: string;
  kind: 'local' | 'tun' | 'other';
  device?: string;
}

export interface ProxyInfo {
  name: ProxyName;
  label: string;
  backend: 'nft' | 'iptables';
  /** redirect | tproxy | tun | redirect+tproxy | mix (TCP redirect, UDP TUN) | marks */
  mode: string;
  redirectPorts: number[];
  tproxyPorts: number[];
  marks: string[];
  routes: ProxyRoute[];
  /** Base chains that jump into the proxy's chains: "inet fw4 dstnat → openclash". */
  entryChains: string[];
  /** Table and chain names that belong to it ("inet fw4 openclash"). */
  chains: string[];
  features: string[];
}

function owner(t: Table, c: { name: string }): ProxyName | null {
  return proxyOwning(t.name, c.name)?.name ?? null;
}

function constOf(e: Expr): number | null {
  if (e.kind === 'const') return e.n;
  if (e.kind === 'binop' && (e.op === '|' || e.op === '^')) return constOf(e.right);
  return null;
}

const hex = (n: number) => `0x${n.toString(16)}`;

export function recognizeProxies(rs: Ruleset): ProxyInfo[] {
  type Acc = { info: ProxyInfo; keys: Set<string> };
  const found = new Map<string, Acc>();
  const get = (name: ProxyName, t: Table): Acc => {
    const backend = t.backend === 'nft' ? 'nft' : 'iptables';
    const id = name === 'unknown' ? `unknown ${t.family} ${t.name}` : `${name} ${backend}`;
    let a = found.get(id);
    if (!a) {
      a = {
        info: {
          name,
          label: proxyLabel(name),
          backend,
          mode: '',
          redirectPorts: [],
          tproxyPorts: [],
          marks: [],
          routes: [],
          entryChains: [],
          chains: [],
          features: [],
        },
        keys: new Set(),
      };
      found.set(id, a);
    }
    return a;
  };
  const tableKey = (t: Table) => `${t.family} ${t.name}`;
  // Pass 1: chains by name; pass 2: anything else that redirects, tproxies or marks.
  const claimed = new Map<string, Acc>();
  for (const t of rs.tables) {
    for (const c of t.chains) {
      const o = owner(t, c);
      if (!o) continue;
      const a = get(o, t);
      a.keys.add(`${tableKey(t)} ${c.name}`);
      claimed.set(`${tableKey(t)} ${c.name}`, a);
    }
  }
  for (const t of rs.tables) {
    for (const c of t.chains) {
      const key = `${tableKey(t)} ${c.name}`;
      if (claimed.has(key)) continue;
      const diverts = c.rules.some((r) =>
        r.ops.some(
          (op) =>
            op.kind === 'redirect' ||
            op.kind === 'tproxy' ||
            (op.kind === 'set-mark' && op.target === 'meta' && constOf(op.value) !== null && c.hook === 'prerouting'),
        ),
      );
      // DNS hijacks (redirect of port 53 only) are not a transparent proxy by themselves.
      const dnsOnly = c.rules
        .filter((r) => r.ops.some((op) => op.kind === 'redirect'))
        .every((r) => /dport 53\b|--dport 53\b/.test(r.text));
      if (
        !diverts ||
        (dnsOnly && !c.rules.some((r) => r.ops.some((op) => op.kind !== 'redirect' && op.kind === 'tproxy')))
      )
        continue;
      if (
        c.rules.every(
          (r) => !r.ops.some((op) => op.kind === 'tproxy' || op.kind === 'redirect' || op.kind === 'set-mark'),
        )
      )
        continue;
      const a = get('unknown', t);
      a.keys.add(key);
      claimed.set(key, a);
    }
  }
  // Chains a forwarded packet can reach: from prerouting base chains through jumps and gotos.
  const fromPrerouting = new Set<string>();
  for (const t of rs.tables) {
    const byName = new Map(t.chains.map((c) => [c.name, c]));
    const queue = t.chains.filter((c) => c.hook === 'prerouting');
    while (queue.length > 0) {
      const c = queue.pop()!;
      const k = `${tableKey(t)} ${c.name}`;
      if (fromPrerouting.has(k)) continue;
      fromPrerouting.add(k);
      for (const r of c.rules)
        for (const op of r.ops)
          for (const target of continuesIn(op)) {
            const next = byName.get(target);
            if (next) queue.push(next);
          }
    }
  }
  // Describe each.
  /** OpenClash instances with a `ct direction reply` return in a chain of theirs (0.46.069 and later). */
  const replyReturns = new Set<ProxyInfo>();
  for (const t of rs.tables) {
    for (const c of t.chains) {
      const key = `${tableKey(t)} ${c.name}`;
      const lanPath = fromPrerouting.has(key);
      for (const r of c.rules) {
        for (const op of r.ops) {
          if ((op.kind === 'jump' || op.kind === 'goto') && c.hook) {
            const target = claimed.get(`${tableKey(t)} ${op.chain}`);
            if (target && !claimed.has(key)) {
              const e = `${tableKey(t)} ${c.name} (${c.hook} ${c.priority ?? 0}) → ${op.chain}`;
              if (!target.info.entryChains.includes(e)) target.info.entryChains.push(e);
            }
          }
        }
        const a = claimed.get(key);
        if (!a) continue;
        if (c.hook && !a.info.entryChains.some((e) => e.startsWith(`${key} `))) {
          a.info.entryChains.push(`${key} (${c.hook} ${c.priority ?? 0})`);
        }
        for (const op of r.ops) {
          if (op.kind === 'redirect' && op.port !== undefined) {
            if (/dport 53\b|--dport 53\b|DNS/i.test(r.text)) {
              const f = `DNS redirect to :${op.port}`;
              if (!a.info.features.includes(f)) a.info.features.push(f);
            } else if (!lanPath) {
              const f = `router self-proxy: output redirect to :${op.port}`;
              if (!a.info.features.includes(f)) a.info.features.push(f);
            } else if (!a.info.redirectPorts.includes(op.port)) a.info.redirectPorts.push(op.port);
          }
          if (op.kind === 'tproxy' && op.port !== undefined && lanPath && !a.info.tproxyPorts.includes(op.port))
            a.info.tproxyPorts.push(op.port);
          if (op.kind === 'set-mark' && op.target === 'meta') {
            const n = constOf(op.value);
            if (n !== null && n !== 0 && !a.info.marks.includes(hex(n))) a.info.marks.push(hex(n));
          }
          if (
            op.kind === 'masquerade' &&
            a.info.name === 'openclash' &&
            !a.info.features.includes('bypass_gateway_compatible')
          )
            a.info.features.push('bypass_gateway_compatible');
        }
        if (a.info.name === 'openclash') {
          if (/ct direction reply|--ctdir REPLY/i.test(r.text)) replyReturns.add(a.info);
          if (/common_ports/.test(r.text) && !a.info.features.includes('common_ports (redir-host)'))
            a.info.features.push('common_ports (redir-host)');
          if (/china_ip_route/.test(r.text) && !a.info.features.includes('china_ip_route'))
            a.info.features.push('china_ip_route');
          if (
            /198\.18\.0\.0\/16|198\.18\.0\.1\/16/.test(r.text) &&
            !a.info.features.includes('fake-ip range 198.18.0.0/16')
          )
            a.info.features.push('fake-ip range 198.18.0.0/16');
        }
      }
      const a = claimed.get(key);
      if (a && !a.info.chains.includes(key)) a.info.chains.push(key);
    }
  }
  for (const { info } of found.values())
    if (info.name === 'openclash' && !replyReturns.has(info) && !info.features.includes(BEFORE_REPLY_RETURN_FEATURE))
      info.features.push(BEFORE_REPLY_RETURN_FEATURE);
  // Marks → ip rules → route tables.
  for (const { info } of found.values()) {
    for (const m of info.marks) {
      const mark = Number(m);
      for (const rule of rs.routing.rules) {
        if (rule.fwmark === undefined) continue;
        if ((mark & (rule.fwmask ?? 0xffffffff)) >>> 0 !== rule.fwmark) continue;
        const routes = rs.routing.routes.filter((r) => r.table === rule.table);
        const local = routes.find((r) => r.type === 'local');
        const dev = routes.find((r) => r.type === 'unicast' && r.dev && !r.gateway);
        const route: ProxyRoute = local
          ? { mark: m, table: rule.table, kind: 'local' }
          : dev
            ? { mark: m, table: rule.table, kind: 'tun', device: dev.dev! }
            : { mark: m, table: rule.table, kind: 'other' };
        if (!info.routes.some((r) => r.mark === route.mark && r.table === route.table)) info.routes.push(route);
      }
    }
    const tun = info.routes.some((r) => r.kind === 'tun');
    const redirect = info.redirectPorts.length > 0;
    const tproxy = info.tproxyPorts.length > 0;
    info.mode =
      tun && redirect
        ? 'mix (TCP redirect, UDP TUN)'
        : tun
          ? 'tun'
          : redirect && tproxy
            ? 'redirect + tproxy'
            : redirect
              ? 'redirect'
              : tproxy
                ? 'tproxy'
                : 'marks only';
    if (info.name === 'openclash') info.label = `OpenClash (${info.backend === 'nft' ? 'fw4' : 'fw3'})`;
    else if (info.name !== 'unknown') info.label = proxyModule(info.name)?.labelOf?.(info.chains) ?? info.label;
  }
  return [...found.values()].map((a) => a.info);
}

/** The proxy whose chain holds this hop (for "responsible rule → which proxy"). */
export function proxyOfHop(proxies: ProxyInfo[], hop: Hop | undefined): ProxyInfo | undefined {
  if (!hop) return undefined;
  const key = `${hop.table} ${hop.chain}`;
  const byChain = proxies.find((p) => p.chains.includes(key));
  if (byChain) return byChain;
  if (hop.backend === 'route') {
    const table = hop.table;
    return proxies.find((p) => p.routes.some((r) => r.table === table));
  }
  return undefined;
}

/**
 * The chains an op can continue in: a jump or goto, or each jump/goto of an anonymous verdict map
 * (nikki's `meta l4proto vmap { tcp : jump lan_tproxy, … }`; nft-json stores each verdict as "jump:chain").
 */
function continuesIn(op: Op): string[] {
  if (op.kind === 'jump' || op.kind === 'goto') return [op.chain];
  if (op.kind !== 'vmap' || op.map.kind !== 'set') return [];
  return op.map.elements.flatMap((e) => {
    const verdict = e.kind === 'concat' ? e.parts[1] : undefined;
    const m = verdict?.kind === 'str' ? /^(?:jump|goto):(.+)$/.exec(verdict.s) : null;
    return m ? [m[1]!] : [];
  });
}
