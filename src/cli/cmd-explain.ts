// `replyguard explain --from IP:PORT --to IP:PORT`: which rule takes this
// packet, read from the live ruleset or from saved dumps (--ruleset-dir).

import { existsSync } from 'node:fs';
import { explainPacket, renderExplain } from '../ruleset/explain-text';
import { DUMP_FILES, makeSnapshot } from '../ruleset/ruleset-snapshot';
import { readDumpDir, readLiveRuleset } from '../sensors/ruleset-reader';
import { terminalText } from '../util/input-text';
import { endpointFlag, flagString, parseArgs, UsageError } from './args';

export const EXPLAIN_EXIT = { notSwallowed: 0, swallowed: 2, undetermined: 3, noInput: 66 } as const;

export async function runExplain(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['--from', '--to', '--proto', '--in', '--flags', '--ruleset-dir'], ['--json']);
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
  const from = endpointFlag(args, '--from');
  const to = endpointFlag(args, '--to');
  const proto = flagString(args, '--proto') ?? 'tcp';
  if (proto !== 'tcp' && proto !== 'udp') throw new UsageError('--proto is tcp or udp');
  const flags = flagString(args, '--flags');
  if (flags !== undefined && !['ack', 'syn', 'synack'].includes(flags))
    throw new UsageError('--flags is ack, syn or synack');
  if (flags !== undefined && proto !== 'tcp') throw new UsageError('--flags only applies to tcp');

  const dir = flagString(args, '--ruleset-dir');
  let snapshot: ReturnType<typeof makeSnapshot>;
  if (dir !== undefined) {
    if (!existsSync(dir)) {
      process.stderr.write(`replyguard explain: ${dir}: no such directory\n`);
      return EXPLAIN_EXIT.noInput;
    }
    const dumps = readDumpDir(dir);
    if (Object.keys(dumps).length === 0) {
      process.stderr.write(`replyguard explain: ${dir} holds none of ${Object.values(DUMP_FILES).join(', ')}\n`);
      return EXPLAIN_EXIT.noInput;
    }
    snapshot = makeSnapshot(dumps);
  } else {
    const live = await readLiveRuleset();
    snapshot = live.snapshot;
    for (const p of live.problems) snapshot.ruleset.issues.push(p);
  }
  const report = explainPacket(snapshot, {
    proto,
    src: from.ip,
    sport: from.port,
    dst: to.ip,
    dport: to.port,
    ...(flagString(args, '--in') ? { iif: flagString(args, '--in')! } : {}),
    ...(flags ? { flags: flags as 'ack' | 'syn' | 'synack' } : {}),
  });
  if (typeof report === 'string') throw new UsageError(report);
  if (args.flags.has('--json')) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(terminalText(renderExplain(report)));
  if (report.verdict === 'undetermined') return EXPLAIN_EXIT.undetermined;
  return report.verdict === 'proxied' || report.verdict === 'dropped'
    ? EXPLAIN_EXIT.swallowed
    : EXPLAIN_EXIT.notSwallowed;
}
