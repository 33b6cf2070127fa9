// A bounded timeline of what happened on this router, newest last:
// ruleset changes, findings opened and cleared. status.json shows it; a new
// finding is linked to the latest ruleset change before it ("first seen
// 3 min after OpenClash's chains changed"). Pure: times come in.

import type { TimelineEntry } from './status-schema';

export const DEFAULT_TIMELINE_CAP = 32;

export class Timeline {
  private items: TimelineEntry[] = [];
  /** Entries pushed out by the cap. */
  evicted = 0;

  constructor(readonly cap = DEFAULT_TIMELINE_CAP) {}

  add(entry: TimelineEntry): void {
    this.items.push(entry);
    // Kept in time order even when an event arrives late.
    for (let i = this.items.length - 1; i > 0 && this.items[i - 1]!.at > this.items[i]!.at; i--) {
      const t = this.items[i]!;
      this.items[i] = this.items[i - 1]!;
      this.items[i - 1] = t;
    }
    while (this.items.length > this.cap) {
      this.items.shift();
      this.evicted++;
    }
  }

  entries(): TimelineEntry[] {
    return this.items.slice();
  }

  /** The latest ruleset change at or before `atMs`. */
  latestChangeBefore(atMs: number): TimelineEntry | undefined {
    for (let i = this.items.length - 1; i >= 0; i--) {
      const e = this.items[i]!;
      if (e.kind === 'ruleset_changed' && Date.parse(e.at) <= atMs) return e;
    }
    return undefined;
  }

  /** "first seen 3 min after the ruleset changed (chain openclash (inet fw4): +2 rules)", or undefined. */
  linkText(atMs: number): string | undefined {
    const change = this.latestChangeBefore(atMs);
    return change ? changeLinkText(change, atMs) : undefined;
  }
}

export function durationText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

export function changeLinkText(change: TimelineEntry, atMs: number): string {
  return `first seen ${durationText(atMs - Date.parse(change.at))} after ${change.summary}`;
}
