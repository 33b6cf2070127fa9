// The probe for fw3-only routers (iptables + ipset, no nft), as text. Pure.
//
// ipset has no set type with two ports, so the key is `hash:ip,port,ip`:
// server ip, proto:server port, peer ip — flows are told apart per peer
// address, not per peer port (the verdict, per server ip:port, is the same).
// Counting (measured): a `-m set --match-set` that finds the element counts the
// packet, and a `-j SET --add-set` that creates an element counts the packet
// that created it; a re-add with `--exist` would reset the counters. So a
// packet whose element exists is matched (and counted) and returns, and only
// the first packet of a flow adds it: each packet counts once. Elements expire `timeout`
// seconds after they were added (the set match cannot refresh it); the judge
// starts such a flow over when its counters restart.
//
// Where: mangle PREROUTING, jumped to from its first rule (a proxy that
// inserts its own jump above it makes the sensor put it back first), after
// conntrack, before the proxies' mangle rules; and mangle POSTROUTING, on the
// LAN interfaces — which in iptables runs before nat POSTROUTING, so a
// masqueraded reply still counts as left there (conntrack catches masquerade).
// IPv4 only.

import { createHash } from 'node:crypto';
import { NON_PUBLIC_V4 } from '../net/ip-address';
import { type ProbeRulesInput, probeComment, probeTimeoutS } from './probe-rules';

export const IPT_PRE = 'replyguard_pre';
export const IPT_POST = 'replyguard_post';
export const IPT_COUNT_IN = 'replyguard_cin';
export const IPT_COUNT_OUT = 'replyguard_cout';
export const IPSET_IN = 'replyguard_in4';
export const IPSET_OUT = 'replyguard_out4';
export const IPSET_LAN = 'replyguard_lan4';
export const IPSET_NONPUBLIC = 'replyguard_np4';
export const IPSET_UDP = 'replyguard_udp4';
export const IPSETS = [IPSET_IN, IPSET_OUT, IPSET_LAN, IPSET_NONPUBLIC, IPSET_UDP];
export const IPT_CHAINS = [IPT_PRE, IPT_POST, IPT_COUNT_IN, IPT_COUNT_OUT];

export interface IptablesProbeInput extends ProbeRulesInput {
  /** The LAN interfaces (replies leave towards the main router on one of them). */
  lanInterfaces: readonly string[];
}

export interface IptablesProbeRules {
  /** For `ipset restore`: (re)creates the sets; run after the old ones were destroyed. */
  ipsetScript: string;
  /** For `iptables-restore --noflush`: the chains, their rules and the jumps to them, in one transaction. */
  iptablesScript: string;
  fingerprint: string;
  comment: string;
  /** Rules each chain must hold. */
  chainRules: Record<string, number>;
  sets: { in: string[]; out: string[] };
}

export function iptablesProbeRules(input: IptablesProbeInput): IptablesProbeRules {
  const timeoutS = probeTimeoutS(input.intervalS);
  const size = Math.max(16, Math.floor(input.setSize));
  const lan = input.lan.filter((p) => p.family === 4).map((p) => p.text);
  const udp = input.udpForwards.filter((f) => !f.host.includes(':'));
  const counting = `hash:ip,port,ip family inet counters timeout ${timeoutS} maxelem ${size}`;
  const ipset = [
    `create ${IPSET_IN} ${counting}`,
    `create ${IPSET_OUT} ${counting}`,
    `create ${IPSET_LAN} hash:net family inet`,
    ...lan.map((p) => `add ${IPSET_LAN} ${p}`),
    `create ${IPSET_NONPUBLIC} hash:net family inet`,
    ...NON_PUBLIC_V4.map((p) => `add ${IPSET_NONPUBLIC} ${p}`),
    `create ${IPSET_UDP} hash:ip,port family inet`,
    ...udp.map((f) => `add ${IPSET_UDP} ${f.host},udp:${f.port}`),
  ];
  const body = (chain: string, count: string, set: string, dir: '-i' | '-o'): string[] => [
    `-A ${chain} -m set ! --match-set ${IPSET_LAN} src -j RETURN`,
    `-A ${chain} -m set --match-set ${IPSET_NONPUBLIC} dst -j RETURN`,
    `-A ${chain} -m set --match-set ${IPSET_LAN} dst -j RETURN`,
    ...input.lanInterfaces.flatMap((itf) => [
      `-A ${chain} ${dir} ${itf} -p tcp ! --tcp-flags SYN,ACK SYN -m conntrack --ctstate NEW,INVALID -j ${count}`,
      ...(udp.length > 0
        ? [`-A ${chain} ${dir} ${itf} -p udp -m set --match-set ${IPSET_UDP} src,src -j ${count}`]
        : []),
    ]),
    `-A ${count} -m set --match-set ${set} src,src,dst -j RETURN`,
    `-A ${count} -j SET --add-set ${set} src,src,dst`,
  ];
  const rules = [...body(IPT_PRE, IPT_COUNT_IN, IPSET_IN, '-i'), ...body(IPT_POST, IPT_COUNT_OUT, IPSET_OUT, '-o')];
  const fingerprint = createHash('sha256')
    .update(`${ipset.join('\n')}\n${rules.join('\n')}`)
    .digest('hex')
    .slice(0, 16);
  const comment = probeComment(fingerprint);
  const tagged = rules.map((r) => r.replace(/^(-A \S+) /, `$1 -m comment --comment "${comment}" `));
  const chainRules: Record<string, number> = {};
  for (const r of rules) {
    const chain = r.split(' ')[1]!;
    chainRules[chain] = (chainRules[chain] ?? 0) + 1;
  }
  // The jumps in the same transaction as the chains: nothing reading the ruleset finds one without the other.
  const jumps = [
    `-I PREROUTING 1 -m comment --comment "${comment}" -j ${IPT_PRE}`,
    `-A POSTROUTING -m comment --comment "${comment}" -j ${IPT_POST}`,
  ];
  const iptablesScript = ['*mangle', ...IPT_CHAINS.map((c) => `:${c} - [0:0]`), ...tagged, ...jumps, 'COMMIT', ''].join(
    '\n',
  );
  return {
    ipsetScript: `${ipset.join('\n')}\n`,
    iptablesScript,
    fingerprint,
    comment,
    chainRules,
    sets: { in: [IPSET_IN], out: [IPSET_OUT] },
  };
}

export interface IptablesCheck {
  ok: boolean;
  why?: string;
  /** 1-based positions of our jumps per built-in chain. */
  jumps: Record<string, number[]>;
  /** Our jumps as `iptables -D` arguments (by rule spec, never by number: others may edit the chain meanwhile). */
  deletes: string[][];
}

/** Checks `iptables-save -t mangle` against what was installed. Pure. */
export function checkIptablesProbe(save: string, expected: Pick<IptablesProbeRules, 'comment' | 'chainRules'>) {
  const jumps: Record<string, number[]> = { PREROUTING: [], POSTROUTING: [] };
  const deletes: string[][] = [];
  const position: Record<string, number> = Object.create(null); // chain names are text from iptables-save
  const rules: Record<string, { count: number; foreign: boolean }> = {};
  let declared = 0;
  for (const line of save.split('\n')) {
    const chainDecl = /^:(\S+) /.exec(line);
    if (chainDecl && IPT_CHAINS.includes(chainDecl[1]!)) declared++;
    const m = /^-A (\S+) (.*)$/.exec(line);
    if (!m) continue;
    const [, chain, rest] = m as unknown as [string, string, string];
    position[chain] = (position[chain] ?? 0) + 1;
    const jump = / -j (replyguard_(?:pre|post))$/.exec(` ${rest}`);
    // hasOwn, not `in`: a chain named "toString" or "constructor" found Object.prototype's member (TypeError).
    if (Object.hasOwn(jumps, chain) && jump) {
      jumps[chain]!.push(position[chain]!);
      const comment = /^-m comment --comment "([^"]*)" -j /.exec(rest)?.[1];
      const spec = comment !== undefined ? ['-m', 'comment', '--comment', comment] : [];
      deletes.push(['-D', chain, ...spec, '-j', jump[1]!]);
    }
    if (IPT_CHAINS.includes(chain)) {
      const r = rules[chain] ?? { count: 0, foreign: false };
      rules[chain] = r;
      r.count++;
      if (!rest.includes(expected.comment)) r.foreign = true;
    }
  }
  const fail = (why: string): IptablesCheck => ({ ok: false, why, jumps, deletes });
  if (declared < IPT_CHAINS.length) return fail('its chains are gone');
  for (const [chain, count] of Object.entries(expected.chainRules)) {
    const got = rules[chain];
    if (!got || got.count !== count || got.foreign) return fail(`chain ${chain} was changed`);
  }
  if (jumps.PREROUTING!.length !== 1 || jumps.POSTROUTING!.length !== 1)
    return fail('its jumps are missing or doubled');
  if (jumps.PREROUTING![0] !== 1) return fail('another rule was inserted above its PREROUTING jump');
  return { ok: true, jumps, deletes };
}
