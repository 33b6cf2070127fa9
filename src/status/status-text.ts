// `replyguard status` for a tired person at 2 a.m.: what is broken, since when,
// why, and what to change — before any detail.

import { blindSpotText } from '../detector/ebpf-hooks';
import type { Finding } from '../detector/finding';
import { findingFixes } from './finding-fixes';
import type { StatusDocument } from './status-schema';

export function renderStatusText(doc: StatusDocument, now: number, staleAfterS: number): string {
  const out: string[] = [];
  const age = (now - Date.parse(doc.updated_at)) / 1000;
  const mark = doc.health === 'ok' ? 'OK' : doc.health === 'problem' ? 'PROBLEM' : 'DEGRADED';
  out.push(`replyguard ${doc.version} on ${doc.node_id}: ${mark}`);
  out.push(`  ${doc.headline}`);
  if (age > staleAfterS) {
    out.push(`  WARNING: this status is ${Math.round(age)} s old — is the daemon running? (service replyguard status)`);
  }
  const active = doc.findings.filter((f) => f.kind === 'reply_hijacked' && f.state === 'active');
  for (const f of active) out.push('', ...renderFindingLines(f, now));
  for (const f of doc.findings.filter((x) => x.kind === 'reply_at_risk')) out.push('', ...renderRiskLines(f));
  if (doc.forwards.length > 0) {
    out.push('', 'Forwards:');
    for (const fw of doc.forwards) {
      const wan = fw.wan_port !== undefined ? ` (WAN port ${fw.wan_port})` : '';
      out.push(`  ${pad(fw.name, 12)} ${pad(`${fw.host}:${fw.port}/${fw.proto}`, 28)} ${fw.status}${wan}`);
    }
  }
  const others = doc.findings.filter((f) => !active.includes(f) && f.kind !== 'reply_at_risk');
  if (others.length > 0) {
    out.push('', 'Other findings:');
    for (const f of others) {
      out.push(
        `  [${f.state === 'active' ? f.severity : 'resolved'}] ${f.summary} (${f.count}×, last ${ago(f.last_seen, now)})`,
      );
    }
  }
  const ct = doc.sensors.conntrack;
  out.push(
    '',
    `Sensors: conntrack ${ct.state}, ${ct.events} events, ${ct.lost} losses, ${ct.resyncs} resyncs, ${ct.restarts} restarts` +
      (ct.last_error ? ` — last error: ${ct.last_error}` : ''),
  );
  if (ct.destroy)
    out.push(
      `         conntrack DESTROY stream ${ct.destroy.state}, ${ct.destroy.events} events, ${ct.destroy.lost} losses ` +
        '(only lifetimes of hijacked entries; no detection rests on it)',
    );
  const probe = doc.sensors.probe;
  if (probe) {
    out.push(
      probe.state === 'off'
        ? `         probe off${probe.last_error ? ` (${probe.last_error})` : ''}`
        : `         probe ${probe.state}${probe.backend ? ` (${probe.backend})` : ''}, every ${probe.interval_s} s, ` +
            `${probe.keys} reply flows, ${probe.reinstalls} reinstalls` +
            (probe.last_error ? ` — last error: ${probe.last_error}` : ''),
    );
  }
  // Older status files (written before this sensor was shown) have no `addresses`.
  const addresses = doc.sensors.addresses as StatusDocument['sensors']['addresses'] | undefined;
  if (addresses?.state === 'failed') out.push(`         addresses FAILED: ${addresses.last_error ?? 'unknown error'}`);
  const ebpf = doc.sensors.ebpf as StatusDocument['sensors']['ebpf'] | undefined;
  const blind = blindSpotText(ebpf?.hooks ?? []);
  if (blind) out.push(`         ebpf BLIND SPOT: ${blind}`);
  else if (ebpf?.state === 'failed') out.push(`         ebpf FAILED: ${ebpf.last_error ?? 'unknown error'}`);
  // Absent in status files of older versions (they had it under sensors).
  const mqtt = (doc.outputs as StatusDocument['outputs'] | undefined)?.mqtt;
  if (mqtt && mqtt.state !== 'disabled')
    out.push(
      `Outputs: MQTT ${mqtt.state}${mqtt.broker ? ` (${mqtt.broker})` : ''}` +
        (mqtt.last_error ? ` — last error: ${mqtt.last_error}` : ''),
    );
  if (doc.ruleset) {
    const p = doc.proxy;
    out.push(
      `Ruleset: ${doc.ruleset.backend || 'none'}, ${p ? `${p.label} (${p.mode})` : 'no transparent proxy'}, watched by ${doc.ruleset.watch || '—'}` +
        (doc.ruleset.changed_at ? `, last change ${ago(doc.ruleset.changed_at, now)}` : ''),
    );
  }
  // Absent in a status file written by an older version.
  const g = doc.guard as StatusDocument['guard'] | undefined;
  if (g && g.state !== 'unknown') {
    const mode = g.mode === 'auto' ? 'auto (kept in place)' : 'off (only on command)';
    const applied = g.applies > 0 && g.last_apply ? `, applied ${g.applies}× (last ${ago(g.last_apply, now)})` : '';
    out.push(`Guard: ${mode}: ${g.summary}${applied}${g.last_error ? ` — last error: ${g.last_error}` : ''}`);
    if (g.state === 'missing' && g.mode === 'off')
      out.push(
        '       fix once: replyguard guard apply',
        '       keep it:  uci set replyguard.main.guard=auto && uci commit replyguard && /etc/init.d/replyguard reload',
      );
  }
  const recent = (doc.timeline ?? []).slice(-5);
  if (recent.length > 0) {
    out.push('Timeline:');
    for (const e of recent) out.push(`  ${ago(e.at, now)}  ${e.kind.replace('_', ' ')}: ${e.summary}`);
  }
  out.push(`LAN: ${doc.lan.subnets.join(' ') || '(none)'} (${doc.lan.source})`);
  out.push(`Updated ${ago(doc.updated_at, now)}.`);
  return `${out.join('\n')}\n`;
}

export function renderFindingLines(f: Finding, now: number): string[] {
  const lines = [
    `BROKEN: ${f.proto.toUpperCase()} ${f.server}${f.forward ? ` (forward '${f.forward}')` : ''} — replies hijacked ${f.count}× since ${ago(f.first_seen, now)}, last ${ago(f.last_seen, now)}`,
    `  Why: ${f.summary}`,
    `  Peers: ${f.peers.join(', ')}`,
  ];
  if (f.diverted_to) lines.push(`  Replies went to: ${f.diverted_to}`);
  if (f.rule) lines.push(`  Rule: ${ruleText(f.rule)}${f.proxy ? ` (${f.proxy})` : ''}`);
  if (f.since_change) lines.push(`  Since: ${f.since_change}`);
  // When the ruleset named the rule, the proxy's own setting and the guard for that chain come first.
  const fixes = findingFixes(f);
  lines.push(
    f.proxy_fix?.length ? `  What to change (first the fixes for ${f.proxy ?? 'this proxy'}):` : '  What to change:',
  );
  fixes.forEach((fix, i) => {
    lines.push(`    ${i + 1}. ${fix.text}`);
  });
  lines.push('  Evidence (conntrack, probe):');
  for (const e of f.evidence.slice(1)) lines.push(`    ${e}`);
  return lines;
}

export function ruleText(r: NonNullable<Finding['rule']>): string {
  return r.backend === 'route'
    ? `routing: ${r.text}`
    : `${r.backend} ${r.table} ${r.chain} #${r.position ?? '?'}${r.handle !== undefined ? ` (handle ${r.handle})` : ''}: ${r.text}`;
}

export function renderRiskLines(f: Finding): string[] {
  const lines = [
    `AT RISK: ${f.proto.toUpperCase()} ${f.server}${f.forward ? ` (forward '${f.forward}')` : ''} — no outside client has failed yet`,
    `  Why: ${f.summary}`,
  ];
  if (f.rule) lines.push(`  Rule: ${ruleText(f.rule)}`);
  if (f.since_change) lines.push(`  Since: ${f.since_change}`);
  lines.push('  What to change:');
  findingFixes(f).forEach((fix, i) => {
    lines.push(`    ${i + 1}. ${fix.text}`);
  });
  return lines;
}

function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const rel = s < 90 ? `${s} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
  return `${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} (${rel})`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}
