// The wire format of status.json: what the daemon's parts report and what its
// readers (`replyguard status`, MQTT, LuCI) read. Types only, plus its number.

import type { DetectorCounters } from '../detector/detector';
import type { EbpfHook } from '../detector/ebpf-hooks';
import type { Finding } from '../detector/finding';

/** Goes up when a reader of the previous shape would misread this one (README, status.json). */
export const STATUS_SCHEMA = 2;

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
  /** How changes are noticed: 'tc monitor' (read again when tc's qdiscs or filters change), or 'poll'. */
  watch?: 'tc monitor' | 'poll';
  hooks: EbpfHook[];
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

/** The MQTT output; 'disabled' when [mqtt] enabled is off. Its state never changes health. */
export interface MqttOutputStatus {
  state: 'disabled' | 'connecting' | 'connected' | 'reconnecting' | 'failed';
  /** The broker URL without credentials. */
  broker?: string;
  last_error?: string;
  since?: string;
}

/** Where the status is shown besides status.json. */
export interface OutputsStatus {
  mqtt: MqttOutputStatus;
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

export interface ProxyStatus {
  name: string;
  label: string;
  mode: string;
  backend: string;
  redirect_ports: number[];
  tproxy_ports: number[];
  features: string[];
}

export type RulesetWatchState = 'starting' | 'running' | 'restarting' | 'polling' | 'failed' | 'stopped';

export interface RulesetStatus {
  /** Firewall backends seen: nft, iptables-legacy, iptables-nft. */
  backend: string;
  /** How changes are noticed. */
  watch: string;
  state: RulesetWatchState;
  fingerprint: string | null;
  /** The last change (ISO), null when none was seen since start. */
  changed_at: string | null;
  read_at: string | null;
  /** Full reads since start (the first, then one per change noticed). */
  reads: number;
  last_error?: string;
  /** The last versions: fingerprint, when, what changed. */
  changes: Array<{ at: string; fingerprint: string; summary: string }>;
}

export type TimelineKind = 'ruleset_changed' | 'finding_opened' | 'finding_cleared';

export interface TimelineEntry {
  /** ISO-8601 */
  at: string;
  kind: TimelineKind;
  summary: string;
  /** The finding's id (finding_*). */
  finding?: string;
  /** ruleset_changed: the new fingerprint. */
  fingerprint?: string;
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
  /** What replyguard watches with; their failures make health degraded. */
  sensors: {
    conntrack: ConntrackSensorStatus;
    probe: ProbeSensorStatus;
    addresses: AddressSensorStatus;
    ebpf: EbpfSensorStatus;
  };
  outputs: OutputsStatus;
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
