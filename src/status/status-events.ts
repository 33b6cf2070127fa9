// What changed between two status documents, as events people subscribe to
// (MQTT `event`, the timeline). Pure.

import type { StatusDocument } from './status-schema';

export type StatusEventType = 'hijack_detected' | 'hijack_cleared' | 'ruleset_changed' | 'at_risk' | 'guard_applied';

export interface StatusEvent {
  event_type: StatusEventType;
  at: string;
  finding: string;
  server: string;
  forward?: string;
  summary: string;
}

export function statusEvents(prev: StatusDocument | undefined, next: StatusDocument): StatusEvent[] {
  const activeBefore = new Set(
    (prev?.findings ?? []).filter((f) => f.kind === 'reply_hijacked' && f.state === 'active').map((f) => f.id),
  );
  const activeNow = next.findings.filter((f) => f.kind === 'reply_hijacked' && f.state === 'active');
  const events: StatusEvent[] = [];
  for (const f of activeNow) {
    if (activeBefore.has(f.id)) continue;
    const e: StatusEvent = {
      event_type: 'hijack_detected',
      at: f.last_seen,
      finding: f.id,
      server: f.server,
      summary: f.summary,
    };
    if (f.forward) e.forward = f.forward;
    events.push(e);
  }
  const nowIds = new Set(activeNow.map((f) => f.id));
  for (const f of prev?.findings ?? []) {
    if (!activeBefore.has(f.id) || nowIds.has(f.id)) continue;
    const e: StatusEvent = {
      event_type: 'hijack_cleared',
      at: next.updated_at,
      finding: f.id,
      server: f.server,
      summary: `Replies of ${f.server} are no longer hijacked.`,
    };
    if (f.forward) e.forward = f.forward;
    events.push(e);
  }
  const riskBefore = new Set((prev?.findings ?? []).filter((f) => f.kind === 'reply_at_risk').map((f) => f.id));
  for (const f of next.findings) {
    if (f.kind !== 'reply_at_risk' || riskBefore.has(f.id)) continue;
    const e: StatusEvent = {
      event_type: 'at_risk',
      at: f.first_seen,
      finding: f.id,
      server: f.server,
      summary: f.summary,
    };
    if (f.forward) e.forward = f.forward;
    events.push(e);
  }
  const fpBefore = prev?.ruleset?.fingerprint;
  const fpNow = next.ruleset?.fingerprint;
  if (fpBefore && fpNow && fpBefore !== fpNow) {
    const change = (next.timeline ?? []).filter((t) => t.kind === 'ruleset_changed').pop();
    events.push({
      event_type: 'ruleset_changed',
      at: next.ruleset?.changed_at ?? next.updated_at,
      finding: '',
      server: '',
      summary: change?.summary ?? 'the ruleset changed',
    });
  }
  // The daemon (guard = auto) put the guard back, e.g. after the proxy restarted.
  if (prev && next.guard.applies > prev.guard.applies && next.guard.last_apply) {
    events.push({
      event_type: 'guard_applied',
      at: next.guard.last_apply,
      finding: '',
      server: '',
      summary: next.guard.last_error
        ? `The guard could not be applied: ${next.guard.last_error}`
        : next.guard.applies === 1
          ? 'The guard was applied (guard = auto).'
          : 'The guard was applied again (guard = auto): the ruleset had lost it.',
    });
  }
  return events;
}
