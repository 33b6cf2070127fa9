// `replyguard diagnose`: one look at the live kernel state, without the
// daemon. For every declared forward (and every server a running daemon has
// seen answering), walks the server's replies through this router's ruleset
// and reports `reply_at_risk` findings — the same objects status.json holds —
// with the responsible rule and the proxy's own fix. Exit 0 healthy,
// 1 findings, 2 could not run.

import { readFileSync } from 'node:fs';
import type { Config } from '../config/config';
import { lanViewFromInterfaces } from '../detector/lan-view';
import { predictRisks, type RiskFinding, type ServerRef, worstReply } from '../detector/predict-risk';
import { fateWord } from '../detector/rule-attribution';
import { type InterfaceInfo, parseIpAddrJson } from '../net/ip-addr-json';
import { formatEndpoint, splitEndpoint } from '../net/ip-address';
import { statusPath } from '../outputs/status-file';
import { defaultLanInterface } from '../ruleset/explain-text';
import { packetWord } from '../ruleset/packet';
import { recognizeProxies } from '../ruleset/recognize-proxy';
import { rulesetFingerprint } from '../ruleset/ruleset-diff';
import { readLiveRuleset } from '../sensors/ruleset-reader';
import { findingFixes } from '../status/finding-fixes';
import type { StatusDocument } from '../status/status-schema';
import { terminalText } from '../util/input-text';
import { flagString, parseArgs, UsageError } from './args';
import { configFor } from './config-option';

export const DIAGNOSE_EXIT = { healthy: 0, findings: 1, cannotRun: 2 } as const;

/** Servers a running daemon has seen answering outside clients (its status.json), if there is one. */
function learnedServers(config: Config): ServerRef[] {
  try {
    const doc = JSON.parse(readFileSync(statusPath(config.main.stateDir), 'utf8')) as StatusDocument;
    const out: ServerRef[] = [];
    for (const f of doc.findings ?? []) {
      const ep = splitEndpoint(f.server);
      if (ep && (f.proto === 'tcp' || f.proto === 'udp')) out.push({ ip: ep.ip, port: ep.port, proto: f.proto });
    }
    return out;
  } catch {
    return [];
  }
}

export async function runDiagnose(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['--config', '--in'], ['--json']);
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
  let config: Config;
  try {
    config = configFor(flagString(args, '--config'));
  } catch (err) {
    process.stderr.write(`replyguard diagnose: config: ${(err as Error).message}\n`);
    return DIAGNOSE_EXIT.cannotRun;
  }
  const live = await readLiveRuleset();
  const snapshot = live.snapshot;
  const rs = snapshot.ruleset;
  const firewall = rs.sources.filter((s) => s === 'nft' || s === 'iptables-save');
  if (firewall.length === 0) {
    const why = live.problems.map((p) => `${p.source}: ${p.message}`).join('; ') || 'neither nft nor iptables-save ran';
    process.stderr.write(`replyguard diagnose: cannot read the firewall ruleset (${why})\n`);
    return DIAGNOSE_EXIT.cannotRun;
  }
  let interfaces: InterfaceInfo[] = [];
  try {
    interfaces = snapshot.dumps.ipAddr ? parseIpAddrJson(snapshot.dumps.ipAddr) : [];
  } catch {
    // the LAN view falls back to the private ranges
  }
  const view = lanViewFromInterfaces(config.main, interfaces, config.forwards);
  const iif =
    flagString(args, '--in') ??
    config.main.lanInterfaces.find((i) => rs.routing.interfaces.includes(i)) ??
    defaultLanInterface(snapshot);
  const proxies = recognizeProxies(rs);
  const servers = learnedServers(config);
  const now = Date.now();
  const findings: RiskFinding[] = predictRisks({
    snapshot,
    proxies,
    forwards: config.forwards,
    servers,
    lan: view,
    iif,
    now,
  });
  const forwards = config.forwards.map((fw) => {
    const f = findings.find((x) => x.forward === fw.name);
    const r = f ? undefined : worstReply(snapshot, proxies, { ip: fw.host, port: fw.port, proto: fw.proto }, iif);
    return {
      name: fw.name,
      host: fw.host,
      port: fw.port,
      proto: fw.proto,
      status: f ? 'at_risk' : r?.fate === 'passes' ? 'ok' : 'unknown',
      ...(f ? { finding: f.id } : {}),
      ...(r && !f
        ? {
            detail:
              r.fate === 'passes'
                ? `its replies to outside clients pass this router (${fw.proto === 'tcp' ? 'SYN-ACK and mid-stream ACK' : 'the datagram'} forwarded unchanged)`
                : `the ${packetWord(r.packet)} to an outside client is ${fateWord(r)}`,
          }
        : {}),
    };
  });
  const issues = [...rs.issues, ...live.problems].map((i) => `${i.severity}: ${i.source}: ${i.message}`);
  const code = findings.length > 0 ? DIAGNOSE_EXIT.findings : DIAGNOSE_EXIT.healthy;
  if (args.flags.has('--json')) {
    const doc = {
      health: findings.length > 0 ? 'at_risk' : 'ok',
      proxy: proxies[0]
        ? { name: proxies[0].name, label: proxies[0].label, mode: proxies[0].mode, backend: proxies[0].backend }
        : null,
      proxies,
      ruleset: {
        backend: [...new Set(rs.tables.map((t) => (t.backend === 'nft' ? 'nft' : `iptables-${t.variant ?? 'legacy'}`)))]
          .sort()
          .join('+'),
        fingerprint: rulesetFingerprint(rs),
        tcp_loose: rs.tcpLoose ?? null,
      },
      lan: { interface: iif, subnets: view.lan.list.map((p) => p.text), source: view.lanSource },
      forwards,
      findings,
      issues,
    };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    return code;
  }
  const out: string[] = [];
  const title =
    findings.length > 0
      ? `AT RISK: ${findings.length} server${findings.length === 1 ? '' : 's'} whose replies this router would swallow`
      : config.forwards.length + servers.length === 0
        ? 'nothing to check: no forward is declared (add `config forward` sections to the config)'
        : 'OK: no declared forward is at risk';
  out.push(`replyguard diagnose: ${title}`);
  out.push(
    `  Proxy: ${proxies.length > 0 ? proxies.map((p) => `${p.label}, ${p.mode}`).join('; ') : 'none found'}` +
      `   Ruleset: ${rs.sources.join(', ')}; nf_conntrack_tcp_loose=${rs.tcpLoose ?? 'unknown (1 assumed)'}`,
  );
  for (const f of findings) {
    out.push('');
    out.push(`AT RISK: ${f.proto.toUpperCase()} ${f.server}${f.forward ? ` (forward '${f.forward}')` : ''}`);
    out.push(`  Why: ${f.summary}`);
    if (f.rule)
      out.push(
        `  Rule: ${f.rule.backend} ${f.rule.table} ${f.rule.chain} #${f.rule.position ?? '?'}${f.rule.handle !== undefined ? ` (handle ${f.rule.handle})` : ''}: ${f.rule.text}`,
      );
    out.push('  What to change:');
    findingFixes(f).forEach((fix, i) => {
      out.push(`    ${i + 1}. ${fix.text}`);
    });
    out.push('  Path:');
    for (const e of f.evidence.slice(1)) out.push(`    ${e}`);
  }
  const okForwards = forwards.filter((f) => f.status !== 'at_risk');
  if (okForwards.length > 0) {
    out.push('');
    for (const f of okForwards)
      out.push(
        `${f.status === 'ok' ? 'OK' : 'UNKNOWN'}: ${f.proto.toUpperCase()} ${formatEndpoint(f.host, f.port)} (forward '${f.name}')${'detail' in f ? ` — ${f.detail}` : ''}`,
      );
  }
  const serious = issues.filter((i) => i.startsWith('error'));
  if (serious.length > 0) {
    out.push('');
    out.push('Loader errors (the result may be incomplete):');
    for (const i of serious.slice(0, 5)) out.push(`  ${i}`);
  }
  out.push('');
  out.push('This is a prediction from the ruleset; `replyguard trace --server IP:PORT` confirms it on live traffic.');
  process.stdout.write(terminalText(`${out.join('\n')}\n`));
  return code;
}
