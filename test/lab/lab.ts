// A network-namespace lab of the incident, a port-forwarded server whose replies a side router's proxy takes:
//
//  client 203.0.113.50 ── wan ── main 203.0.113.1 (DNAT tcp/9443 → server:443, udp/51820 → server:51820)
//                                  │ br-main 192.168.50.1 (bridge in the main namespace)
//              side 192.168.50.2 (br-lan, proxy rules)      server 192.168.50.10 (gateway = side)
//
// With LabOptions.ipv6 the same links also carry IPv6 (documentation prefixes 3fff::/20 and 2001:db8::/32):
//
//  client 3fff:ffff::50 ── wan ── main 3fff:ffff::1 (forward accept → [server]:443 tcp, :51820 udp; no NAT66)
//                                       │ br-main 2001:db8:50::1
//              side 2001:db8:50::2 (v6 default via main)    server 2001:db8:50::10 (v6 default via side)
//
// Every command is an argv array (no shell) and every wait is bounded. All
// namespaces, processes and files a lab makes are removed by destroy(), and by
// ./cleanup.ts if the process dies first.

import { type ChildProcess, type StdioOptions, spawn as spawnChild } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PASSWALL_RULE_CHAIN } from '../golden/rulesets/fixtures';
import { bootOpenWrt, type OpenWrtRig } from '../openwrt/rig';
import { killGroup, type LabResources, trackLab, untrackLab } from './cleanup';

export type ProxyMode =
  | 'none'
  | 'iptables-redirect'
  | 'openclash-fw3'
  | 'nft-redirect'
  | 'nft-tproxy'
  | 'tun'
  | 'openclash-fw4-fakeip'
  | 'openclash-fw4-0.46-fakeip'
  | 'passwall2-tproxy'
  | 'passwall2-redirect'
  | 'passwall'
  | 'homeproxy'
  | 'shellcrash'
  | 'shellcrash-fw3'
  | 'shellclash-allports'
  | 'shellcrash-tproxy'
  | 'nikki'
  | 'nikki-tun'
  | 'nikki-redirect-tproxy'
  | 'openclash-fw3-tun'
  | 'openclash-fw3-mix'
  | 'passwall-tproxy'
  | 'passwall-fw3-tproxy'
  | 'passwall2-fw3-tproxy';

/**
 * The modes `make lab` runs the daemon in and test/golden/tcpdump holds captures of: every mode the lab can
 * build but FIX_PROOF_MODES.
 */
export const PROXY_MODES: readonly ProxyMode[] = [
  'none',
  'iptables-redirect',
  'openclash-fw3',
  'nft-redirect',
  'nft-tproxy',
  'tun',
  'openclash-fw4-fakeip',
  'passwall2-tproxy',
  'passwall2-redirect',
  'passwall',
  'homeproxy',
  'shellcrash',
  'shellcrash-fw3',
  'nikki',
];

/** Further modes, for the proofs of proxy-native fixes (test/integration/native-fixes.test.ts). */
export const FIX_PROOF_MODES: readonly ProxyMode[] = [
  'shellcrash-tproxy',
  'nikki-tun',
  'nikki-redirect-tproxy',
  'openclash-fw3-tun',
  'openclash-fw3-mix',
  'passwall-tproxy',
  'passwall-fw3-tproxy',
  'passwall2-fw3-tproxy',
  'openclash-fw4-0.46-fakeip',
  'shellclash-allports',
];

/** What a mode does to the forward's replies, without any guard. */
export interface ModeTraits {
  /**
   * TCP forward: 'reset' (nat REDIRECT: the client is reset, conntrack sees the pickup),
   * 'timeout' (TPROXY/TUN: the SYN-ACK itself is taken, the client times out, conntrack sees nothing),
   * null (untouched).
   */
  tcp: 'reset' | 'timeout' | null;
  /** UDP forward: its replies are taken (TPROXY or TUN). */
  udp: boolean;
  /** TCP port of the nat REDIRECT listener, when the mode redirects TCP. */
  redirectPort?: number;
}

export const MODE_TRAITS: Readonly<Record<ProxyMode, ModeTraits>> = {
  none: { tcp: null, udp: false },
  'iptables-redirect': { tcp: 'reset', udp: false, redirectPort: 7892 },
  // OpenClash on fw3 (iptables): nat REDIRECT for TCP + mangle TPROXY for UDP.
  'openclash-fw3': { tcp: 'reset', udp: true, redirectPort: 7892 },
  'nft-redirect': { tcp: 'reset', udp: false, redirectPort: 7892 },
  // OpenClash-style TPROXY of TCP and UDP (as its IPv6 mode and ShellCrash's Tproxy mode do).
  'nft-tproxy': { tcp: 'timeout', udp: true },
  // OpenClash TUN: everything from the LAN is marked into utun.
  tun: { tcp: 'timeout', udp: true },
  // OpenClash fake-ip on fw4: TCP REDIRECT + UDP TPROXY.
  'openclash-fw4-fakeip': { tcp: 'reset', udp: true, redirectPort: 7892 },
  // OpenClash 0.46.068 fake-ip on fw4 (before the `ct direction reply` return): the same TCP REDIRECT + UDP TPROXY.
  'openclash-fw4-0.46-fakeip': { tcp: 'reset', udp: true, redirectPort: 7892 },
  // Passwall2 TPROXY with tcp_redir_ports = all: its `tcp flags syn` also marks the SYN-ACK.
  'passwall2-tproxy': { tcp: 'timeout', udp: true },
  // Passwall2's defaults (tcp_proxy_way redirect, tcp_redir_ports 1:65535): TCP REDIRECT to 1041 from its own
  // dstnat chain (PSW2_NAT), UDP TPROXY to 1041 for new UDP entries.
  'passwall2-redirect': { tcp: 'reset', udp: true, redirectPort: 1041 },
  // Passwall (1), tcp_proxy_way redirect with tcp_redir_ports = all (1:65535): TCP REDIRECT to 1041, UDP TPROXY
  // to 1051 for new UDP entries. With the default port list the replies' client ports miss it and TCP works.
  passwall: { tcp: 'reset', udp: true, redirectPort: 1041 },
  // homeproxy redirect_tproxy with routing_port all (its default 'common' spares the replies): TCP REDIRECT to
  // 5331, UDP TPROXY to 5332.
  homeproxy: { tcp: 'reset', udp: true, redirectPort: 5331 },
  // ShellCrash Redir mode (nft) with common ports off: TCP REDIRECT to 7892 in its own prerouting chain.
  shellcrash: { tcp: 'reset', udp: false, redirectPort: 7892 },
  // ShellCrash Redir mode on iptables with common ports off: nat chain shellcrash, REDIRECT to 7892.
  'shellcrash-fw3': { tcp: 'reset', udp: false, redirectPort: 7892 },
  // ShellClash (ShellCrash before its rename) Redir模式 on iptables with common ports off: PREROUTING
  // `-s 192.0.0.0/8 -p tcp -j clash`, nat clash REDIRECT to 7892.
  'shellclash-allports': { tcp: 'reset', udp: false, redirectPort: 7892 },
  // ShellCrash Tproxy mode (nft) with common ports off: TCP and UDP TPROXY to 7893 in its own prerouting chain.
  'shellcrash-tproxy': { tcp: 'timeout', udp: true },
  // nikki defaults: TCP redirect + UDP tun.
  nikki: { tcp: 'reset', udp: true, redirectPort: 7891 },
  // nikki tcp_mode and udp_mode tun: both marked into its tun device.
  'nikki-tun': { tcp: 'timeout', udp: true },
  // nikki tcp_mode redirect, udp_mode tproxy.
  'nikki-redirect-tproxy': { tcp: 'reset', udp: true, redirectPort: 7891 },
  // OpenClash on fw3 in fake-ip-tun: TCP and UDP marked in mangle openclash into utun.
  'openclash-fw3-tun': { tcp: 'timeout', udp: true },
  // OpenClash on fw3 in fake-ip-mix: TCP REDIRECT in nat openclash, UDP marked in mangle openclash into utun.
  'openclash-fw3-mix': { tcp: 'reset', udp: true, redirectPort: 7892 },
  // Passwall (1), tcp_proxy_way tproxy with tcp_redir_ports = all, on nft and on iptables: TCP and UDP go through
  // PSW_RULE to the TPROXY on 1041, but PSW_RULE marks only a bare SYN, so the forward's TCP replies pass.
  'passwall-tproxy': { tcp: null, udp: true },
  'passwall-fw3-tproxy': { tcp: null, udp: true },
  // Passwall2 on iptables with tcp_proxy_way tproxy: the same shape in mangle PSW2, and its PSW2_RULE still marks an
  // exact SYN (`--syn`; nftables.sh's `tcp flags syn` since 2025-11 marks the SYN-ACK too, see 'passwall2-tproxy').
  'passwall2-fw3-tproxy': { tcp: null, udp: true },
};

/**
 * Modes whose proxy also takes IPv6 from the LAN when the lab has ipv6 on, in OpenClash's IPv6 chains:
 * Redirect (ipv6_mode 1, nat `openclash_v6`), TProxy (ipv6_mode 0, `openclash_mangle_v6`) and TUN
 * (ipv6_mode 2, `openclash_mangle_v6`); and nikki, whose chains take both families (proxy_nfproto
 * { ipv4, ipv6 }). In every other mode IPv6 is routed but not proxied, as with a proxy whose IPv6 is off
 * (OpenClash's default ipv6_enable=0).
 */
export const IPV6_PROXY_MODES: readonly ProxyMode[] = ['nft-redirect', 'nft-tproxy', 'tun', 'nikki'];

export interface LabOptions {
  mode: ProxyMode;
  /** Apply the guard rule right after the proxy rules. */
  guard?: boolean;
  /**
   * Also IPv6 on every link (lab.addr6): forwarding on, the server's v6 default via the side router, the
   * side's via the main router, a plain v6 forward on the main router (no NAT66), and in IPV6_PROXY_MODES
   * the proxy's IPv6 rules. Off: nothing IPv6 is set up (the lab is exactly what it was without the option).
   */
  ipv6?: boolean;
  /** Readable label put into the namespace names; uniqueness always comes from random hex. */
  tag?: string;
  /**
   * The side router's userland: 'debian' (a plain namespace with the host's tools, the default) or
   * 'openwrt' (test/openwrt/rig.ts: OpenWrt's procd, netifd, fw4 and nft, LAN device eth0; nft modes only).
   */
  os?: LabOs;
  /**
   * OpenClash's "Bypass Gateway Compatible" on (bypass_gateway_compatible=1): its masquerade chain
   * openclash_post, jumped from srcnat (fw3: POSTROUTING), beside the mode's rules and reloaded with them.
   * Only in the modes openclash-fw4-fakeip and openclash-fw3.
   */
  bypassGatewayCompatible?: boolean;
}

export type LabOs = 'debian' | 'openwrt';

/** Modes the OpenWrt side router can hold: its image has nft (fw4) and no iptables. */
export function modeRunsOnOpenWrt(mode: ProxyMode): boolean {
  return !isIptablesMode(mode);
}

export interface ExecResult {
  /** Exit code; null when the command was killed (timeout or destroy). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

export interface BurstResult {
  total: number;
  ok: number;
  /** Failures by error code. */
  errors: Record<string, number>;
  ms: number;
}

/** The lab's IPv6 addresses (LabOptions.ipv6). */
export interface LabAddr6 {
  client: string;
  mainWan: string;
  mainLan: string;
  side: string;
  server: string;
  lanSubnet: string;
  wanSubnet: string;
}

/** family 6 needs a lab made with ipv6: the probe then goes to the server's v6 address (a plain v6 forward). */
export interface ProbeOptions {
  timeoutMs?: number;
  family?: 4 | 6;
}

export interface Lab {
  id: string;
  os: LabOs;
  /** The side router's LAN device, as its proxy rules and replyguard's lan_interfaces name it. */
  lanDevice: string;
  /** The booted OpenWrt (os 'openwrt'); exec/spawn on ns.side run inside it. */
  openwrt?: OpenWrtRig;
  ns: { client: string; main: string; side: string; server: string };
  addr: { client: string; mainWan: string; mainLan: string; side: string; server: string; lanSubnet: string };
  /**
   * IPv6 addresses, only in a lab made with ipv6. The v6 forward is a plain forward, no NAT66: the client
   * connects to [addr6.server]:forward.serverPort (TCP) and :forward.udpServerPort (UDP).
   */
  addr6?: LabAddr6;
  forward: {
    wanPort: number;
    serverPort: number;
    udpWanPort: number;
    udpServerPort: number;
    /** A plain TCP forward to a "hello and close" service, for many short connections. */
    plainWanPort: number;
    plainServerPort: number;
    /** The REDIRECT listener's port (modes that redirect TCP), else OpenClash's 7892 for reference. */
    redirectPort: number;
  };
  /** Runs argv inside one of this lab's namespaces. Rejects only when the process cannot be spawned. */
  exec(ns: string, argv: string[], opts?: { timeoutMs?: number; input?: string }): Promise<ExecResult>;
  /**
   * Starts a long-running process inside one of this lab's namespaces; destroy() kills its process group.
   * stdio defaults to 'pipe' (as in node): read stdout/stderr or pass 'ignore', or a chatty child blocks.
   */
  spawn(ns: string, argv: string[], opts?: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions }): ChildProcess;
  /**
   * client → mainWan:wanPort over TLS; ok when HTTP 200 came back, else detail holds curl's error.
   * family 6: client → [addr6.server]:serverPort through the main router's v6 forward.
   */
  tlsThroughForward(opts?: ProbeOptions): Promise<ProbeResult>;
  /** client → mainWan:udpWanPort → server echo (family 6: → [addr6.server]:udpServerPort). */
  udpThroughForward(opts?: ProbeOptions): Promise<ProbeResult>;
  /**
   * client → mainWan:plainWanPort, `total` short TCP connections (connect, read "hello", close),
   * `concurrency` at a time; ok counts the complete ones.
   */
  tcpBurst(total: number, concurrency: number, opts?: { timeoutMs?: number }): Promise<BurstResult>;
  /** Loads the mode's proxy rules again, as a proxy restart does (after `nft flush ruleset`, say). */
  reloadProxyRules(): Promise<void>;
  /**
   * server → client:CLIENT_SERVICE_PORT over plain HTTP, i.e. ordinary LAN traffic the proxy takes
   * (family 6: → [addr6.client]:CLIENT_SERVICE_PORT).
   */
  outboundFromServer(opts?: ProbeOptions): Promise<ProbeResult>;
  /** Connections the side router's REDIRECT listener accepted so far (always 0 in modes without one). */
  proxyAccepts(): number;
  /**
   * Inserts or removes the mode's guard (nat modes exempt TCP without SYN;
   * TPROXY/TUN modes return invalid packets, new TCP without SYN and the UDP forward's replies at the
   * top of the proxy's mangle chain); a no-op in mode 'none' (there is no proxy chain to guard).
   */
  setGuard(on: boolean): Promise<void>;
  /** Idempotent. */
  destroy(): Promise<void>;
}

/** The port of the plain HTTP service on the client, the target of outboundFromServer(). */
export const CLIENT_SERVICE_PORT = 8443;

const ADDR = {
  client: '203.0.113.50',
  mainWan: '203.0.113.1',
  mainLan: '192.168.50.1',
  side: '192.168.50.2',
  server: '192.168.50.10',
  lanSubnet: '192.168.50.0/24',
} as const;

/**
 * Documentation prefixes: 2001:db8:50::/64 the LAN; outside (WAN) 3fff:ffff::/64, from 3fff::/20 (RFC 9637),
 * not from 2001:db8::/32: OpenClash's localnetwork6 holds 2001:db8::/32 (LOCAL_NETWORKS6), so its chain
 * returns whatever goes there before the proxy rule, and a 2001:db8 client would not show the incident.
 */
const ADDR6: LabAddr6 = {
  client: '3fff:ffff::50',
  mainWan: '3fff:ffff::1',
  mainLan: '2001:db8:50::1',
  side: '2001:db8:50::2',
  server: '2001:db8:50::10',
  lanSubnet: '2001:db8:50::/64',
  wanSubnet: '3fff:ffff::/64',
};

const FORWARD = {
  wanPort: 9443,
  serverPort: 443,
  udpWanPort: 51820,
  udpServerPort: 51820,
  plainWanPort: 9080,
  plainServerPort: 8080,
  redirectPort: 7892,
};

/** OpenClash's default localnetwork set (IPv4), which its proxy chain returns early for. */
const LOCAL_NETWORKS = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '224.0.0.0/4',
  '240.0.0.0/4',
];

/**
 * OpenClash's default localnetwork6 (custom/openclash_custom_localnetwork_ipv6.list), which its IPv6 chains
 * return early for. It holds 2001:db8::/32, hence the lab's outside client in 3fff::/20; the LAN's own
 * prefix, which OpenClash adds to the set, lies inside 2001:db8::/32 here.
 */
const LOCAL_NETWORKS6 = [
  '::/128',
  '::1/128',
  '::ffff:0:0/96',
  '::ffff:0:0:0/96',
  '64:ff9b::/96',
  '100::/64',
  '2001::/32',
  '2001:20::/28',
  '2001:db8::/32',
  '2002::/16',
  'fe80::/10',
  'ff00::/8',
];

const DEFAULT_EXEC_TIMEOUT_MS = 10_000;
const DEFAULT_PROBE_TIMEOUT_MS = 5000;
const SERVICE_READY_TIMEOUT_MS = 5000;
const STOP_GRACE_MS = 1000;

// ---------------------------------------------------------------------------
// Processes

/** The host environment minus proxy settings: lab curls must never go to a real proxy. */
function labEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (!/_proxy$/i.test(key)) env[key] = value;
  }
  // ip, iptables, nft, conntrack live in sbin.
  const path = env.PATH ?? '/usr/bin:/bin';
  env.PATH = path.includes('/usr/sbin') ? path : `${path}:/usr/sbin:/sbin`;
  return env;
}

/**
 * Spawns argv as the leader of a new process group (so that a timeout or
 * destroy() can kill whatever it forked) and registers it with the lab until it exits.
 */
function spawnTracked(
  resources: LabResources,
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions },
): ChildProcess {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('empty argv');
  const child = spawnChild(cmd, args, { detached: true, env: labEnv(opts.env), stdio: opts.stdio ?? 'pipe' });
  if (child.pid !== undefined) {
    resources.children.add(child);
    child.once('exit', () => resources.children.delete(child));
  }
  return child;
}

/** Runs argv to completion, collecting its output; kills its process group after timeoutMs. */
function runTracked(
  resources: LabResources,
  argv: string[],
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    let child: ChildProcess;
    try {
      child = spawnTracked(resources, argv, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    } catch (err) {
      reject(err);
      return;
    }
    let stdout = '';
    let stderr = '';
    let settled = false;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      stderr += `\n[lab] ${argv.join(' ')}: killed after ${timeoutMs} ms`;
      killGroup(child, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) {
      child.stdin?.on('error', () => {}); // EPIPE when the command exits without reading
      child.stdin?.end(opts.input);
    }
  });
}

function failure(what: string, argv: string[], result: ExecResult): Error {
  const output = (result.stderr || result.stdout).trim();
  return new Error(`${what} failed (${argv.join(' ')} → exit ${result.code}): ${output}`);
}

/** Waits until every child has exited, or until timeoutMs. */
function waitForExit(children: Iterable<ChildProcess>, timeoutMs: number): Promise<void> {
  const pending = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  if (pending.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    let left = pending.length;
    const timer = setTimeout(resolve, timeoutMs);
    for (const child of pending) {
      child.once('exit', () => {
        left -= 1;
        if (left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
}

// ---------------------------------------------------------------------------
// The lab

class NamespaceLab implements Lab {
  readonly id: string;
  readonly ns: Lab['ns'];
  readonly addr = { ...ADDR };
  readonly addr6: LabAddr6 | undefined;
  readonly forward: Lab['forward'];
  readonly resources: LabResources;
  private guardOn = false;
  /** Guard rules inserted with nft, to delete by handle. */
  private nftGuardRules: Array<{ table: string; chain: string; handle: number }> = [];
  private accepts = 0;
  private destroying: Promise<void> | null = null;
  openwrt?: OpenWrtRig;
  readonly lanDevice: string;

  constructor(
    readonly mode: ProxyMode,
    tag: string | undefined,
    readonly ipv6: boolean,
    readonly os: LabOs = 'debian',
    readonly bypassGatewayCompatible = false,
  ) {
    if (bypassGatewayCompatible && mode !== 'openclash-fw4-fakeip' && mode !== 'openclash-fw3')
      throw new Error(`bypassGatewayCompatible is OpenClash's: not in mode ${mode}`);
    if (os === 'openwrt' && !modeRunsOnOpenWrt(mode))
      throw new Error(`mode ${mode} needs iptables, which OpenWrt fw4 lacks`);
    if (os === 'openwrt' && ipv6) throw new Error('the OpenWrt side router has no IPv6 lab yet');
    // OpenWrt's LAN in the rig is eth0 itself: its stock br-lan needs bridge VLAN filtering in the host kernel.
    this.lanDevice = os === 'openwrt' ? 'eth0' : 'br-lan';
    const hex = randomBytes(3).toString('hex');
    this.id = tag ? `${tag}-${hex}` : hex;
    const base = `rg${this.id}`;
    this.ns = { client: `${base}-client`, main: `${base}-main`, side: `${base}-side`, server: `${base}-server` };
    this.resources = { namespaces: [], children: new Set(), rigs: new Set() };
    this.forward = { ...FORWARD, redirectPort: MODE_TRAITS[mode].redirectPort ?? FORWARD.redirectPort };
    this.addr6 = ipv6 ? { ...ADDR6 } : undefined;
    trackLab(this.resources);
  }

  exec = (ns: string, argv: string[], opts?: { timeoutMs?: number; input?: string }): Promise<ExecResult> => {
    try {
      this.assertOwnNamespace(ns);
    } catch (err) {
      return Promise.reject(err);
    }
    if (ns === this.ns.side && this.openwrt) return this.openwrt.exec(argv, opts);
    return runTracked(this.resources, ['ip', 'netns', 'exec', ns, ...argv], opts);
  };

  spawn = (ns: string, argv: string[], opts: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions } = {}): ChildProcess => {
    this.assertOwnNamespace(ns);
    if (ns === this.ns.side && this.openwrt) return spawnTracked(this.resources, this.openwrt.enterArgv(argv), opts);
    return spawnTracked(this.resources, ['ip', 'netns', 'exec', ns, ...argv], opts);
  };

  tlsThroughForward = async (opts: ProbeOptions = {}): Promise<ProbeResult> => {
    if (opts.family === 6) {
      // -g: the brackets of the v6 literal are not a curl glob.
      const url = `https://[${this.v6().server}]:${FORWARD.serverPort}/`;
      return this.curl(this.ns.client, url, ['-k', '-g'], opts.timeoutMs);
    }
    const url = `https://${ADDR.mainWan}:${FORWARD.wanPort}/`;
    return this.curl(this.ns.client, url, ['-k'], opts.timeoutMs);
  };

  udpThroughForward = async (opts: ProbeOptions = {}): Promise<ProbeResult> => {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    const [host, port] =
      opts.family === 6 ? [this.v6().server, FORWARD.udpServerPort] : [ADDR.mainWan, FORWARD.udpWanPort];
    const argv = [process.execPath, this.servicesJs, 'udp-probe', host, String(port)];
    const result = await this.exec(this.ns.client, [...argv, String(timeoutMs)], { timeoutMs: timeoutMs + 2000 });
    const detail = (result.stdout + result.stderr).trim();
    return { ok: result.code === 0, detail };
  };

  tcpBurst = async (total: number, concurrency: number, opts: { timeoutMs?: number } = {}): Promise<BurstResult> => {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const argv = [process.execPath, this.servicesJs, 'tcp-burst', ADDR.mainWan, String(FORWARD.plainWanPort)];
    const args = [String(total), String(concurrency), String(timeoutMs)];
    const result = await this.exec(this.ns.client, [...argv, ...args], { timeoutMs: timeoutMs + 5000 });
    try {
      return JSON.parse(result.stdout) as BurstResult;
    } catch {
      throw failure('tcp burst', argv, result);
    }
  };

  reloadProxyRules = async (): Promise<void> => {
    if (this.mode === 'none') return;
    if (isIptablesMode(this.mode)) {
      await this.must(this.ns.side, ['iptables-restore', '-w'], 'proxy rules', this.iptablesRules());
      this.guardOn = false;
      return;
    }
    // The fw4-style tables replace themselves; a guard inserted before is gone with them.
    const rules = this.nftRules();
    const table = rules.split('\n')[0]!.replace(/ \{$/, '');
    if (this.openwrt && table === 'table inet fw4') {
      // The real fw4: OpenWrt rebuilds it (the proxy's chains in it go too), then the proxy adds them again.
      await this.must(this.ns.side, ['/etc/init.d/firewall', 'restart'], 'firewall restart');
      await this.must(this.ns.side, ['nft', '-f', '-'], 'proxy rules', rules);
    } else {
      await this.must(this.ns.side, ['nft', '-f', '-'], 'proxy rules', `${table}\ndelete ${table}\n${rules}`);
    }
    this.nftGuardRules = [];
    this.guardOn = false;
  };

  outboundFromServer = async (opts: ProbeOptions = {}): Promise<ProbeResult> => {
    if (opts.family === 6) {
      const url = `http://[${this.v6().client}]:${CLIENT_SERVICE_PORT}/`;
      return this.curl(this.ns.server, url, ['-g'], opts.timeoutMs);
    }
    const url = `http://${ADDR.client}:${CLIENT_SERVICE_PORT}/`;
    return this.curl(this.ns.server, url, [], opts.timeoutMs);
  };

  proxyAccepts = (): number => this.accepts;

  setGuard = async (on: boolean): Promise<void> => {
    if (this.mode === 'none' || on === this.guardOn) return;
    if (isIptablesMode(this.mode)) {
      // -I … 1 puts it first, ahead of the REDIRECT/TPROXY; -D deletes by the same spec.
      // fake-ip-tun has no nat chain: its mangle chain takes TCP too, so new TCP without SYN returns there.
      // Passwall's and Passwall2's TPROXY mode on iptables take no TCP reply (PSW_RULE / PSW2_RULE mark only a bare
      // SYN): only the UDP return.
      const tun = this.mode === 'openclash-fw3-tun';
      const psw2 = this.mode === 'passwall2-fw3-tproxy';
      const psw = this.mode === 'passwall-fw3-tproxy' || psw2;
      const specs: Array<[string, string[]]> = psw
        ? []
        : tun
          ? [['mangle', ['-p', 'tcp', '!', '--syn', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'RETURN']]]
          : [['nat', ['-p', 'tcp', '!', '--syn', '-j', 'RETURN']]];
      if (this.mode === 'openclash-fw3' || this.mode === 'openclash-fw3-mix' || tun || psw) {
        if (!psw) specs.push(['mangle', ['-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'RETURN']]);
        specs.push([
          'mangle',
          ['-s', ADDR.server, '-p', 'udp', '--sport', String(FORWARD.udpServerPort), '-j', 'RETURN'],
        ]);
      }
      for (const [table, spec] of specs) {
        const chain =
          this.mode === 'shellcrash-fw3'
            ? 'shellcrash'
            : this.mode === 'shellclash-allports'
              ? 'clash'
              : psw2
                ? 'PSW2'
                : psw
                  ? 'PSW'
                  : 'openclash';
        const where = on ? ['-I', chain, '1'] : ['-D', chain];
        await this.must(this.ns.side, ['iptables', '-w', '-t', table, ...where, ...spec], 'guard');
      }
    } else if (on) {
      // `insert` without a position goes to the top, so each chain's rules are inserted last first;
      // --echo --handle tells which rules to delete later (one "# handle N" per command, in order).
      const inserts = guardRules(this.mode, this.ipv6).flatMap(({ table, chain, rules }) =>
        [...rules].reverse().map((rule) => ({ table, chain, text: `insert rule ${table} ${chain} ${rule}` })),
      );
      const script = `${inserts.map((i) => i.text).join('\n')}\n`;
      const out = await this.must(this.ns.side, ['nft', '--echo', '--handle', '-f', '-'], 'guard', script);
      const handles = [...out.matchAll(/# handle (\d+)/g)].map((m) => Number(m[1]));
      if (handles.length !== inserts.length) throw new Error(`guard: expected ${inserts.length} handles: ${out}`);
      this.nftGuardRules = inserts.map((i, n) => ({ table: i.table, chain: i.chain, handle: handles[n]! }));
    } else {
      const script = this.nftGuardRules
        .map(({ table, chain, handle }) => `delete rule ${table} ${chain} handle ${handle}\n`)
        .join('');
      await this.must(this.ns.side, ['nft', '-f', '-'], 'guard', script);
      this.nftGuardRules = [];
    }
    this.guardOn = on;
  };

  destroy = (): Promise<void> => {
    this.destroying ??= this.teardown();
    return this.destroying;
  };

  // -------------------------------------------------------------------------
  // Building

  async build(guard: boolean): Promise<void> {
    const tmp = await mkdtemp(join(tmpdir(), `rg${this.id}-`));
    this.resources.tmpDir = tmp;
    const certReady = Promise.all([this.makeCertificate(tmp), writeFile(this.servicesJs, SERVICES_JS)]);
    // IPv6: no duplicate address detection (set before any interface exists, so that the link-local
    // addresses are usable at once, not ~1 s later): neighbour discovery must not delay the first probe.
    const noDad = { 'net.ipv6.conf.all.accept_dad': '0', 'net.ipv6.conf.default.accept_dad': '0' };
    await Promise.all(
      Object.values(this.ns).map(async (ns) => {
        if (ns === this.ns.side && this.os === 'openwrt') await this.bootOpenWrtSide();
        else await this.addNamespace(ns);
        if (this.ipv6) await this.sysctl(ns, noDad);
      }),
    );
    await this.buildMainRouter(); // creates the veths whose peers the other namespaces configure
    const v6Flag = this.ipv6 ? ['6'] : [];
    await Promise.all([
      this.ipBatch(this.ns.client, [
        `addr add ${ADDR.client}/24 dev eth0`,
        'link set lo up',
        'link set eth0 up',
        `route add default via ${ADDR.mainWan}`,
      ]).then(() =>
        this.ipv6
          ? this.ipBatch(
              this.ns.client,
              [`addr add ${ADDR6.client}/64 dev eth0 nodad`, `route add default via ${ADDR6.mainWan}`],
              6,
            )
          : undefined,
      ),
      this.buildSideRouter(),
      this.buildServer(),
      this.startService(this.ns.client, ['http', String(CLIENT_SERVICE_PORT), ...v6Flag]),
      certReady.then(() =>
        this.startService(this.ns.server, [
          'server',
          tmp,
          String(FORWARD.serverPort),
          String(FORWARD.udpServerPort),
          String(FORWARD.plainServerPort),
          ...v6Flag,
        ]),
      ),
    ]);
    if (guard) await this.setGuard(true);
  }

  private get servicesJs(): string {
    return join(this.resources.tmpDir ?? '', 'services.js');
  }

  private async addNamespace(ns: string): Promise<void> {
    this.resources.namespaces.push(ns); // before creating it, so a failure half-way is still cleaned up
    const argv = ['ip', 'netns', 'add', ns];
    const result = await runTracked(this.resources, argv);
    if (result.code !== 0) throw failure('netns add', argv, result);
  }

  private async makeCertificate(dir: string): Promise<void> {
    // EC keys take milliseconds, RSA would dominate the lab's start-up time.
    const argv = [
      'openssl',
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=replyguard-lab',
      '-addext',
      `subjectAltName=IP:${ADDR.mainWan},IP:${ADDR.server}`,
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ];
    const result = await runTracked(this.resources, argv);
    if (result.code !== 0) throw failure('certificate', argv, result);
  }

  private async buildMainRouter(): Promise<void> {
    const { main, client, side, server } = this.ns;
    await this.ipBatch(main, [
      `link add wan type veth peer name eth0 netns ${client}`,
      // The LAN bridge of the main router; side router and server hang off it.
      'link add br-main type bridge forward_delay 0',
      `link add side0 type veth peer name eth0 netns ${side}`,
      `link add srv0 type veth peer name eth0 netns ${server}`,
      'link set side0 master br-main',
      'link set srv0 master br-main',
      `addr add ${ADDR.mainWan}/24 dev wan`,
      `addr add ${ADDR.mainLan}/24 dev br-main`,
      'link set lo up',
      'link set wan up',
      'link set br-main up',
      'link set side0 up',
      'link set srv0 up',
    ]);
    await this.sysctl(main, { 'net.ipv4.ip_forward': '1', ...bridgeNetfilterOff() });
    // Port forwards as a home router has them; outbound LAN traffic is masqueraded.
    const rules = [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      `-A PREROUTING -i wan -p tcp --dport ${FORWARD.wanPort} -j DNAT --to-destination ${ADDR.server}:${FORWARD.serverPort}`,
      `-A PREROUTING -i wan -p udp --dport ${FORWARD.udpWanPort} -j DNAT --to-destination ${ADDR.server}:${FORWARD.udpServerPort}`,
      `-A PREROUTING -i wan -p tcp --dport ${FORWARD.plainWanPort} -j DNAT --to-destination ${ADDR.server}:${FORWARD.plainServerPort}`,
      '-A POSTROUTING -o wan -j MASQUERADE',
      'COMMIT',
      '',
    ].join('\n');
    await this.must(main, ['iptables-restore', '-w'], 'main router nat', rules);
    if (this.ipv6) await this.buildMainRouter6();
  }

  /**
   * The main router's IPv6 side. The v6 "port forward" is a plain forward: accept client → [server]:port
   * from the WAN, no NAT66, as OpenWrt's IPv6 forwards are (a traffic rule opening the server's global
   * address; the LAN has global addresses). A DNAT66 from the WAN address would break in the same way
   * (the server's reply still goes to its gateway, the side router), but would add a translation that
   * the incident does not need and that OpenWrt users rarely have; with the plain forward the reply the
   * side router sees is exactly [server]:port → [client], the addresses the guard's rules name.
   */
  private async buildMainRouter6(): Promise<void> {
    const { main } = this.ns;
    await this.ipBatch(
      main,
      [`addr add ${ADDR6.mainWan}/64 dev wan nodad`, `addr add ${ADDR6.mainLan}/64 dev br-main nodad`],
      6,
    );
    await this.sysctl(main, { 'net.ipv6.conf.all.forwarding': '1' });
    const rules = `table ip6 lab_forward6 {
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "wan" ct state established,related counter accept
    iifname "wan" ip6 daddr ${ADDR6.server} tcp dport { ${FORWARD.serverPort}, ${FORWARD.plainServerPort} } counter accept
    iifname "wan" ip6 daddr ${ADDR6.server} udp dport ${FORWARD.udpServerPort} counter accept
    iifname "wan" icmpv6 type echo-request counter accept
    iifname "wan" counter drop
  }
}
`;
    await this.must(main, ['nft', '-f', '-'], 'main router v6 forward', rules);
  }

  /**
   * OpenWrt as the side router: its netifd gives eth0 (the LAN, the veth the main router adds) the lab's
   * address and default route from /etc/config/network, written before procd starts.
   */
  private async bootOpenWrtSide(): Promise<void> {
    const network = `config interface 'loopback'
	option device 'lo'
	option proto 'static'
	option ipaddr '127.0.0.1'
	option netmask '255.0.0.0'

config globals 'globals'
	option ula_prefix 'fd00:50::/48'

config interface 'lan'
	option device 'eth0'
	option proto 'static'
	option ipaddr '${ADDR.side}'
	option netmask '255.255.255.0'
	option gateway '${ADDR.mainLan}'
	list dns '${ADDR.mainLan}'
`;
    this.openwrt = await bootOpenWrt({
      netnsName: this.ns.side,
      files: { '/etc/config/network': network },
      // Tracked from its first moment: a test killed during the boot leaves no OpenWrt behind.
      onStarted: (pid) => this.resources.rigs.add({ pid, netnsName: this.ns.side }),
    });
  }

  /**
   * Waits until netifd has put the LAN address and the default route on eth0 and the firewall reload that
   * the lan ifup triggers (hotplug.d/iface/20-firewall) has run: it flushes table inet fw4, so proxy rules
   * added before it would vanish. fw4 takes a lock, so a reload of ours returns after that one.
   */
  private async waitOpenWrtLan(): Promise<void> {
    const deadline = Date.now() + 15_000;
    const ready = [
      'ip -4 addr show dev eth0',
      'ip -4 route show default',
      "logread | grep -q 'Reloading firewall due to ifup of lan' && echo fw-reloaded",
    ].join('; ');
    for (;;) {
      const r = await this.exec(this.ns.side, ['/bin/sh', '-c', ready]);
      const up = r.stdout.includes(`inet ${ADDR.side}/24`) && r.stdout.includes(`default via ${ADDR.mainLan}`);
      if (up && r.stdout.includes('fw-reloaded')) {
        await this.must(this.ns.side, ['fw4', '-q', 'reload'], 'fw4 reload');
        return;
      }
      if (Date.now() > deadline) throw new Error(`OpenWrt's netifd did not set up eth0: ${r.stdout}${r.stderr}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  private async buildSideRouter(): Promise<void> {
    const { side } = this.ns;
    if (this.openwrt) {
      await this.waitOpenWrtLan();
      // fw4 is up from boot; OpenWrt's sysctl defaults forward IPv4 and leave nf_conntrack_tcp_loose at 1.
      if (this.mode === 'none') return;
      await Promise.all([
        this.installProxyRules(),
        MODE_TRAITS[this.mode].redirectPort !== undefined ? this.startProxyListener() : Promise.resolve(),
      ]);
      return;
    }
    await this.ipBatch(side, [
      // OpenWrt's LAN is a bridge named br-lan; the proxy rules match on that name.
      'link add br-lan type bridge forward_delay 0',
      'link set eth0 master br-lan',
      'link set lo up',
      'link set eth0 up',
      'link set br-lan up',
      `addr add ${ADDR.side}/24 dev br-lan`,
      `route add default via ${ADDR.mainLan}`,
    ]);
    // nf_conntrack_tcp_loose stays at its default 1: the mid-stream pickup is the incident.
    await this.sysctl(side, { 'net.ipv4.ip_forward': '1', ...bridgeNetfilterOff() });
    if (this.ipv6) {
      // The side router is the LAN's gateway for IPv6 too; its own v6 default is the main router.
      await this.ipBatch(
        side,
        [`addr add ${ADDR6.side}/64 dev br-lan nodad`, `route add default via ${ADDR6.mainLan}`],
        6,
      );
      await this.sysctl(side, { 'net.ipv6.conf.all.forwarding': '1' });
    }
    if (this.mode === 'none') return;
    await Promise.all([
      this.installProxyRules(),
      MODE_TRAITS[this.mode].redirectPort !== undefined ? this.startProxyListener() : Promise.resolve(),
    ]);
  }

  private async buildServer(): Promise<void> {
    await this.ipBatch(this.ns.server, [
      `addr add ${ADDR.server}/24 dev eth0`,
      'link set lo up',
      'link set eth0 up',
      // The whole incident: the server's gateway is the side router, not the main router.
      `route add default via ${ADDR.side}`,
    ]);
    // The side router forwards replies back out of br-lan, so (at kernel
    // defaults, as on OpenWrt) it sends ICMP redirects. A server that obeys
    // them routes around the side router for 300 s after, e.g., one UDP
    // exchange, and later probes would pass or fail by test order. The side
    // router keeps its defaults; the server ignores redirects, as hardened hosts do.
    await this.sysctl(this.ns.server, {
      'net.ipv4.conf.all.accept_redirects': '0',
      'net.ipv4.conf.default.accept_redirects': '0',
      'net.ipv4.conf.eth0.accept_redirects': '0',
    });
    if (!this.ipv6) return;
    // The same for IPv6: the v6 default route via the side router, and no obeying its ICMPv6 redirects.
    await this.ipBatch(
      this.ns.server,
      [`addr add ${ADDR6.server}/64 dev eth0 nodad`, `route add default via ${ADDR6.side}`],
      6,
    );
    await this.sysctl(this.ns.server, {
      'net.ipv6.conf.all.accept_redirects': '0',
      'net.ipv6.conf.default.accept_redirects': '0',
      'net.ipv6.conf.eth0.accept_redirects': '0',
    });
  }

  private async installProxyRules(): Promise<void> {
    const routing = policyRouting(this.mode);
    if (routing.length > 0) await this.ipBatch(this.ns.side, routing);
    const routing6 = this.ipv6 ? policyRouting6(this.mode) : [];
    if (routing6.length > 0) await this.ipBatch(this.ns.side, routing6, 6);
    if (isIptablesMode(this.mode)) {
      await this.must(this.ns.side, ['iptables-restore', '-w'], 'proxy rules', this.iptablesRules());
      return;
    }
    await this.must(this.ns.side, ['nft', '-f', '-'], 'proxy rules', this.nftRules());
  }

  /** The mode's nft rules on this side router: its LAN device, and on OpenWrt added into the real fw4. */
  private nftRules(): string {
    const rules = nftRulesFor(this.mode, this.ipv6).replaceAll('"br-lan"', `"${this.lanDevice}"`);
    return this.bypassGatewayCompatible ? rules.replace(/\}\n$/, `${OPENCLASH_POST_NFT}\n}\n`) : rules;
  }

  /** The mode's iptables-restore input, with OpenClash's masquerade chain when bypassGatewayCompatible. */
  private iptablesRules(): string {
    const rules = iptablesProxyRules(this.mode);
    return this.bypassGatewayCompatible
      ? rules.replace(/COMMIT\n$/, `${OPENCLASH_POST_IPTABLES.join('\n')}\nCOMMIT\n`)
      : rules;
  }

  private async startProxyListener(): Promise<void> {
    const args = ['accept-close', String(this.forward.redirectPort), ...(this.ipv6 ? ['6'] : [])];
    await this.startService(this.ns.side, args, (line) => {
      if (line.startsWith('accept ')) this.accepts += 1;
    });
  }

  /** Starts a SERVICES_JS mode in ns and waits for its "ready" line; later lines go to onLine. */
  private startService(ns: string, args: string[], onLine?: (line: string) => void): Promise<ChildProcess> {
    // Host view (ip netns exec) even on the OpenWrt side router: the services are stand-ins run by the host's node.
    this.assertOwnNamespace(ns);
    const argv = ['ip', 'netns', 'exec', ns, process.execPath, this.servicesJs, ...args];
    const child = spawnTracked(this.resources, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    return new Promise((resolve, reject) => {
      let ready = false;
      const fail = (why: string) => {
        if (ready) return;
        clearTimeout(timer);
        reject(new Error(`service ${args[0]} in ${ns}: ${why}: ${stderr.trim()}`));
      };
      const timer = setTimeout(() => fail(`not ready after ${SERVICE_READY_TIMEOUT_MS} ms`), SERVICE_READY_TIMEOUT_MS);
      child.once('error', (err) => fail(err.message));
      child.once('exit', (code, signal) => fail(`exited (${code ?? signal})`));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (ready) {
          onLine?.(line);
        } else if (line === 'ready') {
          ready = true;
          clearTimeout(timer);
          resolve(child);
        }
      });
    });
  }

  // -------------------------------------------------------------------------
  // Helpers

  private v6(): LabAddr6 {
    if (!this.addr6) throw new Error(`lab ${this.id} has no IPv6 (createLab with ipv6: true)`);
    return this.addr6;
  }

  private assertOwnNamespace(ns: string): void {
    if (this.destroying) throw new Error(`lab ${this.id} is destroyed`);
    if (!Object.values(this.ns).includes(ns)) throw new Error(`${ns} is not a namespace of lab ${this.id}`);
  }

  /** exec that must succeed; returns stdout. */
  private async must(ns: string, argv: string[], what: string, input?: string): Promise<string> {
    const result = await this.exec(ns, argv, input === undefined ? {} : { input });
    if (result.code !== 0) throw failure(what, argv, result);
    return result.stdout;
  }

  /** family 6: `ip -6`, for commands whose family the arguments do not tell (rule, default dev …). */
  private async ipBatch(ns: string, commands: string[], family?: 6): Promise<void> {
    const argv = ['ip', '-n', ns, ...(family === 6 ? ['-6'] : []), '-batch', '-'];
    const result = await runTracked(this.resources, argv, { input: `${commands.join('\n')}\n` });
    if (result.code !== 0) throw failure(`ip batch in ${ns}`, argv, result);
  }

  private async sysctl(ns: string, settings: Record<string, string>): Promise<void> {
    const pairs = Object.entries(settings).map(([key, value]) => `${key}=${value}`);
    await this.must(ns, ['sysctl', '-q', '-w', ...pairs], 'sysctl');
  }

  private async curl(ns: string, url: string, extra: string[], timeoutMs = DEFAULT_PROBE_TIMEOUT_MS) {
    const seconds = (timeoutMs / 1000).toFixed(3);
    // --noproxy: never hand lab traffic to a proxy configured on the host.
    const argv = ['curl', '-sS', '--noproxy', '*', '--max-time', seconds, '-o', '/dev/null', '-w', '%{http_code}'];
    const result = await this.exec(ns, [...argv, ...extra, url], { timeoutMs: timeoutMs + 2000 });
    const status = result.stdout.trim();
    if (result.code === 0 && status === '200') return { ok: true, detail: 'HTTP 200' };
    const error = result.stderr.trim() || `curl exit ${result.code}`;
    return { ok: false, detail: status && status !== '000' ? `HTTP ${status}; ${error}` : error };
  }

  private async teardown(): Promise<void> {
    await this.openwrt?.stop();
    this.resources.rigs.clear();
    const children = [...this.resources.children];
    for (const child of children) killGroup(child, 'SIGTERM');
    await waitForExit(children, STOP_GRACE_MS);
    for (const child of children) killGroup(child, 'SIGKILL');
    await waitForExit(children, STOP_GRACE_MS);
    // Host-level commands: the lab's namespaces may already be half gone.
    await Promise.all(
      this.resources.namespaces.map((ns) =>
        runTracked(this.resources, ['ip', 'netns', 'del', ns], { timeoutMs: 5000 }),
      ),
    );
    if (this.resources.tmpDir) await rm(this.resources.tmpDir, { recursive: true, force: true });
    untrackLab(this.resources);
  }
}

/** br_netfilter would pass bridged frames through iptables and let the main router un-NAT what it only bridges. */
function bridgeNetfilterOff(): Record<string, string> {
  // The keys exist (in every namespace) only while br_netfilter is loaded.
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) return {};
  return { 'net.bridge.bridge-nf-call-iptables': '0', 'net.bridge.bridge-nf-call-ip6tables': '0' };
}

/** OpenClash's fw3 TCP redirect, with plain RETURN rules where OpenClash uses the localnetwork ipset. */
function isIptablesMode(mode: ProxyMode): boolean {
  return (
    mode === 'iptables-redirect' ||
    mode === 'openclash-fw3' ||
    mode === 'openclash-fw3-tun' ||
    mode === 'openclash-fw3-mix' ||
    mode === 'passwall-fw3-tproxy' ||
    mode === 'passwall2-fw3-tproxy' ||
    mode === 'shellcrash-fw3' ||
    mode === 'shellclash-allports'
  );
}

/**
 * juewuy/ShellCrash scripts/starts/fw_iptables.sh (test/golden/rulesets/shellcrash-iptables), Redir mode for the
 * LAN with common ports off: every TCP packet from the LAN enters the chain, whose REDIRECT takes LAN sources.
 */
function shellcrashIptablesRules(): string {
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':shellcrash - [0:0]',
    '-A shellcrash -p tcp --dport 53 -j RETURN',
    '-A shellcrash -p udp --dport 53 -j RETURN',
    '-A shellcrash -m mark --mark 0x1e96 -j RETURN',
    `-A shellcrash -p tcp -m multiport --dports 7890,${FORWARD.redirectPort},7893 -j RETURN`,
    ...[ADDR.lanSubnet, ...LOCAL_NETWORKS].map((net) => `-A shellcrash -d ${net} -j RETURN`),
    `-A shellcrash -s ${ADDR.lanSubnet} -p tcp -j REDIRECT --to-ports ${FORWARD.redirectPort}`,
    '-A PREROUTING -p tcp -j shellcrash',
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * ShellClash, ShellCrash before its rename (test/golden/rulesets/shellclash-iptables-allports: scripts/start.sh at
 * juewuy/ShellCrash@cd801e12), Redir模式 with common_ports 未开启 and an empty MAC list: start_dns, then start_redir.
 * The LAN address 192.168.50.2 makes gethost's $lanhost `-s 192.0.0.0/8`, so the jump takes every TCP packet from
 * the LAN, and the REDIRECT (no $ports) takes it after the reserved-range returns (which leave out 100.64.0.0/10).
 */
function shellclashIptablesRules(): string {
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':clash - [0:0]',
    ':clash_dns - [0:0]',
    '-A PREROUTING -d 8.8.4.4/32 -p tcp -j clash',
    '-A PREROUTING -d 8.8.8.8/32 -p tcp -j clash',
    '-A PREROUTING -p udp -j clash_dns',
    '-A PREROUTING -s 192.0.0.0/8 -p tcp -j clash',
    ...LOCAL_NETWORKS.filter((net) => net !== '100.64.0.0/10').map((net) => `-A clash -d ${net} -j RETURN`),
    `-A clash -p tcp -j REDIRECT --to-ports ${FORWARD.redirectPort}`,
    '-A clash_dns -p udp -m udp --dport 53 -j REDIRECT --to-ports 1053',
    '-A clash_dns -p tcp -m tcp --dport 53 -j REDIRECT --to-ports 1053',
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * OpenClash fw3 in fake-ip-tun (test/golden/rulesets/openclash-fw3-tun, init.d/openclash 2706-2754): no nat chains;
 * mangle openclash marks TCP and UDP from every interface but utun for the TUN route. The localnetwork ipset as
 * the lab's plain RETURN rules, and the access-list sets OpenClash makes only for non-empty lists left out.
 */
function openclashFw3TunRules(): string {
  return [
    '*mangle',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':openclash - [0:0]',
    ':openclash_upnp - [0:0]',
    '-A openclash -i utun -j RETURN',
    ...LOCAL_NETWORKS.map((net) => `-A openclash -d ${net} -j RETURN`),
    '-A openclash -m conntrack --ctdir REPLY -j RETURN',
    `-A openclash -d 198.18.0.0/16 -j MARK --set-xmark ${OPENCLASH_MARK}/0xffffffff`,
    '-A openclash -p udp -j openclash_upnp',
    `-A openclash -j MARK --set-xmark ${OPENCLASH_MARK}/0xffffffff`,
    '-A PREROUTING -j openclash',
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * OpenClash fw3 in fake-ip-mix (test/golden/rulesets/openclash-fw3-mix): the nat chain of fake-ip for TCP
 * (init.d/openclash 2513-2539) and mangle openclash (2712-2754, en_mode_tun 2) marking UDP for utun; the
 * localnetwork ipset as plain RETURN rules, the access-list sets left out.
 */
function openclashFw3MixRules(): string {
  return [
    '*mangle',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':openclash - [0:0]',
    ':openclash_upnp - [0:0]',
    '-A openclash -i utun -j RETURN',
    ...LOCAL_NETWORKS.map((net) => `-A openclash -d ${net} -j RETURN`),
    '-A openclash -m conntrack --ctdir REPLY -j RETURN',
    `-A openclash -d 198.18.0.0/16 -p udp -j MARK --set-xmark ${OPENCLASH_MARK}/0xffffffff`,
    '-A openclash -p udp -j openclash_upnp',
    `-A openclash -p icmp -m icmp --icmp-type 8 -m comment --comment "OpenClash ICMP Mark" -j MARK --set-xmark ${OPENCLASH_MARK}/0xffffffff`,
    `-A openclash -p udp -j MARK --set-xmark ${OPENCLASH_MARK}/0xffffffff`,
    '-A PREROUTING -j openclash',
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':openclash - [0:0]',
    ...LOCAL_NETWORKS.map((net) => `-A openclash -d ${net} -j RETURN`),
    '-A openclash -m conntrack --ctdir REPLY -j RETURN',
    `-A openclash -d 198.18.0.0/16 -p tcp -j REDIRECT --to-ports ${FORWARD.redirectPort}`,
    `-A openclash -p tcp -j REDIRECT --to-ports ${FORWARD.redirectPort}`,
    '-A PREROUTING -p tcp -j openclash',
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * Passwall (1) on fw3 with tcp_proxy_way tproxy (test/golden/rulesets/passwall-fw3-tproxy, iptables.sh), tcp_redir_ports
 * = all: mangle PSW sends TCP and UDP through PSW_RULE (1031-1036: only a bare SYN and a new UDP entry are marked) to
 * the TPROXY of what is marked (705, 739), then returns. The LAN set as plain RETURN rules, the lists left out.
 */
function passwallFw3TproxyRules(): string {
  const comment = '-m comment --comment "\'默认\'"';
  const tproxy = `-m mark --mark 0x1 -j TPROXY --on-port ${PASSWALL_TPROXY_PORT} --on-ip 0.0.0.0 --tproxy-mark 0x1/0x1`;
  return [
    '*mangle',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':PSW - [0:0]',
    ':PSW_RULE - [0:0]',
    ...LOCAL_NETWORKS.map((net) => `-A PSW -d ${net} -j RETURN`),
    `-A PSW -p tcp ${comment} -j PSW_RULE`,
    `-A PSW -p tcp ${comment} ${tproxy}`,
    `-A PSW -p tcp ${comment} -j RETURN`,
    `-A PSW -p udp ${comment} -j PSW_RULE`,
    `-A PSW -p udp ${comment} ${tproxy}`,
    `-A PSW -p udp ${comment} -j RETURN`,
    '-A PSW_RULE -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff',
    '-A PSW_RULE -m mark --mark 0x1 -j RETURN',
    '-A PSW_RULE -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j MARK --set-xmark 0x1/0xffffffff',
    '-A PSW_RULE -p udp -m conntrack --ctstate NEW -j MARK --set-xmark 0x1/0xffffffff',
    '-A PSW_RULE -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff',
    '-A PREROUTING -i br-lan -j PSW',
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * Passwall2 on fw3 with tcp_proxy_way tproxy (test/golden/rulesets/passwall2-fw3-tproxy, Openwrt-Passwall/openwrt-passwall2
 * 7d7dd9b6 iptables.sh), tcp_redir_ports and udp_redir_ports 1:65535 (the defaults): mangle PSW2, jumped from PREROUTING
 * (794), returns the LAN (779, the set as plain RETURN rules) and `--ctdir REPLY` (781), then the default ACL sends TCP
 * and UDP through PSW2_RULE (575, 577, 593, 595) to the TPROXY of what is marked (578, 596); PSW2_RULE (772-776) marks an
 * exact SYN (`--syn`, saved as `--tcp-flags FIN,SYN,RST,ACK SYN`) and a new or related UDP entry. Left out: the [Local]
 * rules (-i lo, output hooks), the router's own traffic; the WAN_IP_RETURN set holds only the side's own address.
 */
function passwall2Fw3TproxyRules(): string {
  const comment = '-m comment --comment "\'Default\'"';
  const tproxy = `-m mark --mark 0x1 -j TPROXY --on-port ${PASSWALL2_PORT} --on-ip 0.0.0.0 --tproxy-mark 0x1/0x1`;
  return [
    '*mangle',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':PSW2 - [0:0]',
    ':PSW2_RULE - [0:0]',
    ...LOCAL_NETWORKS.map((net) => `-A PSW2 -d ${net} -j RETURN`),
    '-A PSW2 -m conntrack --ctdir REPLY -j RETURN',
    '-A PSW2 -p udp -m udp --dport 53 -j RETURN',
    `-A PSW2 -d 198.18.0.0/16 -p tcp ${comment} -j PSW2_RULE`,
    '-A PSW2 -p tcp -m comment --comment Default -j PSW2_RULE',
    `-A PSW2 -p tcp ${comment} ${tproxy}`,
    `-A PSW2 -d 198.18.0.0/16 -p udp ${comment} -j PSW2_RULE`,
    '-A PSW2 -p udp -m comment --comment Default -j PSW2_RULE',
    `-A PSW2 -p udp ${comment} ${tproxy}`,
    '-A PSW2_RULE -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff',
    '-A PSW2_RULE -m mark --mark 0x1 -j RETURN',
    '-A PSW2_RULE -p tcp -m tcp --syn -j MARK --set-xmark 0x1/0xffffffff',
    '-A PSW2_RULE -p udp -m conntrack --ctstate NEW,RELATED -j MARK --set-xmark 0x1/0xffffffff',
    '-A PSW2_RULE -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff',
    '-A PREROUTING -j PSW2',
    'COMMIT',
    '',
  ].join('\n');
}

function iptablesProxyRules(mode: ProxyMode): string {
  if (mode === 'shellcrash-fw3') return shellcrashIptablesRules();
  if (mode === 'shellclash-allports') return shellclashIptablesRules();
  if (mode === 'openclash-fw3-tun') return openclashFw3TunRules();
  if (mode === 'openclash-fw3-mix') return openclashFw3MixRules();
  if (mode === 'passwall-fw3-tproxy') return passwallFw3TproxyRules();
  if (mode === 'passwall2-fw3-tproxy') return passwall2Fw3TproxyRules();
  // openclash-fw3 adds OpenClash's fw3 UDP TPROXY (mangle), as in redir-host / fake-ip mode.
  const mangle =
    mode !== 'openclash-fw3'
      ? []
      : [
          '*mangle',
          ':PREROUTING ACCEPT [0:0]',
          ':INPUT ACCEPT [0:0]',
          ':FORWARD ACCEPT [0:0]',
          ':OUTPUT ACCEPT [0:0]',
          ':POSTROUTING ACCEPT [0:0]',
          ':openclash - [0:0]',
          ...LOCAL_NETWORKS.map((net) => `-A openclash -d ${net} -j RETURN`),
          '-A openclash -m conntrack --ctdir REPLY -j RETURN',
          `-A openclash -p udp -j TPROXY --on-port ${OPENCLASH_TPROXY_PORT} --on-ip 127.0.0.1 --tproxy-mark ${OPENCLASH_MARK}`,
          '-A PREROUTING -i br-lan -p udp -j openclash',
          'COMMIT',
        ];
  return [
    ...mangle,
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':openclash - [0:0]',
    ...LOCAL_NETWORKS.map((net) => `-A openclash -d ${net} -j RETURN`),
    '-A openclash -m conntrack --ctdir REPLY -j RETURN',
    `-A openclash -p tcp -j REDIRECT --to-ports ${FORWARD.redirectPort}`,
    '-A PREROUTING -i br-lan -p tcp -j openclash',
    'COMMIT',
    '',
  ].join('\n');
}

/** OpenClash's fwmark and route table (0x162 = 354), and the TPROXY port. */
const OPENCLASH_MARK = '0x162';
const OPENCLASH_TABLE = 354;
const OPENCLASH_TPROXY_PORT = 7895;
/** Passwall2: fwmark 1, table 100, one port for TCP and UDP. */
const PASSWALL2_PORT = 1041;
/** homeproxy: tproxy_port (root/etc/config/homeproxy) and its TPROXY mark 101 → table 100 (init.d/homeproxy). */
const HOMEPROXY_TPROXY_PORT = 5332;
const HOMEPROXY_MARK = '0x65';
/** Passwall (1): UDP TPROXY port (TCP goes to its redirect port, MODE_TRAITS.passwall.redirectPort). */
const PASSWALL_UDP_PORT = 1051;
/** Passwall (1) with tcp_proxy_way tproxy: TCP_REDIR_PORT 1041 (app.sh), UDP on it too (a TCP node with UDP, TCP_UDP). */
const PASSWALL_TPROXY_PORT = 1041;
/** nikki: tun mark 0x81/0xff, table 81, device "nikki"; TPROXY mark 0x80/0xff, table 80, port 7892. */
const NIKKI_TUN_MARK = '0x81';
const NIKKI_TPROXY_MARK = '0x80';
const NIKKI_TPROXY_PORT = 7892;
/** ShellCrash: fwmark = redir port 7892 → table 100, TPROXY port 7893 (scripts/libs/get_config.sh). */
const SHELLCRASH_MARK = 7892;
const SHELLCRASH_TPROXY_PORT = 7893;

const LOCALNETWORK_SET = (name: string) => `  set ${name} {
    type ipv4_addr
    flags interval
    elements = { ${LOCAL_NETWORKS.join(', ')} }
  }`;

const LOCALNETWORK6_SET = `  set localnetwork6 {
    type ipv6_addr
    flags interval
    elements = { ${LOCAL_NETWORKS6.join(', ')} }
  }`;

/**
 * OpenClash's IPv6 chains (ipv6_enable=1): chains of their own, `openclash_v6` (nat)
 * and `openclash_mangle_v6`, jumped for `meta nfproto ipv6` beside the IPv4 jump. Redirect (ipv6_mode 1,
 * TCP), TProxy (ipv6_mode 0, with UDP) or TUN (ipv6_mode 2). Only with LabOptions.ipv6 (else the mode's
 * rules are exactly the IPv4 ones). `after`: the IPv4 jump the IPv6 one goes after.
 */
function ipv6ProxyRules(mode: ProxyMode): { set: string; after: RegExp; jump: string; chain: string } | null {
  switch (mode) {
    case 'nft-redirect':
      return {
        set: LOCALNETWORK6_SET,
        after: /meta nfproto ipv4 .*jump openclash$/,
        jump: '    iifname "br-lan" meta nfproto ipv6 meta l4proto tcp counter jump openclash_v6',
        chain: `  chain openclash_v6 {
    ip6 daddr @localnetwork6 counter return
    ct direction reply counter return
    meta l4proto tcp counter redirect to :${FORWARD.redirectPort}
  }`,
      };
    case 'nft-tproxy':
      return {
        set: LOCALNETWORK6_SET,
        after: /meta nfproto ipv4 .*jump openclash_mangle$/,
        jump: '    iifname "br-lan" meta nfproto ipv6 meta l4proto { tcp, udp } counter jump openclash_mangle_v6',
        chain: `  chain openclash_mangle_v6 {
    ip6 daddr @localnetwork6 counter return
    ct direction reply counter return
    meta l4proto { tcp, udp } mark set ${OPENCLASH_MARK} tproxy ip6 to :${OPENCLASH_TPROXY_PORT} counter accept
  }`,
      };
    case 'tun':
      return {
        set: LOCALNETWORK6_SET,
        after: /meta nfproto ipv4 .*jump openclash_mangle$/,
        jump: '    iifname "br-lan" meta nfproto ipv6 counter jump openclash_mangle_v6',
        chain: `  chain openclash_mangle_v6 {
    meta l4proto { tcp, udp } iifname "utun" counter return
    ip6 daddr @localnetwork6 counter return
    ct direction reply counter return
    mark set ${OPENCLASH_MARK} counter
  }`,
      };
    default:
      return null;
  }
}

/** The v4 rules of a mode with its IPv6 set, jump (after the v4 jump) and chain. */
function withIpv6(rules: string, mode: ProxyMode): string {
  const v6 = ipv6ProxyRules(mode);
  if (!v6) return rules;
  const lines = rules.split('\n');
  const jumpAt = lines.findIndex((l) => v6.after.test(l));
  const setEnd = lines.findIndex((l, i) => i > 0 && l === '  }');
  if (jumpAt < 0 || setEnd < 0 || lines[lines.length - 2] !== '}') throw new Error(`no place for v6 rules in ${mode}`);
  lines.splice(lines.length - 2, 0, v6.chain);
  lines.splice(jumpAt + 1, 0, v6.jump);
  lines.splice(setEnd + 1, 0, v6.set);
  return lines.join('\n');
}

/**
 * OpenClash's bypass_gateway_compatible=1 on fw4 (test/golden/rulesets/openclash-fw4-bypass-gateway-compatible):
 * set_firewall in init.d/openclash adds openclash_post and jumps to it from fw4's srcnat. The lab's fw4
 * stand-in has no srcnat of its own, so the chain is declared with the hook fw4 gives it.
 */
const OPENCLASH_POST_NFT = `  chain srcnat {
    type nat hook postrouting priority srcnat; policy accept;
    meta nfproto ipv4 counter jump openclash_post comment "OpenClash Bypass Gateway Compatible"
  }
  chain openclash_post {
    meta skgid 65534 counter return
    meta mark ${OPENCLASH_MARK} counter accept
    ip daddr @localnetwork counter return
    ct direction reply counter return
    fib saddr type != { local } counter masquerade
  }`;

/**
 * The same on fw3 (nat table), with the owner module present (init.d/openclash: iptables_compat set, so the
 * owner match is `--gid-owner 65534` and the local-source test `addrtype`); the localnetwork ipset as the
 * lab's plain RETURN rules, as in the mode's other chains.
 */
const OPENCLASH_POST_IPTABLES = [
  ':openclash_post - [0:0]',
  '-A openclash_post -m owner --gid-owner 65534 -j RETURN',
  `-A openclash_post -m mark --mark ${OPENCLASH_MARK} -j ACCEPT`,
  ...LOCAL_NETWORKS.map((net) => `-A openclash_post -d ${net} -j RETURN`),
  '-A openclash_post -m conntrack --ctdir REPLY -j RETURN',
  '-A openclash_post -m addrtype ! --src-type LOCAL -j MASQUERADE',
  '-A POSTROUTING -m comment --comment "OpenClash Bypass Gateway Compatible" -j openclash_post',
];

/** OpenClash's fw4 TCP redirect chain (fake-ip and redir-host modes). */
const OPENCLASH_NAT = `  chain dstnat {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "br-lan" meta nfproto ipv4 ip protocol tcp counter jump openclash
  }
  chain openclash {
    ip daddr @localnetwork counter return
    ct direction reply counter return
    ip protocol tcp ip daddr { 198.18.0.0/16 } counter redirect to :${FORWARD.redirectPort}
    ip protocol tcp counter redirect to :${FORWARD.redirectPort}
  }`;

/**
 * The proxy rules of one nft mode, as the proxy's generator emits them,
 * reduced to what matters here. TPROXY rules find no transparent socket on their port in the lab
 * (nothing listens there), so the marked packets are delivered to the local stack and die there —
 * what a user sees is the same: the replies never leave. TUN devices have no reader: packets routed
 * into them vanish.
 */
function nftRulesFor(mode: ProxyMode, ipv6 = false): string {
  if (ipv6 && mode === 'nikki') return nikkiWithIpv6(nftRulesFor4(mode));
  return ipv6 ? withIpv6(nftRulesFor4(mode), mode) : nftRulesFor4(mode);
}

/**
 * nikki with IPv6 on (proxy_nfproto = { ipv4, ipv6 }): the same chains take both families, with its
 * reserved_ip6 set (hijack.ut) returned early as reserved_ip is.
 */
function nikkiWithIpv6(rules: string): string {
  const reserved6 = `  set reserved_ip6 {
    type ipv6_addr
    flags interval
    elements = { ::/128, ::1/128, ::ffff:0:0/96, 100::/64, 64:ff9b::/96, 2001::/32, 2001:10::/28, 2001:20::/28, 2001:db8::/32, 2002::/16, fc00::/7, fe80::/10, ff00::/8 }
  }`;
  const out = rules
    .replaceAll('meta nfproto ipv4 meta l4proto', 'meta nfproto { ipv4, ipv6 } meta l4proto')
    .replaceAll(
      '    ip daddr @reserved_ip counter return\n',
      '    ip daddr @reserved_ip counter return\n    ip6 daddr @reserved_ip6 counter return\n',
    )
    .replace('table inet nikki {\n', `table inet nikki {\n${reserved6}\n`);
  if (out === rules) throw new Error('nikki rules changed shape: no place for IPv6');
  return out;
}

function nftRulesFor4(mode: ProxyMode): string {
  switch (mode) {
    case 'nft-redirect':
      return `table inet fw4 {
${LOCALNETWORK_SET('localnetwork')}
  chain dstnat {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "br-lan" meta nfproto ipv4 ip protocol tcp counter jump openclash
  }
  chain openclash {
    ip daddr @localnetwork counter return
    ct direction reply counter return
    ip protocol tcp counter redirect to :${FORWARD.redirectPort}
  }
}
`;
    case 'nft-tproxy':
      return `table inet fw4 {
${LOCALNETWORK_SET('localnetwork')}
  chain mangle_prerouting {
    type filter hook prerouting priority mangle; policy accept;
    iifname "br-lan" meta nfproto ipv4 meta l4proto { tcp, udp } counter jump openclash_mangle
  }
  chain openclash_mangle {
    ip daddr @localnetwork counter return
    ct direction reply counter return
    meta l4proto { tcp, udp } mark set ${OPENCLASH_MARK} tproxy ip to 127.0.0.1:${OPENCLASH_TPROXY_PORT} counter accept
  }
}
`;
    case 'tun':
      return `table inet fw4 {
${LOCALNETWORK_SET('localnetwork')}
  chain mangle_prerouting {
    type filter hook prerouting priority mangle; policy accept;
    iifname "br-lan" meta nfproto ipv4 counter jump openclash_mangle
  }
  chain openclash_mangle {
    meta l4proto { tcp, udp } iifname "utun" counter return
    ip daddr @localnetwork counter return
    ct direction reply counter return
    meta l4proto { tcp, udp } ip daddr { 198.18.0.0/16 } mark set ${OPENCLASH_MARK} counter
    mark set ${OPENCLASH_MARK} counter
  }
}
`;
    case 'openclash-fw4-fakeip':
      return `table inet fw4 {
${LOCALNETWORK_SET('localnetwork')}
${OPENCLASH_NAT}
  chain mangle_prerouting {
    type filter hook prerouting priority mangle; policy accept;
    iifname "br-lan" meta nfproto ipv4 ip protocol udp counter jump openclash_mangle
  }
  chain openclash_upnp {
  }
  chain openclash_mangle {
    ip daddr @localnetwork counter return
    ct direction reply counter return
    ip protocol udp counter jump openclash_upnp
    meta l4proto { udp } mark set ${OPENCLASH_MARK} tproxy ip to 127.0.0.1:${OPENCLASH_TPROXY_PORT} counter accept
  }
}
`;
    // 0.46.068 (test/golden/rulesets/openclash-fw4-0.46-fakeip): no `ct direction reply` return; the UDP chain
    // returns loopback and DNS first.
    case 'openclash-fw4-0.46-fakeip':
      return `table inet fw4 {
${LOCALNETWORK_SET('localnetwork')}
  chain dstnat {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "br-lan" meta nfproto ipv4 ip protocol tcp counter jump openclash
  }
  chain openclash {
    ip daddr @localnetwork counter return
    ip protocol tcp ip daddr { 198.18.0.0/16 } counter redirect to :${FORWARD.redirectPort}
    ip protocol tcp counter redirect to :${FORWARD.redirectPort}
  }
  chain mangle_prerouting {
    type filter hook prerouting priority mangle; policy accept;
    iifname "br-lan" meta nfproto ipv4 ip protocol udp counter jump openclash_mangle
  }
  chain openclash_upnp {
  }
  chain openclash_mangle {
    meta l4proto { udp } iifname "lo" counter return
    ip daddr @localnetwork counter return
    udp dport 53 counter return
    meta l4proto { udp } ip daddr { 198.18.0.0/16 } mark set ${OPENCLASH_MARK} tproxy ip to 127.0.0.1:${OPENCLASH_TPROXY_PORT} counter accept
    ip protocol udp counter jump openclash_upnp
    meta l4proto { udp } mark set ${OPENCLASH_MARK} tproxy ip to 127.0.0.1:${OPENCLASH_TPROXY_PORT} counter accept
  }
}
`;
    case 'passwall2-tproxy':
      return `table inet passwall2 {
${LOCALNETWORK_SET('passwall2_lan')}
  chain mangle_prerouting {
    type filter hook prerouting priority mangle - 1; policy accept;
    meta nfproto ipv4 counter jump PSW2_MANGLE
  }
  chain PSW2_RULE {
    meta mark set ct mark counter
    meta mark 1 counter return
    tcp flags syn meta mark set mark and 0x0 xor 0x1 counter
    meta l4proto udp ct state new meta mark set mark and 0x0 xor 0x1 counter
    ct mark set mark counter
  }
  chain PSW2_MANGLE {
    ip daddr @passwall2_lan counter return
    iifname "br-lan" ip protocol tcp counter jump PSW2_RULE
    iifname "br-lan" ip protocol tcp meta mark 1 counter tproxy ip to :${PASSWALL2_PORT}
    iifname "br-lan" ip protocol udp counter jump PSW2_RULE
    iifname "br-lan" ip protocol udp meta mark 1 counter tproxy ip to :${PASSWALL2_PORT}
  }
}
`;
    case 'passwall':
      // xiaorouji/openwrt-passwall nftables.sh (test/golden/rulesets/passwall-nft), sets trimmed to the LAN one.
      return `table inet passwall {
${LOCALNETWORK_SET('passwall_lan')}
  chain dstnat {
    type nat hook prerouting priority dstnat - 1; policy accept;
    iifname "br-lan" ip protocol tcp counter jump PSW_NAT
  }
  chain mangle_prerouting {
    type filter hook prerouting priority mangle - 1; policy accept;
    iifname "br-lan" counter jump PSW_MANGLE
  }
${PASSWALL_RULE_CHAIN}
  chain PSW_MANGLE {
    meta mark 0xff counter return
    ip daddr @passwall_lan counter return
    ip protocol udp counter jump PSW_RULE
    ip protocol udp counter meta mark 1 tproxy ip to :${PASSWALL_UDP_PORT}
  }
  chain PSW_NAT {
    ip daddr @passwall_lan counter return
    ip protocol tcp counter redirect to :${MODE_TRAITS.passwall.redirectPort}
  }
}
`;
    case 'passwall-tproxy':
      // Openwrt-Passwall/openwrt-passwall nftables.sh with tcp_proxy_way tproxy (test/golden/rulesets/passwall-nft-tproxy),
      // tcp_redir_ports = all: TCP jumped into PSW_MANGLE too (1077), through PSW_RULE (only a bare SYN is marked) to
      // the TPROXY of what is marked (740, 773); sets trimmed to the LAN one.
      return `table inet passwall {
${LOCALNETWORK_SET('passwall_lan')}
  chain mangle_prerouting {
    type filter hook prerouting priority mangle - 1; policy accept;
    iifname "br-lan" ip protocol udp counter jump PSW_MANGLE
    iifname "br-lan" ip protocol tcp counter jump PSW_MANGLE
  }
${PASSWALL_RULE_CHAIN}
  chain PSW_MANGLE {
    ip daddr @passwall_lan counter return
    ip protocol tcp counter jump PSW_RULE comment "默认"
    ip protocol tcp counter meta mark 1 tproxy ip to :${PASSWALL_TPROXY_PORT} comment "默认"
    ip protocol tcp counter return comment "默认"
    ip protocol udp counter jump PSW_RULE comment "默认"
    ip protocol udp counter meta mark 1 tproxy ip to :${PASSWALL_TPROXY_PORT} comment "默认"
    ip protocol udp counter return comment "默认"
  }
}
`;
    case 'passwall2-redirect':
      // Openwrt-Passwall/openwrt-passwall2 nftables.sh (test/golden/rulesets/passwall2-nft-redirect), sets trimmed
      // to the LAN one.
      return `table inet passwall2 {
${LOCALNETWORK_SET('passwall2_lan')}
  chain dstnat {
    type nat hook prerouting priority dstnat - 1; policy accept;
    ip protocol tcp counter jump PSW2_NAT
  }
  chain mangle_prerouting {
    type filter hook prerouting priority mangle - 1; policy accept;
    ip protocol udp counter jump PSW2_MANGLE
  }
  chain PSW2_RULE {
    meta mark set ct mark counter
    meta mark 1 counter return
    tcp flags syn meta mark set mark and 0x0 xor 0x1 counter
    meta l4proto udp ct state new,related meta mark set mark and 0x0 xor 0x1 counter
    ct mark set mark counter
  }
  chain PSW2_MANGLE {
    ip daddr @passwall2_lan counter return
    ct direction reply counter return
    ip protocol udp counter jump PSW2_RULE comment "Default"
    ip protocol udp counter meta mark 1 tproxy ip to :${PASSWALL2_PORT} comment "Default"
  }
  chain PSW2_NAT {
    ip daddr @passwall2_lan counter return
    ip protocol tcp counter redirect to :${PASSWALL2_PORT} comment "Default"
  }
}
`;
    case 'homeproxy':
      // immortalwrt/homeproxy firewall_post.ut (test/golden/rulesets/homeproxy) with routing_port unset, no
      // China or WAN lists; the local set is the lab's reserved ranges without the documentation ranges that
      // homeproxy also lists (the lab's outside client is one), the QUIC reject left out.
      return `table inet fw4 {
${LOCALNETWORK_SET('homeproxy_local_addr_v4')}
  chain dstnat {
    type nat hook prerouting priority dstnat; policy accept;
    meta nfproto { ipv4 } meta l4proto tcp jump homeproxy_redirect_lanac
  }
  chain mangle_prerouting {
    type filter hook prerouting priority mangle; policy accept;
    meta nfproto { ipv4 } meta l4proto udp jump homeproxy_mangle_lanac
  }
  chain homeproxy_redirect_proxy {
    meta l4proto tcp counter redirect to :${MODE_TRAITS.homeproxy.redirectPort}
  }
  chain homeproxy_redirect_proxy_port {
    goto homeproxy_redirect_proxy
  }
  chain homeproxy_redirect_lanac {
    meta mark 100 counter return
    counter goto homeproxy_redirect
  }
  chain homeproxy_redirect {
    meta mark 100 counter return
    ip daddr @homeproxy_local_addr_v4 counter return
    counter goto homeproxy_redirect_proxy_port
  }
  chain homeproxy_mangle_tproxy {
    meta l4proto udp meta mark set ${HOMEPROXY_MARK} tproxy ip to 127.0.0.1:${HOMEPROXY_TPROXY_PORT} counter accept
  }
  chain homeproxy_mangle_tproxy_port {
    goto homeproxy_mangle_tproxy
  }
  chain homeproxy_mangle_lanac {
    iifname != "lo" udp dport 53 counter return
    meta mark 100 counter return
    counter goto homeproxy_mangle_prerouting
  }
  chain homeproxy_mangle_prerouting {
    ip daddr @homeproxy_local_addr_v4 counter return
    counter goto homeproxy_mangle_tproxy_port
  }
}
`;
    case 'shellcrash':
      // juewuy/ShellCrash fw_nftables.sh (test/golden/rulesets/shellcrash-nft) without the common-ports returns.
      return `table inet shellcrash {
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    tcp dport 53 return
    udp dport 53 return
    meta mark 7894 return
    meta skgid 7890 return
    ip daddr { ${LOCAL_NETWORKS.join(', ')} } return
    ip saddr != { 192.168.50.0/24 } return
    meta nfproto ipv6 return
    meta l4proto tcp redirect to :${MODE_TRAITS.shellcrash.redirectPort}
  }
}
`;
    case 'shellcrash-tproxy':
      // juewuy/ShellCrash fw_nftables.sh (test/golden/rulesets/shellcrash-nft-tproxy-allports): Tproxy mode with
      // common ports off, the prerouting chain without its DNS and input companions.
      return `table inet shellcrash {
  chain prerouting {
    type filter hook prerouting priority -150; policy accept;
    tcp dport 53 return
    udp dport 53 return
    meta mark 7894 return
    meta skgid 7890 return
    tcp dport { 7890, 7892, 7893 } return
    ip daddr { ${LOCAL_NETWORKS.join(', ')} } return
    ip saddr != { 192.168.50.0/24 } return
    meta nfproto ipv6 return
    meta l4proto { tcp, udp } mark set ${SHELLCRASH_MARK} tproxy to :${SHELLCRASH_TPROXY_PORT}
  }
}
`;
    case 'nikki-tun':
    case 'nikki-redirect-tproxy':
      return nikkiHijackRules(mode === 'nikki-tun' ? 'tun' : 'tproxy');
    case 'nikki':
      return `table inet nikki {
${LOCALNETWORK_SET('reserved_ip')}
  chain dstnat {
    type nat hook prerouting priority dstnat + 1; policy accept;
    iifname "br-lan" meta nfproto ipv4 meta l4proto tcp counter jump lan_redirect
  }
  chain lan_redirect {
    fib daddr type { local, broadcast, anycast, multicast } counter return
    ct direction reply counter return
    ip daddr @reserved_ip counter return
    meta l4proto tcp counter redirect to :${MODE_TRAITS.nikki.redirectPort}
  }
  chain mangle_prerouting_lan {
    type filter hook prerouting priority mangle; policy accept;
    iifname "br-lan" meta nfproto ipv4 meta l4proto udp counter jump lan_tun
  }
  chain lan_tun {
    fib daddr type { local, broadcast, anycast, multicast } counter return
    ct direction reply counter return
    ip daddr @reserved_ip counter return
    meta l4proto udp meta mark set meta mark & 0xffffff00 | ${NIKKI_TUN_MARK} counter accept
  }
}
`;
    default:
      throw new Error(`no nft rules for mode ${mode}`);
  }
}

/**
 * nikki's hijack.ut (test/golden/rulesets/nikki-tun, nikki-redirect-tproxy) for tcp_mode and udp_mode tun, or
 * tcp_mode redirect with udp_mode tproxy, IPv4 only and without the DNS hijack: the bypass returns (with the port
 * list proxy_dport at its default 0-65535) in dstnat before the jump to lan_redirect and in mangle_prerouting_lan
 * before the l4proto vmap, as hijack.ut writes them.
 */
function nikkiHijackRules(udp: 'tun' | 'tproxy'): string {
  const bypass = [
    'fib daddr type { local, broadcast, anycast, multicast } counter return',
    'ct direction reply counter return',
    'ip daddr @reserved_ip ip daddr != 198.18.0.1/16 counter return',
    'meta nfproto ipv4 meta l4proto . th dport != @proxy_dport ip daddr != 198.18.0.1/16 counter return',
  ].map((r) => `    ${r}`);
  const redirect = udp === 'tproxy';
  const vmap = redirect ? '{ tcp : continue, udp : jump lan_tproxy }' : '{ tcp : jump lan_tun, udp : jump lan_tun }';
  const take = redirect
    ? `meta mark set meta mark & 0xffffff00 | ${NIKKI_TPROXY_MARK} tproxy ip to :${NIKKI_TPROXY_PORT} counter accept`
    : `meta mark set meta mark & 0xffffff00 | ${NIKKI_TUN_MARK} counter accept`;
  const nat = redirect
    ? `  chain dstnat {
    type nat hook prerouting priority dstnat + 1; policy accept;
${bypass.join('\n')}
    iifname "br-lan" jump lan_redirect
  }
  chain lan_redirect {
    meta nfproto ipv4 meta l4proto tcp counter redirect to :${MODE_TRAITS.nikki.redirectPort}
  }
`
    : '';
  return `table inet nikki {
${LOCALNETWORK_SET('reserved_ip')}
  set proxy_dport {
    type inet_proto . inet_service
    flags interval
    auto-merge
    elements = { tcp . 0-65535, udp . 0-65535 }
  }
${nat}  chain mangle_prerouting_lan {
    type filter hook prerouting priority mangle; policy accept;
${bypass.join('\n')}
    iifname "br-lan" meta l4proto vmap ${vmap}
  }
  chain lan_${redirect ? 'tproxy' : 'tun'} {
    meta nfproto ipv4 meta l4proto { tcp, udp } th dport 53 counter return
    meta nfproto ipv4 meta l4proto { tcp, udp } ${take}
  }
}
`;
}

/** ip -batch lines for the mark routing of a mode (TPROXY: local table; TUN: a tun device nobody reads). */
function policyRouting(mode: ProxyMode): string[] {
  switch (mode) {
    case 'nft-tproxy':
    case 'openclash-fw4-fakeip':
    case 'openclash-fw4-0.46-fakeip':
    case 'openclash-fw3':
      return [
        `rule add fwmark ${OPENCLASH_MARK} table ${OPENCLASH_TABLE}`,
        `route add local 0.0.0.0/0 dev lo table ${OPENCLASH_TABLE}`,
      ];
    case 'tun':
    case 'openclash-fw3-tun':
    case 'openclash-fw3-mix':
      return [
        'tuntap add dev utun mode tun',
        'link set utun up',
        `route add default dev utun table ${OPENCLASH_TABLE}`,
        `rule add fwmark ${OPENCLASH_MARK} table ${OPENCLASH_TABLE} pref 1888`,
      ];
    case 'passwall2-tproxy':
    case 'passwall2-redirect':
    case 'passwall':
    case 'passwall-tproxy':
    case 'passwall-fw3-tproxy':
    case 'passwall2-fw3-tproxy':
      return ['rule add fwmark 1 lookup 100', 'route add local 0.0.0.0/0 dev lo table 100'];
    case 'homeproxy':
      return [`rule add fwmark ${HOMEPROXY_MARK} table 100`, 'route add local 0.0.0.0/0 dev lo table 100'];
    case 'shellcrash-tproxy':
      return [`rule add fwmark ${SHELLCRASH_MARK} table 100`, 'route add local 0.0.0.0/0 dev lo table 100'];
    case 'nikki-redirect-tproxy':
      return [
        'route add local 0.0.0.0/0 dev lo table 80',
        `rule add pref 1024 fwmark ${NIKKI_TPROXY_MARK}/0xff table 80`,
      ];
    case 'nikki':
    case 'nikki-tun':
      return [
        'tuntap add dev nikki mode tun',
        'link set nikki up',
        'route add default dev nikki table 81',
        `rule add fwmark ${NIKKI_TUN_MARK}/0xff table 81 pref 1025`,
      ];
    default:
      return [];
  }
}

/** IPv6 policy routing of the modes with IPv6 rules (`ip -6` batch lines; the tun device exists by then). */
function policyRouting6(mode: ProxyMode): string[] {
  switch (mode) {
    case 'nft-tproxy':
      return [
        `rule add fwmark ${OPENCLASH_MARK} table ${OPENCLASH_TABLE}`,
        `route add local ::/0 dev lo table ${OPENCLASH_TABLE}`,
      ];
    case 'tun':
      return [
        `route add default dev utun table ${OPENCLASH_TABLE}`,
        `rule add fwmark ${OPENCLASH_MARK} table ${OPENCLASH_TABLE} pref 1888`,
      ];
    case 'nikki':
      return ['route add default dev nikki table 81', `rule add fwmark ${NIKKI_TUN_MARK}/0xff table 81 pref 1025`];
    default:
      return [];
  }
}

/** Guard rules, each list inserted at the top of its chain in this order. */
function guardRules(mode: ProxyMode, ipv6 = false): Array<{ table: string; chain: string; rules: string[] }> {
  const midstream = 'tcp flags & (fin|syn|rst|ack) != syn counter return';
  const invalid = 'ct state invalid counter return';
  const newNoSyn = 'meta l4proto tcp ct state new tcp flags & (fin|syn|rst|ack) != syn counter return';
  const udpForward = `ip saddr ${ADDR.server} udp sport ${FORWARD.udpServerPort} counter return`;
  const udpForward6 = `ip6 saddr ${ADDR6.server} udp sport ${FORWARD.udpServerPort} counter return`;
  switch (mode) {
    case 'nft-redirect':
      return [
        { table: 'inet fw4', chain: 'openclash', rules: [midstream] },
        ...(ipv6 ? [{ table: 'inet fw4', chain: 'openclash_v6', rules: [midstream] }] : []),
      ];
    case 'nft-tproxy':
    case 'tun':
      return [
        { table: 'inet fw4', chain: 'openclash_mangle', rules: [invalid, newNoSyn, udpForward] },
        ...(ipv6 ? [{ table: 'inet fw4', chain: 'openclash_mangle_v6', rules: [invalid, newNoSyn, udpForward6] }] : []),
      ];
    case 'openclash-fw4-fakeip':
    case 'openclash-fw4-0.46-fakeip':
      return [
        { table: 'inet fw4', chain: 'openclash', rules: [midstream] },
        { table: 'inet fw4', chain: 'openclash_mangle', rules: [invalid, udpForward] },
      ];
    case 'passwall2-tproxy':
      return [{ table: 'inet passwall2', chain: 'PSW2_MANGLE', rules: [invalid, newNoSyn, udpForward] }];
    case 'shellcrash':
      return [{ table: 'inet shellcrash', chain: 'prerouting', rules: [midstream] }];
    case 'passwall2-redirect':
      return [
        { table: 'inet passwall2', chain: 'PSW2_NAT', rules: [midstream] },
        { table: 'inet passwall2', chain: 'PSW2_MANGLE', rules: [udpForward] },
      ];
    case 'homeproxy':
      return [
        { table: 'inet fw4', chain: 'homeproxy_redirect_proxy', rules: [midstream] },
        { table: 'inet fw4', chain: 'homeproxy_mangle_tproxy', rules: [udpForward] },
      ];
    case 'passwall':
      return [
        { table: 'inet passwall', chain: 'PSW_NAT', rules: [midstream] },
        { table: 'inet passwall', chain: 'PSW_MANGLE', rules: [udpForward] },
      ];
    case 'passwall-tproxy':
      return [{ table: 'inet passwall', chain: 'PSW_MANGLE', rules: [udpForward] }];
    case 'shellcrash-tproxy':
      return [{ table: 'inet shellcrash', chain: 'prerouting', rules: [invalid, newNoSyn, udpForward] }];
    case 'nikki-tun':
      return [{ table: 'inet nikki', chain: 'lan_tun', rules: [invalid, newNoSyn, udpForward] }];
    case 'nikki-redirect-tproxy':
      return [
        { table: 'inet nikki', chain: 'lan_redirect', rules: [midstream] },
        { table: 'inet nikki', chain: 'lan_tproxy', rules: [udpForward] },
      ];
    case 'nikki':
      return [
        { table: 'inet nikki', chain: 'lan_redirect', rules: [midstream] },
        { table: 'inet nikki', chain: 'lan_tun', rules: [invalid, udpForward, ...(ipv6 ? [udpForward6] : [])] },
      ];
    default:
      return [];
  }
}

export async function createLab(opts: LabOptions): Promise<Lab> {
  if (opts.tag !== undefined && !/^[a-z0-9]{1,12}$/i.test(opts.tag)) {
    throw new Error(`lab tag must be 1-12 letters or digits: ${opts.tag}`);
  }
  const lab = new NamespaceLab(opts.mode, opts.tag, opts.ipv6 ?? false, opts.os, opts.bypassGatewayCompatible);
  try {
    await lab.build(opts.guard ?? false);
  } catch (err) {
    await lab.destroy();
    throw err;
  }
  return lab;
}

// ---------------------------------------------------------------------------
// Services run inside the namespaces, written to the lab's temp dir and run
// with the current node binary: they start fast and need no TypeScript loader.
// Long-running modes print "ready" once listening and exit when their stdin
// reaches EOF; the lab holds that pipe, so even a SIGKILLed test run leaves no
// service behind.

const SERVICES_JS = String.raw`'use strict';
const dgram = require('node:dgram');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const path = require('node:path');

const [mode, ...args] = process.argv.slice(2);

function exitWithParent() {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

// Calls back once all n listeners are up, then tells the lab.
function readyAfter(n) {
  let left = n;
  return () => {
    left -= 1;
    if (left === 0) process.stdout.write('ready\n');
  };
}

function answerOk(_req, res) {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok\n');
}

const modes = {
  // The LAN server: HTTPS on tcpPort, UDP echo on udpPort, "hello" and close on plainPort;
  // with v6 = '6' the same three on IPv6 too (separate v6-only sockets, the IPv4 ones unchanged).
  server([certDir, tcpPort, udpPort, plainPort, v6]) {
    exitWithParent();
    const ready = readyAfter(v6 === '6' ? 6 : 3);
    const hello = (sock) => {
      sock.on('error', () => {});
      sock.resume();
      sock.end('hello\n');
    };
    const plain = net.createServer(hello);
    plain.listen(Number(plainPort), '0.0.0.0', 1024, ready);
    const tls = {
      key: fs.readFileSync(path.join(certDir, 'key.pem')),
      cert: fs.readFileSync(path.join(certDir, 'cert.pem')),
    };
    https.createServer(tls, answerOk).listen(Number(tcpPort), '0.0.0.0', ready);
    const udp = dgram.createSocket('udp4');
    udp.on('message', (msg, peer) => udp.send(msg, peer.port, peer.address));
    udp.bind(Number(udpPort), '0.0.0.0', ready);
    if (v6 !== '6') return;
    net.createServer(hello).listen({ port: Number(plainPort), host: '::', ipv6Only: true, backlog: 1024 }, ready);
    https.createServer(tls, answerOk).listen({ port: Number(tcpPort), host: '::', ipv6Only: true }, ready);
    const udp6 = dgram.createSocket({ type: 'udp6', ipv6Only: true });
    udp6.on('message', (msg, peer) => udp6.send(msg, peer.port, peer.address));
    udp6.bind(Number(udpPort), '::', ready);
  },
  // The internet host the LAN server connects out to (v6 = '6': on IPv6 too).
  http([port, v6]) {
    exitWithParent();
    const ready = readyAfter(v6 === '6' ? 2 : 1);
    http.createServer(answerOk).listen(Number(port), '0.0.0.0', ready);
    if (v6 === '6') http.createServer(answerOk).listen({ port: Number(port), host: '::', ipv6Only: true }, ready);
  },
  // The transparent proxy's redirect port: accept, report, close (v6 = '6': on IPv6 too).
  'accept-close'([port, v6]) {
    exitWithParent();
    const ready = readyAfter(v6 === '6' ? 2 : 1);
    const onConnection = (sock) => {
      process.stdout.write('accept ' + sock.remoteAddress + ':' + sock.remotePort + '\n');
      sock.on('error', () => {});
      // Drain what the peer sent so that closing sends FIN rather than RST.
      sock.resume();
      sock.end();
    };
    net.createServer(onConnection).listen(Number(port), '0.0.0.0', ready);
    if (v6 === '6') net.createServer(onConnection).listen({ port: Number(port), host: '::', ipv6Only: true }, ready);
  },
  // total short connections, concurrency at a time; prints one JSON line.
  'tcp-burst'([host, port, total, concurrency, timeoutMs]) {
    const n = Number(total);
    const started = Date.now();
    const errors = {};
    let launched = 0;
    let done = 0;
    let ok = 0;
    const finish = () => {
      process.stdout.write(JSON.stringify({ total: n, ok, errors, ms: Date.now() - started }) + '\n');
      process.exit(0);
    };
    setTimeout(finish, Number(timeoutMs));
    const one = () => {
      if (launched >= n) return;
      launched += 1;
      let got = '';
      let failed = false;
      const sock = net.connect(Number(port), host);
      sock.setTimeout(5000, () => sock.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      sock.setEncoding('utf8');
      sock.on('data', (d) => {
        got += d;
      });
      sock.on('error', (e) => {
        failed = true;
        errors[e.code || e.message] = (errors[e.code || e.message] || 0) + 1;
      });
      sock.on('close', () => {
        done += 1;
        if (!failed && got === 'hello\n') ok += 1;
        else if (!failed) errors.short = (errors.short || 0) + 1;
        if (done === n) finish();
        else one();
      });
    };
    if (n === 0) finish();
    for (let i = 0; i < Number(concurrency); i++) one();
  },
  // One datagram out, wait for the same payload back.
  'udp-probe'([host, port, timeoutMs]) {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const payload = 'replyguard-lab-' + process.pid + '-' + Date.now();
    const timer = setTimeout(() => {
      process.stdout.write('no echo within ' + timeoutMs + ' ms\n');
      process.exit(1);
    }, Number(timeoutMs));
    sock.on('message', (msg, peer) => {
      if (msg.toString() !== payload) return;
      clearTimeout(timer);
      // The echo must come back from where it was sent (the forward's address and port, un-DNATed):
      // a payload from anywhere else came through some other path, and the forward did not answer.
      const from = peer.address + ':' + peer.port;
      if (peer.port !== Number(port) || peer.address.toLowerCase() !== host.toLowerCase()) {
        process.stdout.write('echo from an unexpected ' + from + '\n');
        process.exit(1);
      }
      process.stdout.write('echo from ' + from + '\n');
      process.exit(0);
    });
    sock.send(payload, Number(port), host);
  },
};

const run = modes[mode];
if (!run) {
  process.stderr.write('unknown mode ' + mode + '\n');
  process.exit(2);
}
run(args);
`;
