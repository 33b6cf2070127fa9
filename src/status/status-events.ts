// What changed between two status documents, as events people subscribe to
// (MQTT `event`, the timeline). Pure.

import type { StatusDocument } from './status-document';

export type StatusEventType = 'hijack_detected' | 'hijack_cleared' | 'ruleset_changed' | 'at_risk';

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
  return events;
}
