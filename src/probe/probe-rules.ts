// The passive probe's own nft table, as text. Pure: the LAN and the declared
// UDP forwards in, an `nft -f` script out. The table only counts (no rule has
// a verdict): per family, the candidate replies where they enter this router
// (sets in4/in6) and where they leave towards the main router (out4/out6).

import { createHash } from 'node:crypto';
import { NON_PUBLIC_V4, NON_PUBLIC_V6, type Prefix } from '../net/ip-address';

export const PROBE_TABLE = 'replyguard';
export const PROBE_FAMILY = 'inet';

export interface ProbeRulesInput {
  /** LAN prefixes (either family). */
  lan: readonly Prefix[];
  /** Declared UDP forwards (canonical addresses). */
  udpForwards: ReadonlyArray<{ host: string; port: number }>;
  /** Seconds between polls; the element timeout is derived from it. */
  intervalS: number;
  /** Most elements per counting set. */
  setSize: number;
}

export interface ProbeRules {
  script: string;
  /** Short hash of the table body; every rule's comment carries it, so a changed or foreign table is noticed. */
  fingerprint: string;
  /** Rules each chain must hold; fewer means somebody flushed it. */
  chainRules: Record<string, number>;
  /** Names of the counting sets, per direction. */
  sets: { in: string[]; out: string[] };
  /** Seconds an element lives after its last packet. */
  timeoutS: number;
}

/** Seconds an element lives after its last packet: long past a poll, and past TCP's SYN-ACK retries (31 s). */
export function probeTimeoutS(intervalS: number): number {
  return Math.max(60, intervalS * 10);
}

interface FamilyNames {
  v: 4 | 6;
  ip: 'ip' | 'ip6';
  addrType: 'ipv4_addr' | 'ipv6_addr';
  nonPublic: string[];
}

const FAMILIES: FamilyNames[] = [
  { v: 4, ip: 'ip', addrType: 'ipv4_addr', nonPublic: NON_PUBLIC_V4 },
  { v: 6, ip: 'ip6', addrType: 'ipv6_addr', nonPublic: NON_PUBLIC_V6 },
];

export function probeRules(input: ProbeRulesInput): ProbeRules {
  const timeoutS = probeTimeoutS(input.intervalS);
  const size = Math.max(16, Math.floor(input.setSize));
  const sets: string[] = [];
  const pre: string[] = [];
  const post: string[] = [];
  const names = { in: [] as string[], out: [] as string[] };
  for (const fam of FAMILIES) {
    const lan = input.lan.filter((p) => p.family === fam.v).map((p) => p.text);
    if (lan.length === 0) continue;
    const udp = input.udpForwards.filter((f) => f.host.includes(':') === (fam.v === 6));
    const key = `${fam.addrType} . inet_proto . inet_service . ${fam.addrType} . inet_service`;
    const elem = `${fam.ip} saddr . meta l4proto . th sport . ${fam.ip} daddr . th dport`;
    const dynamic = `type ${key}; size ${size}; flags dynamic,timeout; timeout ${timeoutS}s; counter;`;
    // In before out: a dump reads the sets in this order, so a reply that
    // passes while the counters are read shows up as out (or in neither),
    // never as in without out — a reading never shows a loss that is not one.
    sets.push(`  set in${fam.v} { ${dynamic} }`);
    sets.push(`  set out${fam.v} { ${dynamic} }`);
    sets.push(`  set lan${fam.v} { type ${fam.addrType}; flags interval; elements = { ${lan.join(', ')} }; }`);
    sets.push(
      `  set nonpublic${fam.v} { type ${fam.addrType}; flags interval; elements = { ${fam.nonPublic.join(', ')} }; }`,
    );
    if (udp.length > 0) {
      const elements = udp.map((f) => `${f.host} . ${f.port}`).join(', ');
      sets.push(`  set udpfwd${fam.v} { type ${fam.addrType} . inet_service; elements = { ${elements} }; }`);
    }
    names.in.push(`in${fam.v}`);
    names.out.push(`out${fam.v}`);
    // Candidates: TCP from a LAN host to a public address that is not a plain SYN, in conntrack state new
    // or invalid (replies of connections this router never saw start); UDP from a declared forward.
    const toPublic = `${fam.ip} daddr != @nonpublic${fam.v} ${fam.ip} daddr != @lan${fam.v}`;
    const tcp = `${fam.ip} saddr @lan${fam.v} ${toPublic} meta l4proto tcp tcp flags & (syn|ack) != syn ct state { new, invalid }`;
    const udpMatch = `${fam.ip} saddr . udp sport @udpfwd${fam.v} ${toPublic}`;
    // Ethernet-type devices only (bridges, VLANs, Wi-Fi, veth): a reply marked into a TUN device (type
    // none) passes postrouting too, on its way to the proxy, and must not count as left.
    pre.push(`    meta iiftype ether ${tcp} update @in${fam.v} { ${elem} }`);
    post.push(`    meta oiftype ether ${tcp} update @out${fam.v} { ${elem} }`);
    if (udp.length > 0) {
      pre.push(`    meta iiftype ether ${udpMatch} update @in${fam.v} { ${elem} }`);
      post.push(`    meta oiftype ether ${udpMatch} update @out${fam.v} { ${elem} }`);
    }
  }
  const head = [
    ...sets,
    // mangle - 10 (-160): after conntrack (-200), so `ct state` is known; before every proxy's mangle
    // (-150; Passwall's -151) and nat (-100) chains, so nothing has marked or redirected the packet yet.
    '  chain pre {',
    '    type filter hook prerouting priority mangle - 10; policy accept;',
    '@PRE',
    '  }',
    // srcnat + 200 (300): after every NAT decision, so a masqueraded reply no longer carries the
    // server's address and does not count as left.
    '  chain post {',
    '    type filter hook postrouting priority srcnat + 200; policy accept;',
    '@POST',
    '  }',
  ].join('\n');
  const fingerprint = createHash('sha256')
    .update(`${head}\n${pre.join('\n')}\n${post.join('\n')}`)
    .digest('hex')
    .slice(0, 16);
  // Every rule carries the fingerprint in its comment (`nft -j` shows rule
  // comments, not table comments): a table left by another version or config,
  // or a chain somebody flushed, is told apart from ours.
  const tag = (rules: string[]) => rules.map((r) => `${r} comment "${probeComment(fingerprint)}"`).join('\n');
  const body = head.replace('@PRE', tag(pre)).replace('@POST', tag(post));
  // `table …` then `delete table …` then the table: one transaction that
  // replaces whatever is there (or nothing), so the table is never doubled.
  const script = [
    `table ${PROBE_FAMILY} ${PROBE_TABLE}`,
    `delete table ${PROBE_FAMILY} ${PROBE_TABLE}`,
    `table ${PROBE_FAMILY} ${PROBE_TABLE} {`,
    body,
    '}',
    '',
  ].join('\n');
  return { script, fingerprint, chainRules: { pre: pre.length, post: post.length }, sets: names, timeoutS };
}

export function probeComment(fingerprint: string): string {
  return `replyguard probe ${fingerprint}`;
}
