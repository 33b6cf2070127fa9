// What the state topics carry for one status document, and the event payloads.
// Pure: the output decides when to send them.

import { blindSpotText } from '../detector/ebpf-hooks';
import { findingFixes, findingProxy } from '../status/finding-fixes';
import type { StatusEvent } from '../status/status-events';
import type { StatusDocument } from '../status/status-schema';
import { forwardStatePayload, GUARD_OFF, GUARD_ON } from './ha-discovery';
import type { Topics } from './mqtt-topics';

export interface StateMessage {
  topic: string;
  payload: string;
}

/** Attributes end up in HA's recorder: keep the findings topic small. */
const MAX_FINDINGS_IN_ATTRIBUTES = 16;

function activeHijacks(doc: StatusDocument) {
  return doc.findings.filter((f) => f.kind === 'reply_hijacked' && f.state === 'active');
}

function sensorErrors(doc: StatusDocument): Record<string, string> | null {
  const out: Record<string, string> = {};
  // Documents written before a sensor was shown lack it.
  const { conntrack } = doc.sensors;
  const probe = doc.sensors.probe as StatusDocument['sensors']['probe'] | undefined;
  const addresses = doc.sensors.addresses as StatusDocument['sensors']['addresses'] | undefined;
  if (conntrack.state !== 'running') out.conntrack = conntrack.last_error ?? conntrack.state;
  if (probe?.state === 'failed') out.probe = probe.last_error ?? 'failed';
  if (addresses?.state === 'failed') out.addresses = addresses.last_error ?? 'failed';
  const ebpf = doc.sensors.ebpf as StatusDocument['sensors']['ebpf'] | undefined;
  const blind = blindSpotText(ebpf?.hooks ?? []);
  if (blind) out.ebpf = blind;
  else if (ebpf?.state === 'failed') out.ebpf = ebpf.last_error ?? 'failed';
  return Object.keys(out).length > 0 ? out : null;
}

/** The summary the sensors' value templates read. */
export function stateSummary(doc: StatusDocument): Record<string, unknown> {
  const hijacks = doc.findings.filter((f) => f.kind === 'reply_hijacked');
  const active = activeHijacks(doc);
  const last = [...hijacks].sort((a, b) => b.last_seen.localeCompare(a.last_seen))[0];
  const withProxy = active.find((f) => findingProxy(f) !== undefined) ?? last;
  const proxy = withProxy ? findingProxy(withProxy) : undefined;
  return {
    health: doc.health,
    headline: doc.headline,
    problem: active.length > 0,
    affected_forwards: new Set(active.map((f) => `${f.proto} ${f.server}`)).size,
    hijacked_replies: doc.counters.hijackedReplies,
    active_findings: active.length,
    forwards: doc.forwards.length,
    proxy: proxy ?? 'none',
    last_detection: last?.last_seen ?? null,
    events_lost: doc.sensors.conntrack.lost,
    conntrack: doc.sensors.conntrack.state,
    probe: (doc.sensors.probe as StatusDocument['sensors']['probe'] | undefined)?.state ?? 'off',
    // What keeps a sensor from seeing (shown with the health in HA's attributes), null when all read.
    sensor_errors: sensorErrors(doc),
    guard: {
      mode: doc.guard.mode,
      state: doc.guard.state,
      summary: doc.guard.summary,
      rules: doc.guard.rules,
      applies: doc.guard.applies,
      last_apply: doc.guard.last_apply,
      last_error: doc.guard.last_error ?? null,
    },
    last_finding: last
      ? { id: last.id, server: last.server, forward: last.forward ?? null, state: last.state, summary: last.summary }
      : null,
  };
}

/** The open findings, compact, as the problem binary_sensor's attributes (a JSON object, as HA requires). */
export function findingsAttributes(doc: StatusDocument): Record<string, unknown> {
  const active = activeHijacks(doc);
  return {
    count: active.length,
    findings: active.slice(0, MAX_FINDINGS_IN_ATTRIBUTES).map((f) => ({
      id: f.id,
      server: f.server,
      proto: f.proto,
      forward: f.forward ?? null,
      diverted_to: f.diverted_to ?? null,
      proxy: findingProxy(f) ?? null,
      count: f.count,
      peers: f.peers.length,
      first_seen: f.first_seen,
      last_seen: f.last_seen,
      summary: f.summary,
      fix: findingFixes(f)[0]?.text ?? null,
      // The order of every fix, compact (the text of all would swell HA's recorder).
      fixes: findingFixes(f).map((x) => ({ kind: x.kind ?? null, proxy: x.proxy ?? null })),
    })),
  };
}

/**
 * Every retained state message for a document. No timestamps of the write itself:
 * a payload changes only when something people see changes, so the output can
 * skip unchanged ones and the periodic status rewrite costs no MQTT traffic.
 */
export function stateMessages(doc: StatusDocument, topics: Topics): StateMessage[] {
  const msgs: StateMessage[] = [
    { topic: topics.problem, payload: activeHijacks(doc).length > 0 ? 'ON' : 'OFF' },
    { topic: topics.findings, payload: JSON.stringify(findingsAttributes(doc)) },
    { topic: topics.state, payload: JSON.stringify(stateSummary(doc)) },
    { topic: topics.guard, payload: doc.guard.mode === 'auto' ? GUARD_ON : GUARD_OFF },
  ];
  for (const fw of doc.forwards)
    msgs.push({ topic: topics.forwardState(fw.name), payload: forwardStatePayload(fw.status) });
  return msgs;
}

export function eventPayload(event: StatusEvent): string {
  return JSON.stringify(event);
}
