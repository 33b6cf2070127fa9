// The daemon's ruleset unit with a fake ruleset reader: predictions,
// attribution, the change timeline and the status part.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type Config, DEFAULT_MAIN } from '../../../src/config/config';
import { RulesetUnit } from '../../../src/daemon/ruleset-unit';
import type { Finding } from '../../../src/detector/finding';
import { makeSnapshot } from '../../../src/ruleset/ruleset-snapshot';
import { readDumpDir } from '../../../src/sensors/ruleset-reader';
import { createLogger } from '../../../src/system/log';

const DIR = join(__dirname, '..', '..', 'golden', 'rulesets');

const config: Config = {
  source: 'test',
  main: { ...DEFAULT_MAIN },
  mqtt: { enabled: false },
  forwards: [{ name: 'nas', host: '192.168.1.10', port: 443, proto: 'tcp' }],
};

function makeUnit() {
  let next = 'openclash-fw4-fakeip';
  let changes = 0;
  const unit = new RulesetUnit(
    config,
    createLogger('error', () => {}),
    { onChange: () => changes++ },
    {
      nftCommand: null,
      watch: {
        nftCommand: null,
        legacySaveCommand: null,
        safetyPollMs: 3_600_000,
        read: async () => ({ snapshot: makeSnapshot(readDumpDir(join(DIR, next))), problems: [] }),
      },
    },
  );
  return { unit, load: (name: string) => (next = name), changes: () => changes };
}

function hijack(firstSeen: string): Finding {
  return {
    id: 'hijack-tcp-192.168.1.10-443',
    kind: 'reply_hijacked',
    severity: 'problem',
    state: 'active',
    proto: 'tcp',
    server: '192.168.1.10:443',
    forward: 'nas',
    peers: ['93.184.216.34'],
    count: 1,
    first_seen: firstSeen,
    last_seen: firstSeen,
    summary: 'redirected',
    evidence: ['redirected'],
    fix: [],
  };
}

/** The detector's findings told to the unit, then its part of status.json. */
function partAfter(unit: RulesetUnit, findings: Finding[]) {
  unit.noteFindings(findings);
  return unit.status();
}

describe('RulesetUnit', () => {
  it('predicts, records changes, links findings to the change before them', async () => {
    const { unit, load, changes } = makeUnit();
    await unit.start();
    try {
      let part = partAfter(unit, []);
      assert.equal(part.proxy?.name, 'openclash');
      assert.equal(part.ruleset.backend, 'nft');
      assert.match(part.ruleset.fingerprint ?? '', /^[0-9a-f]{16}$/);
      assert.equal(part.ruleset.changed_at, null);
      assert.deepEqual(
        part.atRisk.map((r) => [r.id, r.rule?.chain]),
        [['risk-tcp-192.168.1.10-443', 'openclash']],
      );
      assert.deepEqual(
        part.timeline.map((e) => e.kind),
        ['finding_opened'],
      );
      assert.ok(changes() > 0);

      // The proxy stops: its rules are gone, the risk clears.
      load('empty');
      await unit.recheck();
      part = partAfter(unit, []);
      assert.equal(part.proxy, null);
      assert.deepEqual(part.atRisk, []);
      assert.notEqual(part.ruleset.changed_at, null);
      assert.equal(part.ruleset.changes.length, 1);
      assert.deepEqual(
        part.timeline.map((e) => e.kind),
        ['finding_opened', 'ruleset_changed', 'finding_cleared'],
      );
      assert.match(
        part.timeline[1]!.summary,
        /^OpenClash \(fw4\)'s rules changed \(table inet fw4 removed \(had \d+ chains, \d+ rules\)/,
      );

      // It starts again; an outside client fails a little later.
      load('openclash-fw4-fakeip');
      await unit.recheck();
      const seen = new Date(Date.now() + 1000).toISOString();
      part = partAfter(unit, [hijack(seen)]);
      const f = part.findings[0]!;
      assert.equal(f.rule?.chain, 'openclash');
      assert.equal(f.proxy, 'OpenClash (fw4)');
      assert.match(f.since_change ?? '', /^first seen 1 s after OpenClash \(fw4\)'s rules changed/);
      assert.deepEqual(part.atRisk, [], 'a server seen hijacked is not also "at risk"');
      assert.equal(part.timeline.at(-1)?.kind, 'finding_opened');
      assert.match(part.timeline.at(-1)!.summary, /^hijacked: redirected \(first seen 1 s after/);
      assert.equal(part.ruleset.changes.length, 2);

      // An unchanged re-read is no change.
      const before = part.ruleset.changes.length;
      await unit.recheck();
      assert.equal(partAfter(unit, [hijack(seen)]).ruleset.changes.length, before);
    } finally {
      unit.stop();
    }
  });

  it('learns servers from findings and predicts them', async () => {
    const { unit } = makeUnit();
    await unit.start();
    try {
      const asym: Finding = {
        ...hijack(new Date().toISOString()),
        id: 'asym-tcp-192.168.1.30-8443',
        kind: 'asymmetric_reply',
        severity: 'info',
        server: '192.168.1.30:8443',
      };
      delete asym.forward;
      const part = partAfter(unit, [asym]);
      assert.deepEqual(part.atRisk.map((r) => r.server).sort(), ['192.168.1.10:443', '192.168.1.30:8443']);
    } finally {
      unit.stop();
    }
  });

  it('learns when told of findings; status() only reads', async () => {
    const { unit, changes } = makeUnit();
    await unit.start();
    try {
      const asym: Finding = {
        ...hijack(new Date().toISOString()),
        id: 'asym-tcp-192.168.1.30-8443',
        kind: 'asymmetric_reply',
        severity: 'info',
        server: '192.168.1.30:8443',
      };
      const before = changes();
      unit.noteFindings([asym]);
      assert.equal(changes(), before + 1, 'a new server predicted at risk is a change');
      const told = changes();
      const first = unit.status();
      assert.deepEqual(unit.status(), first);
      assert.equal(changes(), told, 'reading fired no onChange');
      assert.ok(first.timeline.some((e) => e.kind === 'finding_opened' && e.finding === 'risk-tcp-192.168.1.30-8443'));
    } finally {
      unit.stop();
    }
  });
});
