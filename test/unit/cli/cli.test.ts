// The bundle as a user runs it: exit codes and messages.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BUNDLE } from '../../helpers/daemon';

const dir = mkdtempSync(join(tmpdir(), 'rg-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function rg(...args: string[]) {
  const r = spawnSync(process.execPath, [BUNDLE, ...args], { encoding: 'utf8', timeout: 10_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('replyguard CLI', () => {
  it('is one executable file with a shebang', () => {
    assert.ok(statSync(BUNDLE).mode & 0o100);
    const r = spawnSync(BUNDLE, ['--version'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^replyguard \d+\.\d+\.\d+\n$/);
  });

  it('prints help for each command', () => {
    for (const cmd of ['run', 'status', 'analyze']) {
      const r = rg(cmd, '--help');
      assert.equal(r.code, 0);
      assert.match(r.out, new RegExp(`Usage: replyguard ${cmd}`));
    }
    assert.match(rg('--help').out, /Commands:/);
  });

  it('rejects unknown commands and options with exit 64', () => {
    assert.equal(rg('frobnicate').code, 64);
    const r = rg('status', '--jsn');
    assert.equal(r.code, 64);
    assert.match(r.err, /unknown option --jsn/);
  });

  it('exits 78 on a config it cannot use, naming file, section and key', () => {
    const bad = join(dir, 'bad.ini');
    writeFileSync(
      bad,
      '[main]\nlan_interfaces = br-lan\n[forward.nas]\nhost = 192.168.1.300\nport = 70000\nwan_prot = 9443\n',
    );
    const r = rg('run', '--config', bad, '--state-dir', join(dir, 'state'));
    assert.equal(r.code, 78);
    assert.match(r.err, /bad\.ini.*section 'nas'.*option 'host'/);
    assert.match(r.err, /option 'port'.*70000/);
    assert.match(r.err, /wan_prot.*did you mean 'wan_port'/);
  });

  it('exits 78 on a missing config file', () => {
    const r = rg('run', '--config', join(dir, 'nope.ini'));
    assert.equal(r.code, 78);
    assert.match(r.err, /nope\.ini/);
  });

  it('status without a running daemon says so and exits 3', () => {
    const r = rg('status', '--state-dir', join(dir, 'empty'));
    assert.equal(r.code, 3);
    assert.match(r.err, /is the daemon running/);
  });

  it('analyze names an unreadable capture (66) and reads stdin', () => {
    assert.equal(rg('analyze', join(dir, 'missing.txt')).code, 66);
    const line =
      '    [NEW] ipv4     2 tcp      6 300 ESTABLISHED src=192.168.50.10 dst=203.0.113.50 sport=443 dport=35660 [UNREPLIED] src=192.168.50.2 dst=192.168.50.10 sport=7892 dport=443\n';
    const r = spawnSync(process.execPath, [BUNDLE, 'analyze', '-', '--lan', '192.168.50.0/24'], {
      input: `${line}garbage line\n`,
      encoding: 'utf8',
    });
    assert.equal(r.status, 2);
    assert.match(r.stdout, /BROKEN: TCP 192\.168\.50\.10:443/);
    assert.match(r.stdout, /1 unreadable/);
  });
});
