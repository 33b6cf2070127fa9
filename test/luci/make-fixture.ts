// Writes test/luci/fixtures/status-hijacked.json: a real status.json from the
// namespace lab (iptables REDIRECT to the proxy port, one outside TLS connection
// through the forward), for the LuCI page tests. Needs root; run after
// `npm run build` when status.json's shape changes. One post-processing step:
// when the daemon did not report the guard (older build, or ruleset not read
// yet: state unknown), the lab's guard is filled in — guard option off, no guard
// rules, the REDIRECT swallows the replies — so the pages' Guard section is fed:
//
//   node --import tsx test/luci/make-fixture.ts

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hijacksOf, startDaemon } from '../helpers/daemon';
import { createLab } from '../lab/lab';

/** The guard as the lab has it: `guard` off (the default), no guard rules, the forward's replies swallowed. */
const LAB_GUARD = {
  mode: 'off',
  state: 'missing',
  summary: 'the guard is not in place: replies are swallowed',
  rules: 0,
  applies: 0,
  last_apply: null,
} as const;

/** status.json with the lab's guard filled in where the daemon gave none (or had not read the ruleset yet). */
function withLabGuard<T extends object>(status: T): T & { guard: unknown } {
  const guard = (status as { guard?: { state?: string } }).guard;
  const keep = guard != null && guard.state !== 'unknown';
  // Keep status.json's key order: the guard goes before the counters, where the daemon writes it.
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(status)) {
    if (k === 'counters' && !keep) out.guard = { ...LAB_GUARD };
    if (k !== 'guard' || keep) out[k] = v;
  }
  if (!('guard' in out)) out.guard = { ...LAB_GUARD };
  return out as T & { guard: unknown };
}

async function main(): Promise<void> {
  const lab = await createLab({ mode: 'iptables-redirect', tag: 'luci' });
  const daemon = await startDaemon(lab);
  try {
    const res = await lab.tlsThroughForward();
    if (res.ok) throw new Error('the incident did not reproduce');
    const status = await daemon.waitFor('a hijack finding', (s) => hijacksOf(s).length > 0, 5000);
    const file = join(__dirname, 'fixtures', 'status-hijacked.json');
    writeFileSync(file, `${JSON.stringify(withLabGuard(status), null, 2)}\n`);
    process.stdout.write(`${file}\n`);
  } finally {
    await daemon.stop();
    await lab.destroy();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
