// Regenerates the incident-*.txt golden captures: real `conntrack -E` output on
// the side router of the namespace lab while an outside client fails through the
// forward, the LAN server makes its own (proxied) connection, and — with the
// guard — the forward works. Run as root:
//   node --import tsx test/golden/conntrack/capture-incident.ts
// then `UPDATE_GOLDEN=1 node --import tsx --test test/unit/conntrack-line.test.ts` and review the diff.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ProxyMode, createLab } from '../../lab/lab';

const FORMATS = ['extended,id,timestamp', 'xml', 'save'];

async function capture(mode: ProxyMode, format: string): Promise<string> {
  const lab = await createLab({ mode, tag: 'gold' });
  try {
    const child = lab.spawn(lab.ns.side, ['conntrack', '-E', '-o', format]);
    let text = '';
    child.stdout?.on('data', (b: Buffer) => {
      text += b.toString();
    });
    child.stderr?.resume();
    await new Promise((r) => setTimeout(r, 300));
    await lab.tlsThroughForward();
    await lab.outboundFromServer();
    await lab.udpThroughForward();
    await lab.setGuard(true);
    await lab.tlsThroughForward();
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    return text;
  } finally {
    await lab.destroy();
  }
}

async function main(): Promise<void> {
  for (const mode of ['iptables-redirect', 'nft-redirect'] as ProxyMode[]) {
    for (const format of FORMATS) {
      const text = await capture(mode, format);
      const file = join(__dirname, `incident-${mode}-${format.replace(/,/g, '-')}.txt`);
      writeFileSync(file, text);
      process.stdout.write(`${file}: ${text.split('\n').length - 1} lines\n`);
    }
  }
}

void main();
