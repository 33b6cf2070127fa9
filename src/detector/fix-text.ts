// What to tell a person to change, for one kind of broken reply. Plain text
// lines, the first being the one we recommend.

import { formatEndpoint } from '../net/ip-address';
import type { ReplyVerdict } from './classify-flow';
import { type ProxyHint, proxyHintForPort } from './proxy-hints';

/**
 * How each kind of fix line begins: the generators below start their lines so, and fixKind() reads
 * the kind back (a finding keeps plain strings in status.json; attribution drops the generic lines the
 * ruleset made exact).
 */
export const FIX_START = {
  natGuard: 'Exempt packets picked up mid-stream (TCP without SYN) from the proxy',
  mangleGuard: "Exempt replies at the top of the proxy's mangle",
  udpGuard: "Exempt the forward's replies at the top of the proxy's mangle",
  proxySetting: 'Or exempt the server in the proxy itself: OpenClash',
} as const;

export type FixKind = keyof typeof FIX_START;

export function fixKind(line: string): FixKind | undefined {
  for (const [kind, start] of Object.entries(FIX_START)) if (line.startsWith(start)) return kind as FixKind;
  return undefined;
}

export function fixLines(v: ReplyVerdict): string[] {
  const server = formatEndpoint(v.serverIp, v.serverPort);
  const v6 = v.serverIp.includes(':');
  if (v.fate === 'passed') {
    return [
      `Nothing to change now. ${server} answers through this router while its clients reach it directly ` +
        '(asymmetric routing); a proxy rule that picks up mid-stream packets would break it. ' +
        'To remove the risk, give the server the main router as gateway, or exempt its replies from the proxy.',
    ];
  }
  const hint = v.divertedTo ? proxyHintForPort(v.divertedTo.port) : undefined;
  const lines: string[] = [];
  if (v.fate === 'swallowed') lines.push(mangleGuardLine(v));
  if (v.fate === 'redirected' && v.proto === 'tcp') lines.push(natGuardLine(v.divertedTo?.port, hint, v6));
  if (v.fate === 'masqueraded') {
    lines.push(
      `A masquerade rule rewrites the replies of ${server}: in OpenClash turn off "Bypass Gateway Compatible" ` +
        `(旁路网关兼容, uci set openclash.config.bypass_gateway_compatible=0), or exempt source ${server} from it.`,
    );
  }
  // OpenClash's own setting, unless the port the replies went to is another proxy's only.
  if (!hint || hint.natChains.length === 0 || hint.natChains.some((c) => c.proxy === 'OpenClash'))
    lines.push(
      `${FIX_START.proxySetting} → Access Control → Lan Traffic Access List ` +
        `(来源流量访问控制): src_ip ${v.serverIp}, src_port ${v.serverPort}, proto ${v.proto}, target return.`,
    );
  if (v.proto === 'tcp' && v.fate !== 'swallowed') {
    lines.push(
      'Or stop conntrack from picking up mid-stream TCP: sysctl -w net.netfilter.nf_conntrack_tcp_loose=0 ' +
        '(fixes REDIRECT and masquerade modes; long-lived connections do not survive a conntrack flush then).',
    );
  }
  lines.push(
    'Or let replyguard add exactly these exemptions for the proxy it finds (and take them out again later): ' +
      '`replyguard guard plan` shows them, `replyguard guard apply` adds them, `replyguard guard remove` removes them; ' +
      'with guard = auto (LuCI → Settings → Guard, or the Home Assistant switch) the daemon keeps them in place across proxy restarts.',
  );
  lines.push(
    `Or remove the asymmetry: give ${v.serverIp} the main router as its default gateway, so its replies never pass this router.`,
  );
  return lines;
}

const NAT_GUARD_NFT = 'tcp flags & (fin|syn|rst|ack) != syn counter return';

/**
 * The nat guard, without a ruleset: in every chain that may hold the redirect to this port (a port
 * can be the default of two proxies, and fw4 and fw3 name the chain differently), else in words.
 */
function natGuardLine(port: number | undefined, hint: ProxyHint | undefined, v6: boolean): string {
  const ipt = v6 ? 'ip6tables' : 'iptables';
  const head = `${FIX_START.natGuard}'s nat chain — proxied connections still start with a SYN and stay proxied: `;
  const chains = hint?.natChains ?? [];
  if (chains.length === 0) {
    return (
      `${head}nft insert rule <table> <chain> '${NAT_GUARD_NFT}'  (iptables: ${ipt} -t nat -I <chain> 1 -p tcp ! --syn -j RETURN), ` +
      `in the chain that redirects to :${port ?? '?'} (replyguard diagnose names it).`
    );
  }
  const where = chains.map((c) =>
    c.firewall === 'fw4'
      ? `${c.proxy} (fw4): nft insert rule ${c.table} ${c.chain} '${NAT_GUARD_NFT}'`
      : `${c.proxy} (fw3): ${ipt} -t ${c.table} -I ${c.chain} 1 -p tcp ! --syn -j RETURN`,
  );
  return `${head}${where.join('; ')} — whichever this router has (replyguard diagnose names it).`;
}

/** The TPROXY/TUN guard (research/proxies.md §5): returns at the top of the proxy's mangle chain. */
function mangleGuardLine(v: ReplyVerdict): string {
  const where = 'nft insert rule inet fw4 openclash_mangle';
  const others =
    '(OpenClash IPv6: inet fw4 openclash_mangle_v6; OpenClash fw3: iptables -t mangle openclash; Passwall: inet passwall PSW_MANGLE; ' +
    'Passwall2: inet passwall2 PSW2_MANGLE; nikki: inet nikki lan_tproxy / lan_tun; ' +
    'homeproxy: inet fw4 homeproxy_mangle_prerouting, in its TUN modes homeproxy_mangle_tun)';
  if (v.proto === 'udp') {
    const ip = v.serverIp.includes(':') ? 'ip6' : 'ip';
    return (
      `${FIX_START.udpGuard} (TPROXY/TUN) chain — UDP has no handshake, so name them: ` +
      `${where} '${ip} saddr ${v.serverIp} udp sport ${v.serverPort} counter return' ${others}.`
    );
  }
  return (
    `${FIX_START.mangleGuard} (TPROXY/TUN) chain — packets conntrack calls invalid (a SYN-ACK whose SYN this router never saw) ` +
    `and new TCP without SYN; proxied connections start with a SYN and stay proxied: ` +
    `${where} 'meta l4proto tcp ct state new tcp flags & (fin|syn|rst|ack) != syn counter return' and then ` +
    `${where} 'ct state invalid counter return' ${others}. ` +
    `If the proxy redirects TCP in its nat chain instead, the guard there is 'tcp flags & (fin|syn|rst|ack) != syn counter return'.`
  );
}

/** "12 reply packets in, 0 out in 10 s": what the probe counted. */
export function probeCountText(p: NonNullable<ReplyVerdict['probe']>): string {
  const s = p.windowMs / 1000;
  const window = s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`;
  return `${p.packetsIn} reply packet${p.packetsIn === 1 ? '' : 's'} in, ${p.packetsOut} out in ${window}`;
}

export function summaryLine(v: ReplyVerdict): string {
  const server = formatEndpoint(v.serverIp, v.serverPort);
  const peer = formatEndpoint(v.peerIp, v.peerPort || undefined); // 0: the fw3 probe counts per peer address
  const proto = v.proto.toUpperCase();
  if (v.fate === 'swallowed') {
    const counted = v.probe ? ` (${probeCountText(v.probe)})` : '';
    return (
      `${proto} replies of ${server} to ${peer} enter this router and never leave towards the main router${counted}: ` +
      `a rule here (TPROXY, TUN or another proxy rule) takes them, the peer never gets them.`
    );
  }
  if (v.fate === 'passed') {
    return `${proto} replies of ${server} to ${peer} pass this router unchanged (the client's packets go around it).`;
  }
  const to = v.divertedTo ? formatEndpoint(v.divertedTo.ip, v.divertedTo.port) : '?';
  const where = v.divertedTo?.isRouter ? ' (this router)' : '';
  const hint = v.divertedTo ? proxyHintForPort(v.divertedTo.port) : undefined;
  const proxy = hint ? `; port ${v.divertedTo?.port} is the default port of ${hint.proxy}` : '';
  if (v.fate === 'redirected') {
    return `${proto} reply of ${server} to ${peer} was redirected to ${to}${where}${proxy}: the peer never gets it, the connection is reset.`;
  }
  return `${proto} reply of ${server} to ${peer} was masqueraded to ${to}${where}: the peer cannot match it, the connection is reset.`;
}
