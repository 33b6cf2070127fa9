// The daemon with stand-ins for conntrack, ip and tc and a golden ruleset:
// building status.json only reads, and a part that fails to start or stop
// leaves the others running.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Config, DEFAULT_MAIN } from '../../../src/config/config';
import { Daemon } from '../../../src/daemon/daemon';
import type { StatusOutput } from '../../../src/outputs/status-output';
import { makeSnapshot } from '../../../src/ruleset/ruleset-snapshot';
import { readDumpDir } from '../../../src/sensors/ruleset-reader';
import type { StatusDocument } from '../../../src/status/status-schema';
import { createLogger } from '../../../src/system/log';

const RULESET = join(__dirname, '..', '..', 'golden', 'rulesets', 'openclash-fw4-fakeip');
const dir = mkdtempSync(join(tmpdir(), 'rg-daemon-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/bash\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** A reply of the forward's server redirected to this router's port 7892, stamped now; then quiet. */
const CONNTRACK = script(
  'conntrack',
  `if [ "$1" = "-L" ]; then echo 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.' >&2; exit 0; fi
if [ "$3" = "NEW" ]; then
  printf '[%s.000000]\\t    [NEW] ipv4     2 tcp      6 300 ESTABLISHED src=192.168.1.10 dst=203.0.113.50 sport=443 dport=35660 [UNREPLIED] src=192.168.1.2 dst=192.168.1.10 sport=7892 dport=443 id=11\\n' "$(date +%s)"
fi
exec sleep 30`,
);
const IP = script('ip', `cat '${join(RULESET, 'ip-addr.json')}'`);
const TC = script(
  'tc',
  `if [ "$1" = monitor ]; then exec sleep 30; fi
echo '[]'`,
);

const config: Config = {
  source: 'test',
  main: { ...DEFAULT_MAIN, stateDir: join(dir, 'state'), probe: 'off', statusInterval: 3600 },
  mqtt: { enabled: false },
  forwards: [{ name: 'nas', host: '192.168.1.10', port: 443, proto: 'tcp' }],
};

function makeDaemon(logs: string[]): Daemon {
  return new Daemon(config, {
    version: 'test',
    nodeId: 'unit',
    log: createLogger('debug', (l) => logs.push(l)),
    conntrackCommand: CONNTRACK,
    ipCommand: IP,
    tcCommand: TC,
    ruleset: {
      nftCommand: null,
      watch: {
        nftCommand: null,
        legacySaveCommand: null,
        safetyPollMs: 3_600_000,
        read: async () => ({ snapshot: makeSnapshot(readDumpDir(RULESET)), problems: [] }),
      },
    },
  });
}

/** An output that keeps what it is given. */
function recorder(extra: Partial<StatusOutput> = {}) {
  const docs: StatusDocument[] = [];
  const output: StatusOutput = {
    name: 'mqtt',
    start: async () => {},
    stop: async () => {},
    status: () => ({ state: 'connected', broker: 'mqtt://broker:1883' }),
    publish: (doc) => docs.push(doc),
    ...extra,
  };
  return { output, docs };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await sleep(10);
  }
}

/** Until nothing was written for `ms`. */
async function quiet(docs: readonly unknown[], ms = 300): Promise<void> {
  let n = -1;
  while (n !== docs.length) {
    n = docs.length;
    await sleep(ms);
  }
}

describe('Daemon', () => {
  it('builds status.json from what the parts were told when things changed: twice alike, nothing fired', async () => {
    const logs: string[] = [];
    const daemon = makeDaemon(logs);
    const { output, docs } = recorder();
    daemon.addOutput(output);
    await daemon.start();
    try {
      const hijacked = (d?: StatusDocument) => d?.findings.find((f) => f.kind === 'reply_hijacked');
      await until('the hijack, attributed', () => hijacked(docs.at(-1))?.rule != null);
      await quiet(docs);
      const written = docs.length;
      const now = Date.now();
      const first = daemon.statusDocument(now);
      // A look past the finding's hold (no expiry was told yet) changes nothing either.
      daemon.statusDocument(now + 2 * config.main.problemHold * 1000);
      const second = daemon.statusDocument(now);
      assert.deepEqual(second, first);
      await sleep(100);
      assert.equal(docs.length, written, 'no callback fired: no write followed');

      // The ruleset unit was told when the finding appeared: rule, opening in the timeline.
      const f = hijacked(first)!;
      assert.equal(f.id, 'hijack-tcp-192.168.1.10-443');
      assert.equal(f.rule?.chain, 'openclash');
      assert.ok(
        first.timeline.some((e) => e.kind === 'finding_opened' && e.finding === f.id),
        JSON.stringify(first.timeline),
      );
      assert.equal(first.proxy?.name, 'openclash');
      assert.equal(first.schema, 2);
      assert.deepEqual(first.outputs, { mqtt: { state: 'connected', broker: 'mqtt://broker:1883' } });
      assert.deepEqual(Object.keys(first.sensors).sort(), ['addresses', 'conntrack', 'ebpf', 'probe']);
    } finally {
      await daemon.stop();
    }
  });

  it('an output that fails to start or stop is logged; the sensors start and stop all the same', async () => {
    const logs: string[] = [];
    const daemon = makeDaemon(logs);
    const { output, docs } = recorder({
      start: async () => {
        throw new Error('no broker here');
      },
      stop: async () => {
        throw new Error('still no broker');
      },
    });
    daemon.addOutput(output);
    await daemon.start();
    try {
      await until('conntrack running', () => docs.at(-1)?.sensors.conntrack.state === 'running');
      assert.ok(
        logs.some((l) => /mqtt: cannot start: no broker here/.test(l)),
        logs.join('\n'),
      );
      assert.equal(docs.at(-1)?.sensors.addresses.state, 'running');
    } finally {
      await daemon.stop();
    }
    assert.equal(docs.at(-1)?.sensors.conntrack.state, 'stopped');
    assert.ok(
      logs.some((l) => /mqtt: stop failed: still no broker/.test(l)),
      logs.join('\n'),
    );
  });
});
