// OpenClash (vernesong/OpenClash): how its rules are recognised, and the
// settings replyguard tells its users to change, in the form
// luci-app-openclash/root/etc/init.d/openclash reads them.

import { commitAndRestart, type Fix, type UciChange, uciLine } from '../detector/fix';
import { COMMON_PORTS_NOTE, type NativeFixContext, type ProxyModule } from './proxy-module';

/**
 * init.d/openclash names every chain it makes `openclash…` (fw4: in table inet fw4; fw3: iptables nat and
 * mangle); redir port 7892, DNS 7874 (luci-app-openclash/root/etc/config/openclash); TUN device utun, and
 * clash0, the device older releases made for en_mode_tun 2 (vernesong/OpenClash@ab25fe10).
 */
export const OPENCLASH: ProxyModule = {
  name: 'openclash',
  label: 'OpenClash',
  tables: [],
  chains: /^openclash/i,
  ports: [
    {
      port: 7892,
      natChains: [
        { proxy: 'OpenClash', firewall: 'fw4', table: 'inet fw4', chain: 'openclash' },
        { proxy: 'OpenClash', firewall: 'fw3', table: 'nat', chain: 'openclash' },
      ],
    },
    // Its DNS hijack redirects there from fw4's own dstnat (or PREROUTING), not from a chain of its own.
    { port: 7874, what: 'DNS', natChains: [] },
  ],
  tunDevices: ['utun', 'clash\\d*'],
  nativeFixes: openclashFixes,
  // Proven for IPv6 on fw4 in its IPv6 Redirect, TProxy and TUN modes (openclash_v6, openclash_mangle_v6) as
  // v0.47.071 writes them; not with Bypass Gateway Compatible (openclash_post_v6), nor on fw3 (ip6tables), nor
  // for a release before 0.46.069 (see BEFORE_REPLY_RETURN_FEATURE), which the lab has not.
  ipv6FixesProven: (ctx) =>
    ctx.label === 'OpenClash (fw4)' &&
    !ctx.features.includes(BYPASS_GATEWAY_FEATURE) &&
    !ctx.features.includes(BEFORE_REPLY_RETURN_FEATURE),
};

/**
 * What recognizeProxies notes when no OpenClash chain returns `ct direction reply` (nft) / `--ctdir REPLY`
 * (iptables): a release before 0.46.069. init.d/openclash writes that return into every chain since
 * vernesong/OpenClash@598f3e78 (2025-01-28, first released in 0.46.069, 990b711d). The releases before differ in
 * what an IPv6 access-list entry becomes: 0.46.068 (vernesong/OpenClash@bf478f74,
 * luci-app-openclash/root/etc/init.d/openclash 844-845, 875-886) wraps an address that is already `{ <host> }` in
 * braces again for `ip6 saddr`, a rule nft refuses (nftables 1.0.6 aborts on it), so no IPv6 fix is offered for them.
 */
export const BEFORE_REPLY_RETURN_FEATURE = 'no ct direction reply return (OpenClash before 0.46.069)';

/**
 * The first release with the Lan Traffic Access List (uci section `lan_ac_traffic`): vernesong/OpenClash@acb6c27d
 * ("chore: refine traffic ac", 2024-12-15) added it to init.d/openclash and luasrc/model/cbi/openclash/settings.lua,
 * released as 0.46.060 (5f5014e6); 0.46.059 (54237b00) has no such section.
 */
export const LAN_AC_TRAFFIC_SINCE = '0.46.060';

/** One Lan Traffic Access List entry (section type `lan_ac_traffic`) that exempts a server port's replies. */
export interface LanAcTrafficEntry {
  host: string;
  port: number;
  proto: 'tcp' | 'udp';
  /** The forward's name, if declared: it names the entry. */
  name?: string;
}

/** What nft takes as a string without quotes, which is also one shell word that no glob touches. */
const BARE_WORD = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * The entry's comment. firewall_lan_ac_traffic (init.d/openclash) expands it unquoted into
 * `nft insert rule … comment ${comment}` and `iptables … -m comment --comment ${comment}` (earlier
 * releases quoted it): a comment with a space, a colon or a quote makes nft and iptables reject the
 * rule, and OpenClash discards the error. So: one bare word.
 */
export function lanAcTrafficComment(e: LanAcTrafficEntry): string {
  const what = e.name ?? `${e.host}_${e.port}`;
  const word = `replyguard_${what}`.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64);
  return BARE_WORD.test(word) ? word : 'replyguard';
}

/** The uci changes that add the entry (target return: the replies skip OpenClash's chains). */
export function lanAcTrafficChanges(e: LanAcTrafficEntry): UciChange[] {
  const set = (option: string, value: string): UciChange => ({
    op: 'set',
    config: 'openclash',
    section: '@lan_ac_traffic[-1]',
    option,
    value,
  });
  return [
    { op: 'add', config: 'openclash', section: 'lan_ac_traffic' },
    set('enabled', '1'),
    set('src_ip', e.host),
    set('src_port', String(e.port)),
    set('proto', e.proto),
    set('family', e.host.includes(':') ? 'ipv6' : 'ipv4'),
    set('target', 'return'),
    set('comment', lanAcTrafficComment(e)),
  ];
}

/** The uci commands that add the entry. */
export function lanAcTrafficCommands(e: LanAcTrafficEntry): string[] {
  return lanAcTrafficChanges(e).map(uciLine);
}

/**
 * The LAN blacklist takes IPv4 and IPv6 hosts in the one list `lan_ac_black_ips` (init.d/openclash
 * adds each entry to both the lan_ac_black_ips and lan_ac_black_ipv6s sets; there is no option of the
 * second name).
 */
function lanBlacklistChange(host: string): UciChange {
  return { op: 'add_list', config: 'openclash', section: 'config', option: 'lan_ac_black_ips', value: host };
}

const RESTART = commitAndRestart('openclash');

/** A setting of OpenClash's: the uci changes, then commit and restart, as one line to paste and as data. */
function openclashFix(kind: Fix['kind'], lead: string, uci: UciChange[], applies?: Fix['applies']): Fix {
  const command = [...uci.map(uciLine), ...RESTART];
  return {
    kind,
    proxy: 'openclash',
    text: `${lead}${command.join(' && ')}`,
    command,
    uci,
    ...(applies ? { applies } : {}),
    basis: 'ruleset',
  };
}

/**
 * Bypass Gateway Compatible off (bypass_gateway_compatible=1 adds the masquerade chain openclash_post,
 * jumped from srcnat; init.d/openclash set_firewall).
 */
export const BYPASS_GATEWAY_OFF: UciChange = {
  op: 'set',
  config: 'openclash',
  section: 'config',
  option: 'bypass_gateway_compatible',
  value: '0',
};

/** What recognizeProxies notes when an OpenClash chain masquerades (openclash_post). */
const BYPASS_GATEWAY_FEATURE = 'bypass_gateway_compatible';

/**
 * Bypass Gateway Compatible off (when its masquerade is what breaks the replies), the access-list entry,
 * common ports, the blacklist. firewall_lan_ac_traffic inserts each access-list entry into openclash_post
 * too; common ports and the blacklist return only from the proxy's chains, so while that masquerade is
 * there they repair nothing alone and carry the switch-off with them.
 */
function openclashFixes(ctx: NativeFixContext): Fix[] {
  const fixes: Fix[] = [];
  const family = ctx.server.includes(':') ? 'ipv6' : 'ipv4';
  const masquerades = ctx.features.includes(BYPASS_GATEWAY_FEATURE);
  const offToo = masquerades ? [BYPASS_GATEWAY_OFF] : [];
  const offNote = masquerades
    ? ', together with "Bypass Gateway Compatible" off (its masquerade exempts only access-list entries)'
    : '';
  if (ctx.masqueraded && masquerades) {
    fixes.push(
      openclashFix(
        'masquerade_setting',
        'OpenClash: turn off "Bypass Gateway Compatible" (旁路网关兼容), which masquerades the replies: ',
        [BYPASS_GATEWAY_OFF],
      ),
    );
  }
  fixes.push(
    openclashFix(
      'proxy_setting',
      `OpenClash: add a Lan Traffic Access List entry (插件设置 → 访问控制 → 来源流量访问控制, OpenClash ≥ ${LAN_AC_TRAFFIC_SINCE}) for the server's replies` +
        `${masquerades ? ' (OpenClash also exempts it from the Bypass Gateway Compatible masquerade)' : ''}: `,
      lanAcTrafficChanges({
        host: ctx.server,
        port: ctx.port,
        proto: ctx.proto,
        ...(ctx.forward ? { name: ctx.forward } : {}),
      }),
      { family, proxy_versions: `≥ ${LAN_AC_TRAFFIC_SINCE}` },
    ),
  );
  if (ctx.proto === 'tcp' && ctx.redirected && !ctx.features.some((f) => /common_ports/.test(f)))
    fixes.push(
      openclashFix(
        'proxy_setting',
        `Or, in OpenClash redir-host mode, proxy only common ports (${COMMON_PORTS_NOTE})${offNote}: `,
        [{ op: 'set', config: 'openclash', section: 'config', option: 'common_ports', value: '1' }, ...offToo],
      ),
    );
  fixes.push(
    openclashFix(
      'proxy_setting',
      `Or bypass the server entirely (all its traffic, not only the replies) with the LAN blacklist${offNote}: `,
      [
        { op: 'set', config: 'openclash', section: 'config', option: 'lan_ac_mode', value: '0' },
        lanBlacklistChange(ctx.server),
        ...offToo,
      ],
    ),
  );
  return fixes;
}
