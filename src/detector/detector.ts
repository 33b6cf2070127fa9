// Combines conntrack facts into findings. No I/O: entries and the time come in,
// findings go out. Every table here has a cap.

import type { CtEntry } from '../conntrack/conntrack-entry';
import type { LineInterest } from '../conntrack/line-prefilter';
import { formatEndpoint } from '../net/ip-address';
import { classifyFlow, type ReplyVerdict } from './classify-flow';
import type { Finding, FindingKind } from './finding';
import { fixLines, summaryLine } from './fix-text';
import type { LanView } from './lan-view';
import { LruMap } from './lru-map';

const MAX_PEERS = 16;
const MAX_RAW_EVIDENCE = 4;
const MAX_EVIDENCE_CHARS = 400;

interface FindingRecord {
  kind: FindingKind;
  verdict: ReplyVerdict;
  key: string;
  peers: string[];
  count: number;
  firstSeen: number;
  lastSeen: number;
  raw: string[];
  /** Milliseconds from NEW to DESTROY of the latest flow, when both were seen. */
  lastLifetimeMs?: number;
  /** A healthy reply of the same server was seen after the last hijack. */
  clearedAt?: number;
}

interface TrackedFlow {
  findingKey: string;
  serverIp: string;
  seenAt: number;
}

export interface DetectorOptions {
  maxFindings: number;
  maxFlows: number;
  /** Milliseconds a reply_hijacked finding stays active after it was last seen. */
  problemHoldMs: number;
}

export interface DetectorCounters {
  candidates: number;
  hijackedReplies: number;
  flowsTracked: number;
  flowsEvicted: number;
  findingsEvicted: number;
}

export class Detector {
  private view: LanView;
  private readonly findingsByKey: LruMap<string, FindingRecord>;
  private readonly flows: LruMap<string, TrackedFlow>;
  private candidates = 0;
  private hijackedReplies = 0;
  /** Servers with tracked flows, and how many: a DESTROY of anyone else needs no parse. */
  private readonly trackedServers = new Map<string, number>();
  private udpForwardPorts = new Set<number>();

  constructor(
    view: LanView,
    private readonly options: DetectorOptions,
  ) {
    this.view = view;
    this.findingsByKey = new LruMap(options.maxFindings);
    this.flows = new LruMap(options.maxFlows, (_key, flow) => this.untrack(flow));
    this.setLanView(view);
  }

  setLanView(view: LanView): void {
    this.view = view;
    this.udpForwardPorts = new Set(view.forwards.filter((f) => f.proto === 'udp').map((f) => f.port));
  }

  /** What the line pre-filter needs to know; live views of this detector's state. */
  get interest(): LineInterest {
    return { trackedServers: this.trackedServers, udpPorts: this.udpForwardPorts };
  }

  private track(flowKey: string, flow: TrackedFlow): void {
    if (!this.flows.has(flowKey))
      this.trackedServers.set(flow.serverIp, (this.trackedServers.get(flow.serverIp) ?? 0) + 1);
    this.flows.set(flowKey, flow);
  }

  private untrack(flow: TrackedFlow): void {
    const n = (this.trackedServers.get(flow.serverIp) ?? 1) - 1;
    if (n <= 0) this.trackedServers.delete(flow.serverIp);
    else this.trackedServers.set(flow.serverIp, n);
  }

  /**
   * Feeds one entry. `now` is the event's time (its timestamp when it has one).
   * Returns true when a finding changed.
   */
  ingest(entry: CtEntry, rawLine: string, now: number): boolean {
    if (entry.event === 'DESTROY' || entry.event === 'UPDATE') return this.followUp(entry, now);
    const verdict = classifyFlow(entry, this.view);
    if (!verdict) return false;
    const flowKey = flowKeyOf(entry);
    // A resync snapshot repeats flows the event stream already showed.
    if (entry.event === 'SNAPSHOT' && this.flows.has(flowKey)) return false;
    this.candidates++;
    const kind: FindingKind = verdict.fate === 'passed' ? 'asymmetric_reply' : 'reply_hijacked';
    if (kind === 'reply_hijacked') this.hijackedReplies++;
    const key = findingKey(kind, verdict);
    let rec = this.findingsByKey.get(key);
    if (!rec) {
      rec = { kind, verdict, key, peers: [], count: 0, firstSeen: now, lastSeen: now, raw: [] };
      this.findingsByKey.set(key, rec);
    }
    rec.verdict = verdict;
    rec.count++;
    rec.lastSeen = Math.max(rec.lastSeen, now);
    rec.lastLifetimeMs = undefined;
    rec.peers = [verdict.peerIp, ...rec.peers.filter((p) => p !== verdict.peerIp)].slice(0, MAX_PEERS);
    rec.raw = [clip(rawLine), ...rec.raw].slice(0, MAX_RAW_EVIDENCE);
    if (kind === 'reply_hijacked') rec.clearedAt = undefined;
    else this.clearHijack(verdict, now);
    this.track(flowKey, { findingKey: key, serverIp: entry.orig.src, seenAt: now });
    return true;
  }

  private followUp(entry: CtEntry, now: number): boolean {
    if (this.flows.size === 0) return false;
    const flowKey = flowKeyOf(entry);
    const flow = this.flows.peek(flowKey);
    if (!flow) return false;
    if (entry.event === 'UPDATE') return false;
    this.flows.delete(flowKey);
    this.untrack(flow);
    const rec = this.findingsByKey.peek(flow.findingKey);
    if (rec?.kind !== 'reply_hijacked') return false;
    rec.lastLifetimeMs = Math.max(0, now - flow.seenAt);
    return true;
  }

  /** Healthy replies of a server after a hijack mean the problem was fixed. */
  private clearHijack(verdict: ReplyVerdict, now: number): void {
    for (const fate of ['redirected', 'masqueraded'] as const) {
      const rec = this.findingsByKey.peek(findingKey('reply_hijacked', { ...verdict, fate }));
      if (rec && rec.lastSeen <= now && rec.clearedAt === undefined) rec.clearedAt = now;
    }
  }

  /** Whether a hijack finding still counts as a problem at `now`. */
  private isActive(rec: FindingRecord, now: number): boolean {
    if (rec.kind !== 'reply_hijacked') return now - rec.lastSeen <= this.options.problemHoldMs;
    return rec.clearedAt === undefined && now - rec.lastSeen <= this.options.problemHoldMs;
  }

  findings(now: number): Finding[] {
    const out: Finding[] = [];
    for (const rec of this.findingsByKey.values()) out.push(this.toFinding(rec, now));
    // Problems first, then the most recent.
    out.sort((a, b) =>
      a.severity !== b.severity ? (a.severity === 'problem' ? -1 : 1) : b.last_seen.localeCompare(a.last_seen),
    );
    return out;
  }

  hasActiveHijack(now: number): boolean {
    for (const rec of this.findingsByKey.values()) {
      if (rec.kind === 'reply_hijacked' && this.isActive(rec, now)) return true;
    }
    return false;
  }

  /** Milliseconds until the next active finding expires, for a timer. */
  nextExpiry(now: number): number | undefined {
    let next: number | undefined;
    for (const rec of this.findingsByKey.values()) {
      if (!this.isActive(rec, now)) continue;
      const left = rec.lastSeen + this.options.problemHoldMs - now;
      if (next === undefined || left < next) next = left;
    }
    return next;
  }

  counters(): DetectorCounters {
    return {
      candidates: this.candidates,
      hijackedReplies: this.hijackedReplies,
      flowsTracked: this.flows.size,
      flowsEvicted: this.flows.evicted,
      findingsEvicted: this.findingsByKey.evicted,
    };
  }

  private toFinding(rec: FindingRecord, now: number): Finding {
    const v = rec.verdict;
    const server = formatEndpoint(v.serverIp, v.serverPort);
    const hijack = rec.kind === 'reply_hijacked';
    let summary = summaryLine(v);
    if (rec.lastLifetimeMs !== undefined) {
      summary += ` The entry was destroyed ${formatMs(rec.lastLifetimeMs)} after it appeared.`;
    }
    const f: Finding = {
      id: rec.key,
      kind: rec.kind,
      severity: hijack ? 'problem' : 'info',
      state: this.isActive(rec, now) ? 'active' : 'resolved',
      proto: v.proto,
      server,
      peers: [...rec.peers],
      count: rec.count,
      first_seen: new Date(rec.firstSeen).toISOString(),
      last_seen: new Date(rec.lastSeen).toISOString(),
      summary,
      evidence: [summary, ...rec.raw],
      fix: fixLines(v),
    };
    if (v.forward) f.forward = v.forward;
    if (v.divertedTo) f.diverted_to = formatEndpoint(v.divertedTo.ip, v.divertedTo.port);
    return f;
  }
}

function findingKey(kind: FindingKind, v: ReplyVerdict): string {
  const prefix = kind === 'reply_hijacked' ? (v.fate === 'masqueraded' ? 'masq' : 'hijack') : 'asym';
  return `${prefix}-${v.proto}-${v.serverIp}-${v.serverPort}`;
}

function flowKeyOf(e: CtEntry): string {
  return `${e.proto} ${e.orig.src} ${e.orig.sport} ${e.orig.dst} ${e.orig.dport}`;
}

function clip(line: string): string {
  const t = line.trim().replace(/\s+/g, ' ');
  return t.length > MAX_EVIDENCE_CHARS ? `${t.slice(0, MAX_EVIDENCE_CHARS)}…` : t;
}

function formatMs(ms: number): string {
  return ms < 1 ? `${Math.round(ms * 1000)} µs` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
