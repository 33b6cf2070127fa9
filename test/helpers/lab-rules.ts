// Putting a proxy's own rules into a lab's side router, where its generator writes them, and reading the
// options replyguard printed: shared by the native-fix proofs (test/integration/native-fixes*.test.ts).

import assert from 'node:assert/strict';
import { CLIENT_SERVICE_PORT, type Lab } from '../lab/lab';

/** Runs argv in one of the lab's namespaces; fails the test unless it exits 0. */
export async function must(lab: Lab, ns: string, argv: string[], input?: string): Promise<string> {
  const r = await lab.exec(ns, argv, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** An nft script in the side router. */
export const nft = (lab: Lab, script: string) => must(lab, lab.ns.side, ['nft', '-f', '-'], script);

/** The chain exists in the side router (table as `inet fw4`). */
export async function chainExists(lab: Lab, table: string, chain: string): Promise<boolean> {
  const r = await lab.exec(lab.ns.side, ['nft', 'list', 'chain', ...table.split(' '), chain]);
  return r.code === 0;
}

/** The handle of the first rule of a chain whose `nft -a` line matches. */
export async function handleOf(lab: Lab, table: string, chain: string, match: RegExp): Promise<number> {
  const out = await must(lab, lab.ns.side, ['nft', '-a', 'list', 'chain', ...table.split(' '), chain]);
  const line = out.split('\n').find((l) => match.test(l) && /# handle \d+$/.test(l));
  assert.ok(line, `no rule ${match} in ${table} ${chain}:\n${out}`);
  return Number(/# handle (\d+)$/.exec(line)![1]);
}

/** Inserts rules, in order, right before the rule that matches (where the proxy's generator writes them). */
export async function insertBefore(
  lab: Lab,
  table: string,
  chain: string,
  match: RegExp,
  rules: string[],
): Promise<number> {
  const h = await handleOf(lab, table, chain, match);
  await nft(lab, rules.map((r) => `insert rule ${table} ${chain} position ${h} ${r}\n`).join(''));
  return h;
}

/** Replaces the rule that matches by the given rules. */
export async function replaceRule(
  lab: Lab,
  table: string,
  chain: string,
  match: RegExp,
  rules: string[],
): Promise<void> {
  const h = await insertBefore(lab, table, chain, match, rules);
  await nft(lab, `delete rule ${table} ${chain} handle ${h}\n`);
}

/** The single-quoted value of `name='…'` in a printed line. */
export function option(line: string, name: string): string {
  const m = new RegExp(`${name.replace(/[.[\]]/g, '\\$&')}='([^']*)'`).exec(line);
  assert.ok(m, `no ${name}='…' in: ${line}`);
  return m[1]!;
}

/** The printed fix line that mentions `what`. */
export function lineWith(lines: string[], what: string): string {
  const line = lines.find((l) => l.includes(what));
  assert.ok(line, `no printed fix with ${what}:\n${lines.join('\n')}`);
  return line;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Proto = 'tcp' | 'udp';

const WATCH_TABLE = { 4: 'rgfixwatch', 6: 'rgfixwatch6' } as const;

/**
 * Counts datagrams from the LAN to the outside client's UDP port 443, and SYNs to its TCP service, where they
 * enter the side router and where they leave it towards the main router: one that entered and did not leave
 * was taken by the proxy (TPROXY delivers it locally, a TUN mark routes it into the tun device). A table of the
 * test's own: the proxies' rules stay as their code writes them.
 */
export function watchTable(family: 4 | 6, client: string, lan: string): string {
  const ip = family === 4 ? 'ip' : 'ip6';
  return `table inet ${WATCH_TABLE[family]} {
  chain pre {
    type filter hook prerouting priority raw - 10; policy accept;
    ${ip} daddr ${client} udp dport 443 counter
    ${ip} daddr ${client} tcp dport ${CLIENT_SERVICE_PORT} tcp flags & (syn | ack) == syn counter
  }
  chain post {
    type filter hook postrouting priority srcnat + 10; policy accept;
    oifname "${lan}" ${ip} daddr ${client} udp dport 443 counter
    oifname "${lan}" ${ip} daddr ${client} tcp dport ${CLIENT_SERVICE_PORT} tcp flags & (syn | ack) == syn counter
  }
}
`;
}

type Counts = Record<Proto, { pre: number; post: number }>;

async function watchCounts(lab: Lab, family: 4 | 6): Promise<Counts> {
  const out = await must(lab, lab.ns.side, ['nft', 'list', 'table', 'inet', WATCH_TABLE[family]]);
  const [udpPre, tcpPre, udpPost, tcpPost] = [...out.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]));
  assert.ok(udpPre !== undefined && tcpPre !== undefined && udpPost !== undefined && tcpPost !== undefined, out);
  return { udp: { pre: udpPre, post: udpPost }, tcp: { pre: tcpPre, post: tcpPost } };
}

/** What send() sends from the LAN entered the side router and did not leave it towards the main router (watchTable). */
export async function neverLeaves(
  lab: Lab,
  family: 4 | 6,
  proto: Proto,
  send: () => Promise<unknown>,
): Promise<boolean> {
  const before = (await watchCounts(lab, family))[proto];
  const sent = send();
  let now = (await watchCounts(lab, family))[proto];
  for (let i = 0; i < 40 && now.pre === before.pre; i++) {
    await sleep(25);
    now = (await watchCounts(lab, family))[proto];
  }
  assert.ok(now.pre > before.pre, `the IPv${family} ${proto} packet reached the side router`);
  // A forwarded packet leaves within the same softirq; a moment more for a slow machine.
  await sleep(50);
  now = (await watchCounts(lab, family))[proto];
  await sent;
  return now.post === before.post;
}
