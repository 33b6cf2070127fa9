// OpenClash's Lan Traffic Access List (uci section lan_ac_traffic) as its firewall_lan_ac_traffic
// (vernesong/OpenClash luci-app-openclash/root/etc/init.d/openclash) turns an entry into one nft or iptables
// command per chain: the options joined into one string and expanded unquoted, so the shell splits it on blanks.
// Re-stated (not copied) in the two forms users run:
// - v0.47.071 (the upstream release as synced in gorillapower/OpenClash@7664c89d, lines 905-950 nft,
//   1000-1040 iptables, 956 / 1046 the insert into `openclash`, 972-977 / 1062-1067 into `openclash_post`):
//   `comment ${comment}`, unquoted;
// - v0.47.055 (vernesong/OpenClash@8af97e15, lines 925-958 and 1000-1030, 974-979 / 1046-1051 into
//   `openclash_post`): `comment "\"${comment}\""` and `--comment "${comment}"`, quoted.
// - 0.46.068 (vernesong/OpenClash@bf478f74, the last release before the `ct direction reply` returns; lines 818-950,
//   852 / 856 the inserts into `openclash` / `openclash_mangle` without TUN, 869 / 872 into `openclash_post`): the rule
//   string of 0.47.055, quoted comment included, with the entry's own target everywhere (no drop→return), and for
//   IPv6 the address wrapped twice, `ip6 saddr { { <host> } }` (844-845), which nft refuses. fw4 only here.
// Every release inserts every entry into openclash_post too, the masquerade chain of Bypass Gateway Compatible
// (bypass_gateway_compatible=1); without that chain the insert fails and OpenClash discards the error.

import assert from 'node:assert/strict';

/** OpenClash's default fake-ip ranges (init.d/openclash: fakeip_range / fakeip_range6 when unset). */
const FAKEIP4 = '198.18.0.1/16';
const FAKEIP6 = 'fdfe:dcba:9876::1/64';

export type Entry = Record<string, string>;

/** The options the printed `uci set openclash.@lan_ac_traffic[-1].X='V'` commands give the entry. */
export function entriesOf(text: string): Entry[] {
  const out: Entry[] = [];
  for (const part of text.split(/ && |\n/)) {
    if (/(^|: )uci add openclash lan_ac_traffic$/.test(part.trim())) out.push({});
    const m = /^uci set openclash\.@lan_ac_traffic\[-1\]\.(\w+)='([^']*)'$/.exec(part.trim());
    if (m) out[out.length - 1]![m[1]!] = m[2]!;
  }
  return out;
}

/** An unquoted `${var}` in sh: split on blanks; a word with a glob character would be expanded. */
function unquoted(s: string): string[] {
  const words = s.split(/[ \t\n]+/).filter((w) => w !== '');
  for (const w of words) assert.doesNotMatch(w, /[*?[]/, `the shell would glob ${w}`);
  return words;
}

const opt = (e: Entry, k: string, dflt: string) => e[k] ?? dflt;

type Release = '0.47.071' | '0.47.055' | '0.46.068';

/**
 * Which of the entry's rules: the one in the proxy's chain (TCP: nat `openclash`, UDP: `openclash_mangle`
 * on fw4, mangle `openclash` on fw3), or the one in `openclash_post` (fw3: nat), for either protocol; or
 * (nft only) the one in the mangle chain for TCP too, with the entry's own target, as TUN writes it for IPv4
 * (v0.47.071 962-968) and every IPv6 mode for IPv6 (985: `openclash_mangle_v6` beside `openclash_v6`, 983).
 */
export type LanAcChain = 'proxy' | 'post' | 'mangle';

/** The nft argv for the rule in chain `openclash` (TCP) or `openclash_mangle` (UDP), or in `openclash_post`. */
export function nftArgv(e: Entry, release: Release, where: LanAcChain = 'proxy'): string[] {
  const v6 = opt(e, 'family', 'both') === 'ipv6';
  const proto = opt(e, 'proto', 'both');
  const srcIp = opt(e, 'src_ip', '');
  const src = srcIp
    ? v6
      ? release === '0.46.068'
        ? `ip6 saddr { { ${srcIp} } }`
        : `ip6 saddr ${srcIp}`
      : `ip saddr { ${srcIp} }`
    : '';
  const sport = `sport ${opt(e, 'src_port', '0-65535')}`;
  const target = opt(e, 'target', 'return');
  // target_ (drop becomes return) in the nat chains, target itself in the mangle ones.
  const tgt =
    release !== '0.46.068' && ((proto === 'tcp' && where !== 'mangle') || where === 'post') && target === 'drop'
      ? 'return'
      : target;
  const comment = opt(e, 'comment', 'lan_ac_traffic');
  const chain =
    where === 'post'
      ? `openclash_post${v6 ? '_v6' : ''}`
      : `openclash${proto === 'udp' || where === 'mangle' ? '_mangle' : ''}${v6 ? '_v6' : ''}`;
  const head = ['nft', 'insert', 'rule', 'inet', 'fw4', chain, 'position', '0'];
  const daddr = v6 ? `ip6 daddr != { ${FAKEIP6} }` : `ip daddr != { ${FAKEIP4} }`;
  if (release === '0.47.071') {
    // openclash_post takes output_rule_target_v4_: no nfproto match, an empty user field.
    if (where === 'post')
      return [...head, proto, ...unquoted(`${sport}    ${daddr} ${src} counter ${tgt} comment ${comment}`)];
    const nfproto = `meta nfproto {${v6 ? 'ipv6' : 'ipv4'}}`;
    return [...head, proto, ...unquoted(`${sport}   ${nfproto} ${daddr} ${src} counter ${tgt} comment ${comment}`)];
  }
  return [...head, ...unquoted(`${daddr} ${src} ${proto} ${sport}  counter ${tgt} comment`), `"${comment}"`];
}

/**
 * The iptables argv for the rule in nat `openclash` (TCP) or mangle `openclash` (UDP), or in nat `openclash_post`.
 * `tun` (en_mode_tun 1, v0.47.071 1052-1059): both protocols into mangle `openclash`, with the entry's own target.
 */
export function iptArgv(
  e: Entry,
  release: Exclude<Release, '0.46.068'>,
  where: Exclude<LanAcChain, 'mangle'> = 'proxy',
  tun = false,
): string[] {
  const v6 = opt(e, 'family', 'both') === 'ipv6';
  const proto = opt(e, 'proto', 'both');
  const srcIp = opt(e, 'src_ip', '');
  const src = srcIp ? `-s ${srcIp}` : '';
  const sport = `--sport ${opt(e, 'src_port', '0-65535').replace(/-/g, ':')}`;
  const target = {
    accept: 'ACCEPT',
    return: 'RETURN',
    drop: (proto === 'tcp' && !tun) || where === 'post' ? 'RETURN' : 'DROP',
  }[opt(e, 'target', 'return')];
  const comment = opt(e, 'comment', 'lan_ac_traffic');
  const head = [
    v6 ? 'ip6tables' : 'iptables',
    '-t',
    (proto === 'udp' || tun) && where === 'proxy' ? 'mangle' : 'nat',
    '-I',
    where === 'post' ? 'openclash_post' : 'openclash',
    '-p',
    proto,
  ];
  const fake = v6 ? FAKEIP6 : FAKEIP4;
  if (release === '0.47.071')
    return [...head, ...unquoted(`! -d ${fake} ${src} ${sport}   -j ${target} -m comment --comment ${comment}`)];
  return [...head, ...unquoted(`! -d ${fake} ${src} ${sport}  -j ${target} -m comment --comment`), comment];
}
