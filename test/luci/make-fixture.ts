// Writes test/luci/fixtures/status-hijacked.json: a real status.json from the
// namespace lab (iptables REDIRECT to the proxy port, one outside TLS connection
// through the forward), for the LuCI page tests. Needs root; run after
// `npm run build` when status.json's shape changes:
//
//   node --import tsx test/luci/make-fixture.ts

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hijacksOf, startDaemon } from '../helpers/daemon';
import { createLab } from '../lab/lab';

async function main(): Promise<void> {
  const lab = await createLab({ mode: 'iptables-redirect', tag: 'luci' });
  const daemon = await startDaemon(lab);
  try {
    const res = await lab.tlsThroughForward();
    if (res.ok) throw new Error('the incident did not reproduce');
    const status = await daemon.waitFor('a hijack finding', (s) => hijacksOf(s).length > 0, 5000);
    const file = join(__dirname, 'fixtures', 'status-hijacked.json');
    writeFileSync(file, `${JSON.stringify(status, null, 2)}\n`);
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
