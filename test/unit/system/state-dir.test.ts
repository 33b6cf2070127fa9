// The state directory takes runtime state only, and only in a directory replyguard made:
// a path like /etc/hotplug.d/iface (whose files OpenWrt's hotplug-call sources as shell)
// gets nothing written into it, even when a config or a flag names it. A reload does
// not move it (the log says it changes only after a restart, and so it is).

import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfigText } from '../../../src/config/config-text';
import { Daemon } from '../../../src/daemon/daemon';
import { rememberAnnounced } from '../../../src/outputs/mqtt-announced';
import { statusPath, writeStatusAtomic } from '../../../src/outputs/status-file';
import { createLogger } from '../../../src/system/log';
import { ensureStateDir, StateDirError } from '../../../src/system/state-dir';

const root = mkdtempSync(join(tmpdir(), 'rg-statedir-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `d${n++}`);

describe('ensureStateDir', () => {
  it('creates a missing directory, mode 0755, and takes it from then on', () => {
    const dir = fresh();
    ensureStateDir(dir);
    writeStatusAtomic(dir, { ok: 1 });
    writeStatusAtomic(dir, { ok: 2 });
    assert.deepEqual(readdirSync(dir), ['status.json']);
  });

  it('refuses a directory that holds files that are not its own (the hotplug.d attack), writing nothing', () => {
    // A stand-in for /etc/hotplug.d/iface: a root-owned 0755 directory with a script in it.
    const dir = fresh();
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(join(dir, '20-firewall'), '#!/bin/sh\n');
    assert.throws(() => writeStatusAtomic(dir, { x: '$(id>pwned)' }), StateDirError);
    const warnings: string[] = [];
    rememberAnnounced(
      dir,
      { discovery: 'a', base: 'b' } as never,
      createLogger('warn', (l) => warnings.push(l)),
    );
    assert.match(warnings.join(''), /cannot remember the announced topics .*holds files that are not replyguard's/);
    assert.deepEqual(readdirSync(dir), ['20-firewall']);
    assert.match(
      (() => {
        try {
          ensureStateDir(dir);
        } catch (err) {
          return (err as Error).message;
        }
        return '';
      })(),
      /holds files that are not replyguard's \(20-firewall\); replyguard writes only into a directory it made itself/,
    );
  });

  it('refuses a symbolic link, a file, and a directory others may write into', () => {
    const target = fresh();
    mkdirSync(target);
    const link = fresh();
    symlinkSync(target, link);
    assert.throws(() => ensureStateDir(link), /is a symbolic link/);
    const file = fresh();
    writeFileSync(file, '');
    assert.throws(() => ensureStateDir(file), /is not a directory/);
    const open = fresh();
    mkdirSync(open);
    chmodSync(open, 0o777);
    assert.throws(() => ensureStateDir(open), /others may write into it \(mode 777\)/);
    assert.equal(existsSync(join(target, 'status.json')), false);
  });

  it('takes a directory that holds only its own files (an earlier run, an upgrade)', () => {
    const dir = fresh();
    mkdirSync(dir);
    for (const f of ['status.json', 'mqtt-announced.json', 'status.json.123.tmp', 'children.pids'])
      writeFileSync(join(dir, f), '{}');
    assert.doesNotThrow(() => ensureStateDir(dir));
  });

  it('escapes a hostile file name in its message', () => {
    const dir = fresh();
    mkdirSync(dir);
    writeFileSync(join(dir, '\u001b[31mred'), '');
    assert.throws(
      () => ensureStateDir(dir),
      (err: Error) => err.message.includes('\\x1b[31mred') && !err.message.includes('\u001b'),
    );
  });
});

describe('reload (SIGHUP) and state_dir', () => {
  it('keeps writing where it started: state_dir changes only after a restart, as the log says', async () => {
    const a = join(root, 'reload-a');
    const b = join(root, 'reload-b');
    const ini = (dir: string) =>
      `[main]\nlan_interfaces = lo\nlan_subnets = 192.168.50.0/24\nstate_dir = ${dir}\nprobe = off\n`;
    // The path check is the config's; here both are plain test directories (the daemon gets them via --state-dir).
    const configA = parseConfigText(ini('/var/run/a'), 'a.ini');
    configA.main.stateDir = a;
    const configB = parseConfigText(ini('/var/run/b'), 'b.ini');
    configB.main.stateDir = b;
    const logs: string[] = [];
    const daemon = new Daemon(configA, {
      version: 'test',
      nodeId: 'test',
      log: createLogger('info', (l) => logs.push(l)),
    });
    daemon.reload(configB);
    await new Promise((r) => setTimeout(r, 100));
    await daemon.stop();
    assert.match(logs.join(''), /reload: 'stateDir' changes only after a restart/);
    assert.equal(existsSync(statusPath(b)), false, 'nothing written to the new state_dir before a restart');
    assert.ok(JSON.parse(readFileSync(statusPath(a), 'utf8')).version);
  });
});
