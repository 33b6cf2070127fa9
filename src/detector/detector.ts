// Combines conntrack facts into findings. No I/O: entries and the time come in,
// findings go out. Every table here has a cap.

import type { CtEntry } from '../conntrack/conntrack-entry';
import type { LineInterest } from '../conntrack/line-prefilter';
import { formatEndpoint, isNonPublic, parseAddress } from '../net/ip-address';
import type { ProbeSample } from '../probe/probe-sample';
import { LruMap } from '../util/lru-map';
import { classifyFlow, type ReplyVerdict } from './classify-flow';
import type { Finding, FindingKind } from './finding';
import { fixTexts } from './fix';
import { detectorFixes, probeCountText, summaryLine } from './fix-text';
import type { LanView } from './lan-view';
import { ProbeJudge, type ProbeJudgement, type ProbeObservation } from './probe-judge';

const MAX_PEERS = 16;
const MAX_RAW_EVIDENCE = 4;
const MAX_EVIDENCE_CHARS = 400;
/** Flows remembered per finding so that the probe and conntrack count one flow once. */
const MAX_FLOW_IDS = 64;
/** Evidence lines of the probe start with this. */
const PROBE_PREFIX = 'probe: ';

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
  /** Which sensor saw the hijack last: conntrack's healthy replies cannot clear what only the probe can see. */
  hijackBy?: 'conntrack' | 'probe';
  /** Flows (peer ip:port) already counted, newest first. */
  flowIds: string[];
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
  /** Most reply flows the probe judge follows (default 8192). */
  maxProbeFlows?: number;
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
  private readonly probeJudge: ProbeJudge;
  /** Servers with tracked flows, and how many: a DESTROY of anyone else needs no parse. */
  private readonly trackedServers = new Map<string, number>();
  private readonly udpForwardPorts = new Set<number>();
  /** What the line pre-filter needs to know: live views of this detector's state. */
  readonly interest: LineInterest = { trackedServers: this.trackedServers, udpPorts: this.udpForwardPorts };

  constructor(
    view: LanView,
    private readonly options: DetectorOptions,
  ) {
    this.view = view;
    this.findingsByKey = new LruMap(options.maxFindings);
    this.flows = new LruMap(options.maxFlows, (_key, flow) => this.untrack(flow));
    this.probeJudge = new ProbeJudge(options.maxProbeFlows ?? 8192);
    this.setLanView(view);
  }

  setLanView(view: LanView): void {
    this.view = view;
    this.udpForwardPorts.clear();
    for (const f of view.forwards) if (f.proto === 'udp') this.udpForwardPorts.add(f.port);
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
      rec = { kind, verdict, key, peers: [], count: 0, firstSeen: now, lastSeen: now, raw: [], flowIds: [] };
      this.findingsByKey.set(key, rec);
    }
    rec.verdict = verdict;
    rec.count++;
    rememberFlow(rec, verdict);
    rec.lastSeen = Math.max(rec.lastSeen, now);
    rec.lastLifetimeMs = undefined;
    rec.peers = [verdict.peerIp, ...rec.peers.filter((p) => p !== verdict.peerIp)].slice(0, MAX_PEERS);
    rec.raw = [clip(rawLine), ...rec.raw].slice(0, MAX_RAW_EVIDENCE);
    if (kind === 'reply_hijacked') {
      rec.clearedAt = undefined;
      rec.hijackBy = 'conntrack';
    } else {
      this.clearHijack(verdict, now, 'conntrack');
    }
    this.track(flowKey, { findingKey: key, serverIp: entry.orig.src, seenAt: now });
    return true;
  }

  /**
   * Feeds one reading of the probe's counters (see probe-judge.ts for the rule).
   * `changed`: a finding changed; `pending`: a deficit awaits confirmation, read again soon.
   */
  ingestProbe(sample: ProbeSample): { changed: boolean; pending: boolean; judgement: ProbeJudgement } {
    const judgement = this.probeJudge.judge(sample);
    let changed = false;
    // Passed flows first: a server losing replies of one flow while another passes stays hijacked.
    const ordered = [...judgement.observations].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'passed' ? -1 : 1));
    for (const o of ordered) {
      if (this.ingestProbeObservation(o, sample.at)) changed = true;
    }
    return { changed, pending: judgement.pending, judgement };
  }

  private ingestProbeObservation(o: ProbeObservation, now: number): boolean {
    const view = this.view;
    // The rules already pick LAN servers and public peers; the LAN may have changed since they were made.
    if (!view.lan.has(o.server) || view.routerAddresses.has(o.server)) return false;
    const peer = parseAddress(o.peer);
    if (!peer || isNonPublic(peer) || view.lan.has(o.peer)) return false;
    const verdict: ReplyVerdict = {
      proto: o.proto,
      serverIp: o.server,
      serverPort: o.serverPort,
      peerIp: o.peer,
      peerPort: o.peerPort,
      fate: o.kind === 'swallowed' ? 'swallowed' : 'passed',
      probe: { packetsIn: o.packetsIn, packetsOut: o.packetsOut, windowMs: o.windowMs },
    };
    const forward = view.forwards.find((f) => f.proto === o.proto && f.port === o.serverPort && f.host === o.server);
    if (forward) verdict.forward = forward.name;
    const kind: FindingKind = o.kind === 'swallowed' ? 'reply_hijacked' : 'asymmetric_reply';
    const key = findingKey(kind, verdict);
    let rec = this.findingsByKey.get(key);
    if (!rec) {
      rec = { kind, verdict, key, peers: [], count: 0, firstSeen: now, lastSeen: now, raw: [], flowIds: [] };
      this.findingsByKey.set(key, rec);
    }
    // conntrack's verdict names where the replies went: keep it when there is one.
    if (rec.verdict.fate === verdict.fate || rec.verdict.probe) rec.verdict = verdict;
    if (rememberFlow(rec, verdict)) {
      rec.count++;
      this.candidates++;
      if (kind === 'reply_hijacked') this.hijackedReplies++;
    }
    rec.lastSeen = Math.max(rec.lastSeen, now);
    rec.peers = [verdict.peerIp, ...rec.peers.filter((p) => p !== verdict.peerIp)].slice(0, MAX_PEERS);
    // Peer port 0: the fw3 probe (ipset) counts per peer address.
    const flow = `${o.proto.toUpperCase()} ${formatEndpoint(o.server, o.serverPort)} → ${formatEndpoint(o.peer, o.peerPort || undefined)}`;
    const line = `${PROBE_PREFIX}${flow}: ${probeCountText(verdict.probe!)}`;
    rec.raw = [line, ...rec.raw.filter((r) => !r.startsWith(`${PROBE_PREFIX}${flow}:`))].slice(0, MAX_RAW_EVIDENCE);
    if (kind === 'reply_hijacked') {
      this.dropContradicted(verdict);
      rec.clearedAt = undefined;
      // Only what conntrack cannot see is the probe's alone to clear; a redirect conntrack saw
      // is cleared by conntrack's healthy replies as before.
      if (rec.verdict.fate === 'swallowed') rec.hijackBy = 'probe';
    } else {
      this.clearHijack(verdict, now, 'probe');
    }
    return true;
  }

  /**
   * conntrack shows a UDP reply taken by TPROXY/TUN as a plain entry ("passes unchanged"); when the
   * probe proves that very flow swallowed, an asymmetric finding resting on it alone is dropped.
   */
  private dropContradicted(v: ReplyVerdict): void {
    const key = findingKey('asymmetric_reply', { ...v, fate: 'passed' });
    const asym = this.findingsByKey.peek(key);
    if (!asym || asym.verdict.probe || asym.count > 1) return;
    if (asym.flowIds.includes(`${v.peerIp} ${v.peerPort}`)) this.findingsByKey.delete(key);
  }

  /** Reply flows the probe judge follows, and those it had no room for. */
  probeFlows(): { tracked: number; evicted: number } {
    return { tracked: this.probeJudge.size, evicted: this.probeJudge.evicted };
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

  /**
   * Healthy replies of a server after a hijack mean the problem was fixed. conntrack cannot see
   * what TPROXY/TUN do (a UDP reply taken by TPROXY still makes a plain entry), so only the
   * probe clears a hijack the probe saw.
   */
  private clearHijack(verdict: ReplyVerdict, now: number, by: 'conntrack' | 'probe'): void {
    for (const fate of ['redirected', 'masqueraded'] as const) {
      const rec = this.findingsByKey.peek(findingKey('reply_hijacked', { ...verdict, fate }));
      if (by === 'conntrack' && rec?.hijackBy === 'probe') continue;
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
      // NEW and DESTROY are stamped by two conntrack processes as each reads its event: below a millisecond
      // their order, let alone the difference, says nothing.
      const when =
        rec.lastLifetimeMs < 1
          ? 'within a millisecond of appearing'
          : `${formatMs(rec.lastLifetimeMs)} after it appeared`;
      summary += ` The entry was destroyed ${when}.`;
    }
    const fixes = detectorFixes(v);
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
      fix: fixTexts(fixes),
      typed_fixes: fixes,
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

/** Remembers the finding's flow; true when it was not counted before. */
function rememberFlow(rec: FindingRecord, v: ReplyVerdict): boolean {
  const id = `${v.peerIp} ${v.peerPort}`;
  const known = rec.flowIds.includes(id);
  rec.flowIds = [id, ...rec.flowIds.filter((f) => f !== id)].slice(0, MAX_FLOW_IDS);
  return !known;
}

function flowKeyOf(e: CtEntry): string {
  return `${e.proto} ${e.orig.src} ${e.orig.sport} ${e.orig.dst} ${e.orig.dport}`;
}

function clip(line: string): string {
  const t = line.trim().replace(/\s+/g, ' ');
  return t.length > MAX_EVIDENCE_CHARS ? `${t.slice(0, MAX_EVIDENCE_CHARS)}…` : t;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
