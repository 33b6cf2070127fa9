// The ruleset side of the daemon, as one unit it hosts: runs the ruleset
// watch, keeps the latest snapshot, the recognised proxies and a bounded
// timeline, predicts which forwards' (and learned servers') replies this
// router would swallow (reply_at_risk), attributes observed hijacks to the
// responsible rule, and hands status.json its part. The daemon calls
// start/stop, setConfig/setLanView, noteFindings when the detector's findings
// change, and status() when it writes: all the work is done when something
// changes, so that reading the status changes nothing.

import type { Config } from '../config/config';
import type { Finding } from '../detector/finding';
import type { LanView } from '../detector/lan-view';
import { predictRisks, type RiskFinding, type ServerRef } from '../detector/predict-risk';
import {
  type AttributedFinding,
  type Attribution,
  applyAttribution,
  attributionFor,
} from '../detector/rule-attribution';
import { splitEndpoint } from '../net/ip-address';
import { type ProxyInfo, recognizeProxies } from '../ruleset/recognize-proxy';
import { diffLines, diffRulesets, diffSummary } from '../ruleset/ruleset-diff';
import type { RulesetSnapshot } from '../ruleset/ruleset-snapshot';
import { RulesetWatch, type RulesetWatchOptions, type WatchedSnapshot } from '../sensors/ruleset-watch';
import type { ProxyStatus, RulesetStatus, TimelineEntry } from '../status/status-schema';
import { changeLinkText, Timeline } from '../status/timeline';
import type { Logger } from '../system/log';
import { runCommand } from '../system/run-command';
import type { Unit } from '../system/unit';
import { LruMap } from '../util/lru-map';

/** The trace table of `replyguard trace`; a crash can leave it behind. */
export const TRACE_TABLE = { family: 'inet', name: 'replyguard_trace' } as const;

const MAX_SERVERS = 64;
const MAX_CHANGES = 16;

export interface RulesetStatusPart {
  /** The transparent proxy found (the first one, when several), null when none. */
  proxy: ProxyStatus | null;
  proxies: ProxyStatus[];
  ruleset: RulesetStatus;
  timeline: TimelineEntry[];
  /** Findings of the detector, hijacks with their rule attached and `since_change` where a change came before. */
  findings: AttributedFindingWithChange[];
  /** Predicted risks, minus servers that are already seen hijacked. */
  atRisk: RiskFinding[];
}

export type AttributedFindingWithChange = AttributedFinding & { since_change?: string };

export interface RulesetUnitCallbacks {
  /** Something in status() changed: write status soon. */
  onChange: () => void;
  /** Every read of the ruleset, changed or not. */
  onRead?: (snapshot: RulesetSnapshot) => void;
}

export interface RulesetUnitOptions {
  /** Tests: options for the watch (a fake read, no nft). */
  watch?: Partial<RulesetWatchOptions>;
  timelineCap?: number;
  /** Tests: the nft binary for the leftover trace table cleanup (null = skip). */
  nftCommand?: string | null;
}

function proxyStatus(p: ProxyInfo): ProxyStatus {
  return {
    name: p.name,
    label: p.label,
    mode: p.mode,
    backend: p.backend,
    redirect_ports: p.redirectPorts,
    tproxy_ports: p.tproxyPorts,
    features: p.features,
  };
}

export class RulesetUnit implements Unit<RulesetStatusPart> {
  readonly name = 'ruleset';
  private readonly watch: RulesetWatch;
  private readonly timeline: Timeline;
  private snapshot?: RulesetSnapshot;
  private proxies: ProxyInfo[] = [];
  private risks: RiskFinding[] = [];
  private readonly firstSeen = new Map<string, number>();
  private readonly servers = new LruMap<string, ServerRef>(MAX_SERVERS);
  private view?: LanView;
  private changes: RulesetStatus['changes'] = [];
  /** The detector's findings as last noted. */
  private findings: readonly Finding[] = [];
  /** The findings and risks as status() shows them, made when either (or the snapshot) changes. */
  private shown: Pick<RulesetStatusPart, 'findings' | 'atRisk'> = { findings: [], atRisk: [] };
  /** Ids of findings (hijacks and risks) open at the last settle(). */
  private open = new Map<string, { summary: string; kind: string }>();
  private linkOf = new Map<string, string>();
  /** Attributions by snapshot, finding and peer: the walk runs once per new snapshot or peer, not at every settle(). */
  private readonly attributions = new LruMap<string, Attribution | null>(MAX_SERVERS * 4);

  constructor(
    private config: Config,
    private readonly log: Logger,
    private readonly callbacks: RulesetUnitCallbacks,
    private readonly opts: RulesetUnitOptions = {},
  ) {
    this.timeline = new Timeline(opts.timelineCap);
    this.watch = new RulesetWatch({
      log,
      onSnapshot: (w) => this.onSnapshot(w),
      ...(callbacks.onRead ? { onRead: callbacks.onRead } : {}),
      onStatus: () => callbacks.onChange(),
      ...opts.watch,
    });
  }

  /** Removes a trace table a crashed `replyguard trace` left, then reads the ruleset and watches it. */
  async start(): Promise<void> {
    await removeLeftoverTraceTable(this.opts.nftCommand === undefined ? 'nft' : this.opts.nftCommand, this.log);
    await this.watch.start();
  }

  async stop(): Promise<void> {
    this.watch.stop();
  }

  childPids(): number[] {
    return this.watch.childPids();
  }

  /** Re-read the ruleset now. */
  recheck(): Promise<void> {
    return this.watch.refresh();
  }

  setConfig(config: Config): void {
    this.config = config;
    this.predictAndSettle();
  }

  setLanView(view: LanView): void {
    this.view = view;
    this.predictAndSettle();
  }

  /**
   * The detector's findings changed: servers seen answering are learned (and predicted), hijacks get
   * their rule, the timeline records findings opening and clearing.
   */
  noteFindings(findings: readonly Finding[], now = Date.now()): void {
    this.findings = findings;
    let learned = false;
    for (const f of findings) {
      const ep = splitEndpoint(f.server);
      if (ep && this.learnServer(ep.ip, ep.port, f.proto)) learned = true;
    }
    const changed = learned && this.predict();
    this.settle(now);
    if (changed) this.callbacks.onChange();
  }

  /** status.json's ruleset part, as the last change left it. */
  status(): RulesetStatusPart {
    const ws = this.watch.status;
    return {
      proxy: this.proxies[0] ? proxyStatus(this.proxies[0]) : null,
      proxies: this.proxies.map(proxyStatus),
      ruleset: {
        backend: ws.backend,
        watch: ws.watch,
        state: ws.state,
        fingerprint: ws.fingerprint ?? null,
        changed_at: ws.changed_at ?? null,
        read_at: ws.read_at ?? null,
        reads: ws.reads,
        ...(ws.last_error ? { last_error: ws.last_error } : {}),
        changes: this.changes.slice(),
      },
      timeline: this.timeline.entries(),
      findings: this.shown.findings.slice(),
      atRisk: this.shown.atRisk.slice(),
    };
  }

  /** An observed finding with the responsible rule and the proxy's own fix attached (cached per snapshot and peer). */
  attribute(f: Finding): AttributedFinding {
    if (!this.snapshot || f.kind !== 'reply_hijacked') return f;
    const key = `${this.snapshot.fingerprint} ${f.id} ${f.peers[0] ?? ''} ${f.forward ?? ''}`;
    let a = this.attributions.get(key);
    if (a === undefined) {
      const iif = this.iif();
      a = attributionFor(f, this.snapshot, this.proxies, iif ? { iif } : {});
      this.attributions.set(key, a);
    }
    return applyAttribution(f, a);
  }

  currentSnapshot(): RulesetSnapshot | undefined {
    return this.snapshot;
  }

  /** A server seen answering outside clients through this router (an asymmetric reply, a hijack); true when new. */
  private learnServer(ip: string, port: number, proto: 'tcp' | 'udp'): boolean {
    const key = `${proto} ${ip} ${port}`;
    if (this.servers.get(key)) return false;
    this.servers.set(key, { ip, port, proto });
    return true;
  }

  private iif(): string | undefined {
    const names = this.snapshot?.ruleset.routing.interfaces ?? [];
    return this.config.main.lanInterfaces.find((i) => names.includes(i));
  }

  private onSnapshot(w: WatchedSnapshot): void {
    this.snapshot = w.snapshot;
    const before = this.proxies;
    this.proxies = recognizeProxies(w.snapshot.ruleset);
    for (const p of w.problems) this.log.debug(`ruleset: ${p.source}: ${p.message}`);
    if (w.previous) {
      const d = diffRulesets(w.previous.snapshot.ruleset, w.snapshot.ruleset);
      const owners = new Set<string>();
      for (const p of [...this.proxies, ...before]) {
        if (d.chains.some((c) => p.chains.includes(`${c.table} ${c.chain}`))) owners.add(p.label);
        const tables = [...d.tablesAdded, ...d.tablesRemoved].map((t) => t.table);
        if (tables.some((t) => p.chains.some((k) => k.startsWith(`${t} `)))) owners.add(p.label);
      }
      const who = owners.size === 1 ? `${[...owners][0]}'s rules changed` : 'the ruleset changed';
      const summary = `${who} (${diffSummary(d)})`;
      const at = new Date(w.snapshot.takenAt).toISOString();
      this.timeline.add({ at, kind: 'ruleset_changed', summary, fingerprint: w.fingerprint });
      this.changes = [{ at, fingerprint: w.fingerprint, summary: diffSummary(d, 8) }, ...this.changes].slice(
        0,
        MAX_CHANGES,
      );
      this.log.info(`ruleset: ${summary}`);
      for (const line of diffLines(d).slice(0, 20)) this.log.debug(`ruleset change: ${line}`);
    } else {
      const names = this.proxies.map((p) => `${p.label} (${p.mode})`).join(', ') || 'no transparent proxy';
      this.log.info(`ruleset: read (${w.fingerprint}): ${names}`);
    }
    this.predict();
    // A new snapshot attributes hijacks anew, even when the predictions stay.
    this.settle(Date.now());
    this.callbacks.onChange();
  }

  private predictAndSettle(): void {
    if (!this.predict()) return;
    this.settle(Date.now());
    this.callbacks.onChange();
  }

  /** Recomputes the predictions; first_seen of a risk is kept while it lasts. True when they changed. */
  private predict(): boolean {
    if (!this.snapshot) return false;
    const now = Date.now();
    const iif = this.iif();
    const risks = predictRisks({
      snapshot: this.snapshot,
      proxies: this.proxies,
      forwards: this.config.forwards,
      servers: [...this.servers.values()],
      ...(this.view ? { lan: this.view } : {}),
      ...(iif ? { iif } : {}),
      now,
    });
    const ids = new Set(risks.map((r) => r.id));
    for (const id of [...this.firstSeen.keys()]) if (!ids.has(id)) this.firstSeen.delete(id);
    for (const r of risks) {
      const first = this.firstSeen.get(r.id) ?? now;
      this.firstSeen.set(r.id, first);
      r.first_seen = new Date(first).toISOString();
    }
    const changed =
      JSON.stringify(risks.map((r) => [r.id, r.summary])) !== JSON.stringify(this.risks.map((r) => [r.id, r.summary]));
    this.risks = risks;
    return changed;
  }

  /**
   * Makes what status() shows from the noted findings, the predictions and the snapshot: hijacks get
   * their rule, findings their link to the ruleset change before them, and the timeline records the
   * findings (hijacks and risks) opening and clearing since the last time.
   */
  private settle(now: number): void {
    const findings = this.findings;
    const hijacked = new Set(
      findings.filter((f) => f.kind === 'reply_hijacked' && f.state === 'active').map((f) => `${f.proto} ${f.server}`),
    );
    const atRisk = this.risks.filter((r) => !hijacked.has(`${r.proto} ${r.server}`));
    const enriched: AttributedFindingWithChange[] = findings.map((f) => {
      const a: AttributedFindingWithChange = this.attribute(f);
      const link = this.linkFor(f.id, Date.parse(f.first_seen));
      return link ? { ...a, since_change: link } : a;
    });
    const risksOut = atRisk.map((r) => {
      const link = this.linkFor(r.id, Date.parse(r.first_seen));
      return link ? { ...r, since_change: link } : r;
    });
    this.recordOpenings(
      [
        ...findings.filter((f) => f.kind === 'reply_hijacked' && f.state === 'active'),
        ...atRisk.map((r) => ({ ...r, kind: r.kind as string })),
      ],
      now,
    );
    this.shown = { findings: enriched, atRisk: risksOut };
  }

  /** The link to the ruleset change before a finding's first sighting, fixed once made. */
  private linkFor(id: string, firstSeenMs: number): string | undefined {
    const known = this.linkOf.get(id);
    if (known) return known;
    const change = this.timeline.latestChangeBefore(firstSeenMs);
    if (!change) return undefined;
    const text = changeLinkText(change, firstSeenMs);
    this.linkOf.set(id, text);
    if (this.linkOf.size > 256) this.linkOf.delete(this.linkOf.keys().next().value!);
    return text;
  }

  private recordOpenings(
    open: Array<{ id: string; kind: string; summary: string; first_seen: string }>,
    now: number,
  ): void {
    const next = new Map(open.map((f) => [f.id, { summary: f.summary, kind: f.kind }]));
    for (const f of open) {
      if (this.open.has(f.id)) continue;
      const what = f.kind === 'reply_at_risk' ? 'at risk' : 'hijacked';
      const link = this.linkOf.get(f.id);
      this.timeline.add({
        at: f.first_seen,
        kind: 'finding_opened',
        finding: f.id,
        summary: `${what}: ${f.summary}${link ? ` (${link})` : ''}`,
      });
    }
    for (const [id, f] of this.open) {
      if (next.has(id)) continue;
      this.linkOf.delete(id);
      this.timeline.add({
        at: new Date(now).toISOString(),
        kind: 'finding_cleared',
        finding: id,
        summary: `${f.kind === 'reply_at_risk' ? 'no longer at risk' : 'no longer hijacked'}: ${f.summary}`,
      });
    }
    this.open = next;
  }
}

/** `nft delete table inet replyguard_trace` when it exists; quiet when it does not or nft is missing. */
export async function removeLeftoverTraceTable(nft: string | null, log: Logger): Promise<boolean> {
  if (!nft) return false;
  const list = await runCommand([nft, 'list', 'table', TRACE_TABLE.family, TRACE_TABLE.name], { timeoutMs: 5000 });
  if (list.error || list.code !== 0) return false;
  const del = await runCommand([nft, 'delete', 'table', TRACE_TABLE.family, TRACE_TABLE.name], { timeoutMs: 5000 });
  if (del.error || del.code !== 0) {
    log.warn(`could not remove the leftover trace table: ${del.error ?? del.stderr.trim()}`);
    return false;
  }
  log.info(`removed the leftover trace table ${TRACE_TABLE.family} ${TRACE_TABLE.name} (a trace was interrupted)`);
  return true;
}
