// The shape of status.json, built from the daemon's state without I/O.
// LuCI, `replyguard status` and MQTT read this one document.

import type { ForwardConfig } from '../config/config';
import type { ProxyStatus, RulesetStatus } from '../daemon/ruleset-unit';
import type { DetectorCounters } from '../detector/detector';
import { blindSpotText, type EbpfHook } from '../detector/ebpf-hooks';
import type { Finding } from '../detector/finding';
import type { TimelineEntry } from './timeline';

export const STATUS_SCHEMA = 1;

export type Health = 'ok' | 'problem' | 'degraded';
export type ForwardStatus = 'ok' | 'hijacked' | 'at_risk' | 'unknown';

export interface ConntrackSensorStatus {
  state: 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';
  /** The running `conntrack -E -e NEW` child. */
  pid?: number;
  events: number;
  /** ENOBUFS warnings of the NEW stream: each one means at least one NEW event was lost (and brings a resync). */
  lost: number;
  last_loss?: string;
  resyncs: number;
  restarts: number;
  parse_errors: number;
  last_error?: string;
  since?: string;
  /**
   * The second child, `conntrack -E -e DESTROY`: it only tells how long a hijacked entry lived, so its
   * losses (the kernel's garbage collector sends DESTROY events in bursts) cost no detection.
   */
  destroy?: {
    state: ConntrackSensorStatus['state'];
    pid?: number;
    events: number;
    lost: number;
    restarts: number;
    last_error?: string;
  };
}

/** `ip -j addr`: the router's own addresses and the LAN networks taken from lan_interfaces. */
export interface AddressSensorStatus {
  state: 'starting' | 'running' | 'failed';
  /** Why the last reading failed (e.g. BusyBox's ip, which has no -j: the package ip-full is missing). */
  last_error?: string;
  since?: string;
}

/**
 * Programs before netfilter on the LAN (tc BPF filters, or a known eBPF proxy's process where there is no
 * tc): 'off' before the first reading. Blind hooks make health degraded: replies taken there are unseen.
 */
export interface EbpfSensorStatus {
  state: 'off' | 'running' | 'failed';
  /** tc: the LAN interfaces' ingress filters; proc: programs held by processes (this router has no tc). */
  way?: 'tc' | 'proc';
  hooks: EbpfHook[];
  last_error?: string;
  since?: string;
}

/** The MQTT output as status.json shows it; 'disabled' when [mqtt] enabled is off. */
export interface MqttOutputStatus {
  state: 'disabled' | 'connecting' | 'connected' | 'reconnecting' | 'failed';
  /** The broker URL without credentials. */
  broker?: string;
  last_error?: string;
  since?: string;
}

/** The passive probe (replyguard's own counting table): 'off' when disabled or, with probe = auto, unusable here. */
export interface ProbeSensorStatus {
  state: 'off' | 'installing' | 'running' | 'failed';
  /** What it counts with: nft (its table inet replyguard) or iptables (fw3: chains and ipsets replyguard_*). */
  backend?: 'nft' | 'iptables';
  /** Seconds between readings of its counters. */
  interval_s: number;
  /** Reply flows counted in the last reading. */
  keys: number;
  /** Times the table was found missing or changed (firewall reload, proxy restart) and installed again. */
  reinstalls: number;
  /** probe = on: a failure makes health degraded. */
  required?: boolean;
  last_error?: string;
  since?: string;
}

/**
 * The guard (replyguard guard) as the daemon sees it. `state` is about the rules, whatever the mode:
 * unknown (no ruleset read yet), no_forwards (nothing declared to guard), not_needed (no declared
 * reply would be swallowed), in_place (there and effective), missing (needed, not there),
 * ineffective (there, but a reply is still swallowed).
 */
export interface GuardStatusPart {
  /** guard option: off = only on command, auto = the daemon keeps it in place. */
  mode: 'off' | 'auto';
  state: 'unknown' | 'no_forwards' | 'not_needed' | 'in_place' | 'missing' | 'ineffective';
  summary: string;
  /** Guard rules found (tagged rules plus the rules of replyguard's own guard table). */
  rules: number;
  /** Times the daemon applied (or re-applied) the guard since start. */
  applies: number;
  /** ISO time of the last apply by the daemon, null when none. */
  last_apply: string | null;
  /** Why the last apply (or remove) failed; absent after a success. */
  last_error?: string;
  /** mode auto after failures: when the daemon tries again (ISO). */
  retry_at?: string;
}

export interface StatusDocument {
  schema: number;
  version: string;
  updated_at: string;
  started_at: string;
  node_id: string;
  health: Health;
  /** One sentence for people: what is wrong, or that all is well. */
  headline: string;
  sensors: {
    conntrack: ConntrackSensorStatus;
    mqtt: MqttOutputStatus;
    probe: ProbeSensorStatus;
    addresses: AddressSensorStatus;
    ebpf: EbpfSensorStatus;
  };
  lan: { interfaces: string[]; subnets: string[]; source: string; router_addresses: string[] };
  forwards: Array<{
    name: string;
    host: string;
    port: number;
    proto: string;
    wan_port?: number;
    status: ForwardStatus;
    finding?: string;
  }>;
  findings: Finding[];
  /** The transparent proxy found in the ruleset (the first when several), null when none or not read yet. */
  proxy: ProxyStatus | null;
  /** backend, fingerprint, changed_at, watch, state, last changes; null before the first read. */
  ruleset: RulesetStatus | null;
  /** ruleset_changed / finding_opened / finding_cleared, oldest first, capped. */
  timeline: TimelineEntry[];
  /** The guard; absent in status files of older versions. */
  guard: GuardStatusPart;
  counters: DetectorCounters & { problem_hold_s: number };
}

export interface StatusInputs {
  version: string;
  nodeId: string;
  startedAt: number;
  now: number;
  conntrack: ConntrackSensorStatus;
  lostRecently: boolean;
  lan: StatusDocument['lan'];
  forwards: readonly ForwardConfig[];
  /** The ruleset unit's part (RulesetUnit.statusPart). */
  ruleset?: { proxy: ProxyStatus | null; ruleset: RulesetStatus; timeline: TimelineEntry[] };
  findings: Finding[];
  counters: DetectorCounters;
  problemHoldS: number;
  /** Absent: MQTT is disabled. MQTT being down never changes health (detection does not need it). */
  mqtt?: MqttOutputStatus;
  /** Absent: no probe (shown as off). A failed probe makes health degraded. */
  probe?: ProbeSensorStatus;
  /** Absent: not started yet. Failed readings make health degraded (the LAN and own addresses may be stale). */
  addresses?: AddressSensorStatus;
  /** Absent: not started (shown as off). Blind hooks make health degraded. */
  ebpf?: EbpfSensorStatus;
  /** Absent: shown as mode off, state unknown. */
  guard?: GuardStatusPart;
}

export function buildStatus(input: StatusInputs): StatusDocument {
  const active = input.findings.filter((f) => f.kind === 'reply_hijacked' && f.state === 'active');
  const sensorDown =
    input.conntrack.state !== 'running' ||
    probeDown(input.probe) ||
    input.addresses?.state === 'failed' ||
    blindSpotText(input.ebpf?.hooks ?? []) !== undefined;
  const health: Health = active.length > 0 ? 'problem' : sensorDown || lossUncovered(input) ? 'degraded' : 'ok';
  return {
    schema: STATUS_SCHEMA,
    version: input.version,
    updated_at: new Date(input.now).toISOString(),
    started_at: new Date(input.startedAt).toISOString(),
    node_id: input.nodeId,
    health,
    headline: headline(health, active, input),
    sensors: {
      conntrack: input.conntrack,
      mqtt: input.mqtt ?? { state: 'disabled' },
      probe: input.probe ?? { state: 'off', interval_s: 0, keys: 0, reinstalls: 0 },
      addresses: input.addresses ?? { state: 'starting' },
      ebpf: input.ebpf ?? { state: 'off', hooks: [] },
    },
    lan: input.lan,
    forwards: input.forwards.map((fw) => forwardStatus(fw, input.findings)),
    findings: input.findings,
    proxy: input.ruleset?.proxy ?? null,
    ruleset: input.ruleset?.ruleset ?? null,
    timeline: input.ruleset?.timeline ?? [],
    guard: input.guard ?? {
      mode: 'off',
      state: 'unknown',
      summary: 'not read yet',
      rules: 0,
      applies: 0,
      last_apply: null,
    },
    counters: { ...input.counters, problem_hold_s: input.problemHoldS },
  };
}

function forwardStatus(fw: ForwardConfig, findings: Finding[]): StatusDocument['forwards'][number] {
  const mine = findings.filter((f) => f.forward === fw.name);
  const hijack = mine.find((f) => f.kind === 'reply_hijacked' && f.state === 'active');
  const healthy = mine.find((f) => f.kind === 'asymmetric_reply');
  // Healthy replies seen beat a prediction: right after a guard goes in, the prediction is re-read ~1 s later.
  const risk = mine.find((f) => f.kind === 'reply_at_risk');
  const out: StatusDocument['forwards'][number] = {
    name: fw.name,
    host: fw.host,
    port: fw.port,
    proto: fw.proto,
    status: hijack ? 'hijacked' : healthy ? 'ok' : risk ? 'at_risk' : 'unknown',
  };
  if (fw.wanPort !== undefined) out.wan_port = fw.wanPort;
  if (hijack) out.finding = hijack.id;
  else if (risk && !healthy) out.finding = risk.id;
  return out;
}

function headline(health: Health, active: Finding[], input: StatusInputs): string {
  if (health === 'problem') {
    const servers = active.map((f) => (f.forward ? `${f.server} (${f.forward})` : f.server)).join(', ');
    return `Replies of ${servers} are being hijacked by this router: outside clients cannot connect.`;
  }
  if (input.conntrack.state !== 'running') {
    return `Not watching: the conntrack sensor is ${input.conntrack.state}${input.conntrack.last_error ? ` (${input.conntrack.last_error})` : ''}.`;
  }
  if (input.addresses?.state === 'failed') {
    return `Not watching reliably: this router's addresses cannot be read${input.addresses.last_error ? ` (${input.addresses.last_error})` : ''}.`;
  }
  if (probeDown(input.probe)) {
    return `Not watching TPROXY/TUN modes and UDP: the probe failed${input.probe?.last_error ? ` (${input.probe.last_error})` : ''}.`;
  }
  const blind = blindSpotText(input.ebpf?.hooks ?? []);
  if (blind) return `Not watching everything: ${blind}`;
  if (lossUncovered(input)) return 'Watching, but conntrack events were lost recently: a hijack may have been missed.';
  // Health stays ok for a prediction (nothing failed yet), but people must read it.
  const risks = input.findings.filter((f) => f.kind === 'reply_at_risk');
  if (risks.length > 0) {
    const servers = risks.map((f) => (f.forward ? `${f.server} (${f.forward})` : f.server)).join(', ');
    const proxy = risks[0]!.proxy ? ` (${risks[0]!.proxy})` : '';
    return `At risk: this router would swallow the replies of ${servers}${proxy} — no outside client has failed yet.`;
  }
  return 'No hijacked replies seen.';
}

/**
 * Lost conntrack events matter only where nothing else would have seen what they held: a running probe
 * counts every reply that is taken, whatever conntrack dropped. (On a busy router the kernel's conntrack
 * garbage collection sends DESTROY events in bursts that overflow any socket buffer now and then; with
 * the probe running that is counted in sensors.conntrack.lost, not shown as degraded health.)
 */
function lossUncovered(input: StatusInputs): boolean {
  return input.lostRecently && input.probe?.state !== 'running';
}

/**
 * A probe that installed and cannot read (or could install before and cannot now) is blind, whatever the
 * mode; with probe = auto, a router where neither nft nor iptables works leaves it 'off', not failed.
 */
function probeDown(probe: ProbeSensorStatus | undefined): boolean {
  return probe?.state === 'failed';
}
