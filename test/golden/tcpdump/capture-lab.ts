// Regenerates the lab captures in this folder: real tcpdump in the namespace
// lab (test/lab/lab.ts) while an outside client connects through the main
// router's forward three times. Three places, as a user could stand:
//   wan    — the main router's WAN interface (`wan`), what the incident's owner captured on pppoe0
//   any    — the main router with `-i any` (Linux cooked v2 headers, as PPPoE interfaces and `any` give)
//   sidelan — the side router's LAN bridge (`br-lan`)
//   server — the LAN server's interface (`eth0`)
// Each is written with `tcpdump -w` (pcap) and rendered again with `tcpdump -r` at several -v levels,
// with and without -e: the text files are tcpdump's own output for the same packets. COMMANDS.md
// lists the command lines; each pcap is also converted to pcapng by Wireshark's editcap (package
// wireshark-common, needed only here). Run as root:
//   node --import tsx test/golden/tcpdump/capture-lab.ts
// (every mode of the lab; or the modes named after it, whose lines in COMMANDS.md are then replaced)

import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLab, FIX_PROOF_MODES, type Lab, PROXY_MODES, type ProxyMode } from '../../lab/lab';

/**
 * Proxy modes of the lab; "+guard" with the guard in place, so the forward works: the healthy captures.
 * The guarded modes are the healthy forwards: the proxy is there, the replies pass.
 */
const MODES = [...PROXY_MODES, ...FIX_PROOF_MODES, 'iptables-redirect+guard', 'nft-tproxy+guard'];
const TEXT_FLAGS: Array<[string, string[]]> = [
  ['n', ['-n']],
  ['nn-v', ['-nn', '-v']],
  ['nn-vvv', ['-nn', '-vvv']],
  ['e-nn', ['-e', '-nn']],
];

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function capture(spec: string, log: string): Promise<void> {
  const [mode, guard] = spec.split('+') as [ProxyMode, string | undefined];
  const lab: Lab = await createLab({ mode, tag: 'tcpd' });
  if (guard) await lab.setGuard(true);
  const filter = `tcp and (port ${lab.forward.wanPort} or port ${lab.forward.serverPort})`;
  const places: Array<[string, string, string]> = [
    ['wan', lab.ns.main, 'wan'],
    ['any', lab.ns.main, 'any'],
    ['sidelan', lab.ns.side, 'br-lan'],
    ['server', lab.ns.server, 'eth0'],
  ];
  const tmp = `/tmp/rg-tcpdump-${lab.id}`;
  execFileSync('mkdir', ['-p', tmp]);
  try {
    const children = places.map(([place, ns, iface]) => {
      // --immediate-mode: else packets wait in the kernel's ring for up to a second, and a capture stopped
      // soon after a quick (healthy) exchange comes back empty.
      const argv = ['tcpdump', '-i', iface, '--immediate-mode', '-U', '-s', '262144', '-w', join(tmp, `${place}.pcap`), filter];
      const shown = argv.map((a) => (a.includes(' ') ? `'${a}'` : a.startsWith(tmp) ? `${place}.pcap` : a));
      const who = place === 'sidelan' ? 'side router' : place === 'server' ? 'server' : 'main router';
      appendFileSync(log, `- ${spec}/${place}: \`${shown.join(' ')}\` in the ${who}'s namespace\n`);
      const child = lab.spawn(ns, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
      return child;
    });
    // Traffic only once every tcpdump says it is listening.
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve, reject) => {
            let err = '';
            const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
            c.stderr?.on('data', (b: Buffer) => {
              err += b.toString();
              if (err.includes('listening on')) {
                clearTimeout(timer);
                resolve();
              }
            });
          }),
      ),
    );
    await sleep(200);
    for (let i = 0; i < 3; i++) await lab.tlsThroughForward();
    await sleep(1500);
    for (const c of children) c.kill('SIGINT');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    for (const [place] of places) {
      const pcap = join(tmp, `${place}.pcap`);
      const base = join(__dirname, `${spec.replace('+', '-')}-${place}`);
      execFileSync('cp', [pcap, `${base}.pcap`]);
      // The same packets as pcapng, written by Wireshark's editcap (Debian: wireshark-common).
      execFileSync('editcap', ['-F', 'pcapng', pcap, `${base}.pcapng`]);
      for (const [name, flags] of TEXT_FLAGS) {
        const text = execFileSync('tcpdump', ['-r', pcap, ...flags], { stdio: ['ignore', 'pipe', 'ignore'] });
        writeFileSync(`${base}.${name}.txt`, text);
      }
      process.stdout.write(`${base}: done\n`);
    }
  } finally {
    execFileSync('rm', ['-rf', tmp]);
    await lab.destroy();
  }
}

async function main(): Promise<void> {
  const named = process.argv.slice(2);
  const modes = named.length > 0 ? named : MODES;
  const log = join(__dirname, 'COMMANDS.md');
  // The lines of the modes not run this time stay.
  const kept =
    named.length > 0 && existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('- ') && !modes.some((m) => l.startsWith(`- ${m}/`)))
      : [];
  writeFileSync(
    log,
    '# How the lab captures were taken (written by capture-lab.ts)\n\n' +
      'Traffic: three TLS connections from the outside client (203.0.113.50) to the main router\'s forward ' +
      '(203.0.113.1:9443 → 192.168.50.10:443). Text files: `tcpdump -r X.pcap -n`, `-nn -v`, `-nn -vvv`, `-e -nn`.\n\n' +
      kept.map((l) => `${l}\n`).join(''),
  );
  for (const mode of modes) await capture(mode, log);
}

void main();
