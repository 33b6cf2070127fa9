// `make lab`: the incident reproduced in network namespaces and caught by the
// daemon running in the side router's namespace. Cleans up after itself.
//
//   node --import tsx test/lab/run-lab.ts [--mode iptables-redirect|nft-redirect|none]

import { spawnSync } from 'node:child_process';
import { BUNDLE, hijacksOf, type RunningDaemon, startDaemon } from '../helpers/daemon';
import { createLab, type Lab, type ProxyMode } from './lab';

const MODES: ProxyMode[] = ['iptables-redirect', 'nft-redirect', 'none'];

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function main(): Promise<number> {
  const i = process.argv.indexOf('--mode');
  const mode = (i >= 0 ? process.argv[i + 1] : 'iptables-redirect') as ProxyMode;
  if (!MODES.includes(mode)) {
    say(`unknown mode '${mode}'; one of: ${MODES.join(', ')}`);
    return 64;
  }
  if (process.getuid?.() !== 0) {
    say('make lab needs root (network namespaces, netfilter).');
    return 1;
  }
  let lab: Lab | undefined;
  let daemon: RunningDaemon | undefined;
  try {
    lab = await createLab({ mode, tag: 'lab' });
    say(`== lab ${lab.id}, proxy mode: ${mode}`);
    say(
      `   client ${lab.addr.client} → main router ${lab.addr.mainWan}:${lab.forward.wanPort} (DNAT → ${lab.addr.server}:${lab.forward.serverPort})`,
    );
    say(
      `   server ${lab.addr.server} uses the side router ${lab.addr.side} as gateway; the side router runs the proxy rules and replyguard`,
    );
    daemon = await startDaemon(lab);
    say(`== replyguard is running in namespace ${lab.ns.side} (state in ${daemon.stateDir})`);

    const res = await lab.tlsThroughForward();
    say(
      `== outside client: curl https://${lab.addr.mainWan}:${lab.forward.wanPort}/ → ${res.ok ? 'works' : `FAILS: ${res.detail}`}`,
    );
    let caught = false;
    if (!res.ok) {
      const s = await daemon.waitFor('the finding', (st) => hijacksOf(st).length > 0, 3000);
      caught = true;
      const ms = Date.parse(s.updated_at) - Date.parse(hijacksOf(s)[0]!.first_seen);
      say(`== replyguard wrote the finding ${ms} ms after conntrack saw the hijacked reply:\n`);
    } else {
      await new Promise((r) => setTimeout(r, 500));
    }
    const status = spawnSync(process.execPath, [BUNDLE, 'status', '--state-dir', daemon.stateDir], {
      encoding: 'utf8',
    });
    say(status.stdout.trimEnd());

    if (caught) {
      say('\n== applying the first fix (the guard rule from mechanics.md) and connecting again');
      await lab.setGuard(true);
      const again = await lab.tlsThroughForward();
      say(`   outside client → ${again.ok ? 'works' : `still fails: ${again.detail}`}`);
      const s = await daemon.waitFor('health to recover', (st) => st.health !== 'problem', 3000);
      say(`   replyguard health: ${s.health} — ${s.headline}`);
      return again.ok ? 0 : 1;
    }
    return mode === 'none' && res.ok ? 0 : 1;
  } finally {
    await daemon?.stop();
    await lab?.destroy();
    say('== lab removed');
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`lab failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
