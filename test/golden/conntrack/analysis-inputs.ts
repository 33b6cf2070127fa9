// The inputs of analysis-reports.json: every golden capture here, and two
// generated streams (the bench's generator) — one with timestamps, one without
// and with blank, foreign and broken lines mixed in.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LanView, makeLanView, PRIVATE_LAN_FALLBACK } from '../../../src/detector/lan-view';
import { eventLines } from '../../bench/event-stream';

/** Events without a timestamp are placed here, so that the reports do not depend on the clock. */
export const ANALYSIS_NOW = 1_800_000_000_000;

export function analysisInputs(): Array<{ name: string; text: string; view: LanView }> {
  const goldenView = makeLanView(PRIVATE_LAN_FALLBACK, [], [], 'test');
  const benchView = makeLanView(['192.168.1.0/24', 'fd00::/64'], ['192.168.1.2'], [], 'test');
  const out = readdirSync(__dirname)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(__dirname, name), 'utf8'), view: goldenView }));
  const timed = eventLines({ events: 20000, flows: 3000, hijackEvery: 700, seed: 7 });
  out.push({ name: 'synthetic-20k', text: `${timed.join('\n')}\n`, view: benchView });
  const untimed = eventLines({ events: 5000, flows: 800, hijackEvery: 300, seed: 3 }).map((l) =>
    l.replace(/^\[[0-9.]+\]\t/, ''),
  );
  for (let i = 0; i < untimed.length; i += 97)
    untimed.splice(i, 0, i % 2 ? '' : '[UPDATE] tcp 6 5 ESTABLISHED src=1.2.3.4 dst=5.6.7.8 sport=1 dport=2');
  untimed.splice(
    10,
    0,
    'garbage here',
    '   ',
    'conntrack v1.4.7 (conntrack-tools): 12 flow events have been shown.',
    '[BOGUS] tcp 6 src=1.1.1.1',
  );
  out.push({ name: 'synthetic-untimed-with-errors', text: untimed.join('\n'), view: benchView });
  return out;
}
