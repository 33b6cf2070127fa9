// status.json built from the daemon's parts' reports, without I/O: health and
// the headline are decided here. The shape is status-schema.ts.

import type { ForwardConfig } from '../config/config';
import type { DetectorCounters } from '../detector/detector';
import { blindSpotText } from '../detector/ebpf-hooks';
import type { Finding } from '../detector/finding';
import {
  type AddressSensorStatus,
  type ConntrackSensorStatus,
  type EbpfSensorStatus,
  type GuardStatusPart,
  type Health,
  type OutputsStatus,
  type ProbeSensorStatus,
  type ProxyStatus,
  type RulesetStatus,
  STATUS_SCHEMA,
  type StatusDocument,
  type TimelineEntry,
} from './status-schema';

export interface StatusInputs {
  version: string;
  nodeId: string;
  startedAt: number;
  now: number;
  conntrack: ConntrackSensorStatus;
  lostRecently: boolean;
  lan: StatusDocument['lan'];
  forwards: readonly ForwardConfig[];
  /** The ruleset unit's report. */
  ruleset?: { proxy: ProxyStatus | null; ruleset: RulesetStatus; timeline: TimelineEntry[] };
  findings: Finding[];
  counters: DetectorCounters;
  problemHoldS: number;
  /** Absent: not shown (MQTT disabled). An output being down never changes health (detection does not need it). */
  outputs?: Partial<OutputsStatus>;
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
      probe: input.probe ?? { state: 'off', interval_s: 0, keys: 0, reinstalls: 0 },
      addresses: input.addresses ?? { state: 'starting' },
      ebpf: input.ebpf ?? { state: 'off', hooks: [] },
    },
    outputs: { mqtt: input.outputs?.mqtt ?? { state: 'disabled' } },
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
