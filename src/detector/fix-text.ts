// What to tell a person to change, for one kind of broken reply, without a
// ruleset (typed fixes, the first being the one we recommend), and the
// finding's summary line.

import { formatEndpoint } from '../net/ip-address';
import { BYPASS_GATEWAY_OFF } from '../proxies/openclash';
import type { ReplyVerdict } from './classify-flow';
import { type Fix, orderFixes } from './fix';
import { type ProxyHint, proxyHintForPort } from './proxy-hints';

const TCP_LOOSE_TEXT =
  'Or stop conntrack from picking up mid-stream TCP: sysctl -w net.netfilter.nf_conntrack_tcp_loose=0 ' +
  '(fixes REDIRECT and masquerade modes; long-lived connections do not survive a conntrack flush then).';

/** The conntrack sysctl that stops mid-stream pickups (REDIRECT and masquerade modes). */
export function tcpLooseFix(basis: Fix['basis']): Fix {
  return {
    kind: 'tcp_loose',
    proxy: 'none',
    text: TCP_LOOSE_TEXT,
    command: ['sysctl -w net.netfilter.nf_conntrack_tcp_loose=0'],
    basis,
  };
}

/** The detector's fixes for one kind of broken reply, without a ruleset, in the order shown. */
export function detectorFixes(v: ReplyVerdict): Fix[] {
  const server = formatEndpoint(v.serverIp, v.serverPort);
  const v6 = v.serverIp.includes(':');
  const family = v6 ? 'ipv6' : 'ipv4';
  if (v.fate === 'passed') {
    return [
      {
        kind: 'none_needed',
        proxy: 'none',
        text:
          `Nothing to change now. ${server} answers through this router while its clients reach it directly ` +
          '(asymmetric routing); a proxy rule that picks up mid-stream packets would break it. ' +
          'To remove the risk, give the server the main router as gateway, or exempt its replies from the proxy.',
        basis: 'detector',
      },
    ];
  }
  const hint = v.divertedTo ? proxyHintForPort(v.divertedTo.port) : undefined;
  const fixes: Fix[] = [];
  if (v.fate === 'swallowed') fixes.push(mangleGuardFix(v));
  if (v.fate === 'redirected' && v.proto === 'tcp') fixes.push(natGuardFix(v.divertedTo?.port, hint, v6));
  if (v.fate === 'masqueraded') {
    fixes.push({
      kind: 'masquerade_setting',
      proxy: 'openclash',
      text:
        `A masquerade rule rewrites the replies of ${server}: if it is OpenClash's "Bypass Gateway Compatible" ` +
        '(旁路网关兼容, chain openclash_post), turn it off (uci set openclash.config.bypass_gateway_compatible=0); ' +
        'a Lan Traffic Access List entry for the server also takes its replies out of that masquerade.',
      uci: [BYPASS_GATEWAY_OFF],
      basis: 'detector',
    });
  }
  // OpenClash's own setting, unless the port the replies went to is another proxy's only.
  if (!hint || hint.natChains.length === 0 || hint.natChains.some((c) => c.proxy === 'OpenClash'))
    fixes.push({
      kind: 'proxy_setting',
      proxy: 'openclash',
      text:
        'Or exempt the server in the proxy itself: OpenClash → Access Control → Lan Traffic Access List ' +
        `(来源流量访问控制): src_ip ${v.serverIp}, src_port ${v.serverPort}, proto ${v.proto}, target return.`,
      applies: { family },
      basis: 'detector',
    });
  if (v.proto === 'tcp' && v.fate !== 'swallowed') fixes.push(tcpLooseFix('detector'));
  fixes.push({
    kind: 'replyguard_guard',
    proxy: 'none',
    text:
      'Or let replyguard add exactly these exemptions for the proxy it finds (and take them out again later): ' +
      '`replyguard guard plan` shows them, `replyguard guard apply` adds them, `replyguard guard remove` removes them; ' +
      'with guard = auto (LuCI → Settings → Guard, or the Home Assistant switch) the daemon keeps them in place across proxy restarts.',
    command: ['replyguard guard apply'],
    basis: 'detector',
  });
  fixes.push({
    kind: 'gateway',
    proxy: 'none',
    text: `Or remove the asymmetry: give ${v.serverIp} the main router as its default gateway, so its replies never pass this router.`,
    basis: 'detector',
  });
  return orderFixes(fixes);
}

const NAT_GUARD_NFT = 'tcp flags & (fin|syn|rst|ack) != syn counter return';

/**
 * The nat guard, without a ruleset: in every chain that may hold the redirect to this port (a port
 * can be the default of two proxies, and fw4 and fw3 name the chain differently), else in words.
 * Only a single candidate chain makes it a command to run.
 */
function natGuardFix(port: number | undefined, hint: ProxyHint | undefined, v6: boolean): Fix {
  const ipt = v6 ? 'ip6tables' : 'iptables';
  const head =
    "Exempt packets picked up mid-stream (TCP without SYN) from the proxy's nat chain — proxied connections still start with a SYN and stay proxied: ";
  const chains = hint?.natChains ?? [];
  const family = v6 ? 'ipv6' : 'ipv4';
  if (chains.length === 0) {
    return {
      kind: 'nat_guard',
      proxy: 'none',
      text:
        `${head}nft insert rule <table> <chain> '${NAT_GUARD_NFT}'  (iptables: ${ipt} -t nat -I <chain> 1 -p tcp ! --syn -j RETURN), ` +
        `in the chain that redirects to :${port ?? '?'} (replyguard diagnose names it).`,
      applies: { family },
      basis: 'detector',
    };
  }
  const commands = chains.map((c) =>
    c.firewall === 'fw4'
      ? `nft insert rule ${c.table} ${c.chain} '${NAT_GUARD_NFT}'`
      : `${ipt} -t ${c.table} -I ${c.chain} 1 -p tcp ! --syn -j RETURN`,
  );
  const where = chains.map((c, i) => `${c.proxy} (${c.firewall}): ${commands[i]}`);
  const proxies = [...new Set(chains.map((c) => c.name))];
  const fix: Fix = {
    kind: 'nat_guard',
    proxy: proxies.length === 1 ? proxies[0]! : 'none',
    text: `${head}${where.join('; ')} — whichever this router has (replyguard diagnose names it).`,
    applies: { family },
    basis: 'detector',
  };
  if (chains.length === 1) {
    fix.command = commands;
    fix.applies = { family, firewall: chains[0]!.firewall };
  }
  return fix;
}

/** The TPROXY/TUN guard: returns at the top of the proxy's mangle chain (OpenClash's named, the others listed). */
function mangleGuardFix(v: ReplyVerdict): Fix {
  const where = 'nft insert rule inet fw4 openclash_mangle';
  const others =
    '(OpenClash IPv6: inet fw4 openclash_mangle_v6; OpenClash fw3: iptables -t mangle openclash; Passwall: inet passwall PSW_MANGLE; ' +
    'Passwall2: inet passwall2 PSW2_MANGLE; nikki: inet nikki lan_tproxy / lan_tun; ' +
    'homeproxy: inet fw4 homeproxy_mangle_prerouting, in its TUN modes homeproxy_mangle_tun)';
  const family = v.serverIp.includes(':') ? 'ipv6' : 'ipv4';
  if (v.proto === 'udp') {
    const ip = v.serverIp.includes(':') ? 'ip6' : 'ip';
    return {
      kind: 'udp_guard',
      proxy: 'none',
      text:
        "Exempt the forward's replies at the top of the proxy's mangle (TPROXY/TUN) chain — UDP has no handshake, so name them: " +
        `${where} '${ip} saddr ${v.serverIp} udp sport ${v.serverPort} counter return' ${others}.`,
      applies: { family },
      basis: 'detector',
    };
  }
  return {
    kind: 'mangle_guard',
    proxy: 'none',
    text:
      "Exempt replies at the top of the proxy's mangle (TPROXY/TUN) chain — packets conntrack calls invalid (a SYN-ACK whose SYN this router never saw) " +
      `and new TCP without SYN; proxied connections start with a SYN and stay proxied: ` +
      `${where} 'meta l4proto tcp ct state new tcp flags & (fin|syn|rst|ack) != syn counter return' and then ` +
      `${where} 'ct state invalid counter return' ${others}. ` +
      `If the proxy redirects TCP in its nat chain instead, the guard there is 'tcp flags & (fin|syn|rst|ack) != syn counter return'.`,
    applies: { family },
    basis: 'detector',
  };
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
