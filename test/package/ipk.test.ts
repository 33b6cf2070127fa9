// The OpenWrt packages `make ipk` builds, unpacked with plain tar and checked the
// way opkg on 23.05/24.10 reads them; then the unpacked tree is run: the bundle,
// the default UCI config, the shell scripts, and the init script under a procd
// stub that records what it asks for.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { buildAll } from '../../openwrt/tools/build-ipk';
import { lmoTranslate } from '../../openwrt/tools/lmo';
import { makeTar, readTar, type TarMember } from '../../openwrt/tools/tar';
import { parseConfigText } from '../../src/config/config-text';

const ROOT = join(__dirname, '..', '..');
const BUNDLE = join(ROOT, 'dist', 'replyguard.js');
const VERSION = `${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}-r1`;
const EPOCH = 1764028800; // 2025-11-25T00:00:00Z

const NAMES = {
  daemon: `replyguard_${VERSION}_all.ipk`,
  luci: `luci-app-replyguard_${VERSION}_all.ipk`,
  i18n: `luci-i18n-replyguard-zh-cn_${VERSION}_all.ipk`,
};

function tarList(file: string): string[] {
  return execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

interface Unpacked {
  dir: string;
  outer: TarMember[];
  control: TarMember[];
  data: TarMember[];
  root: string;
  controlDir: string;
  field: (name: string) => string | undefined;
}

/** Unpacks an .ipk with the system's tar into dir/{outer,control,root}; headers are read too. */
function unpack(ipk: string, dir: string): Unpacked {
  const outerDir = join(dir, 'outer');
  const controlDir = join(dir, 'control');
  const root = join(dir, 'root');
  for (const d of [outerDir, controlDir, root]) mkdirSync(d, { recursive: true });
  execFileSync('tar', ['-xzf', ipk, '-C', outerDir]);
  execFileSync('tar', ['-xzf', join(outerDir, 'control.tar.gz'), '-C', controlDir]);
  execFileSync('tar', ['-xzpf', join(outerDir, 'data.tar.gz'), '-C', root, '--no-same-owner']);
  const outer = readTar(gunzipSync(readFileSync(ipk)));
  const control = readTar(gunzipSync(readFileSync(join(outerDir, 'control.tar.gz'))));
  const data = readTar(gunzipSync(readFileSync(join(outerDir, 'data.tar.gz'))));
  const controlText = readFileSync(join(controlDir, 'control'), 'utf8');
  const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(controlText)?.[1];
  return { dir, outer, control, data, root, controlDir, field };
}

const isGzip = (b: Buffer) => b[0] === 0x1f && b[1] === 0x8b && b[2] === 8;

describe('make ipk', () => {
  let out1: string;
  let out2: string;
  let work: string;
  const pkgs: Record<keyof typeof NAMES, Unpacked> = {} as Record<keyof typeof NAMES, Unpacked>;

  before(() => {
    if (!existsSync(BUNDLE)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
    work = mkdtempSync(join(tmpdir(), 'rg-ipk-'));
    out1 = join(work, 'one');
    out2 = join(work, 'two');
    const saved = process.env.SOURCE_DATE_EPOCH;
    process.env.SOURCE_DATE_EPOCH = String(EPOCH);
    try {
      buildAll(out1, BUNDLE);
      // The second build runs the command `make ipk` runs, in a child process.
      execFileSync(process.execPath, ['--import', 'tsx', 'openwrt/tools/build-ipk.ts', '--out', out2], {
        cwd: ROOT,
        env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) },
      });
    } finally {
      if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = saved;
    }
    for (const [k, name] of Object.entries(NAMES)) {
      pkgs[k as keyof typeof NAMES] = unpack(join(out1, name), join(work, k));
    }
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('builds the three packages, named <pkg>_<X.Y.Z-rN>_all.ipk', () => {
    assert.deepEqual(readdirSync(out1).sort(), Object.values(NAMES).sort());
  });

  it('is reproducible: two builds are byte-identical', () => {
    for (const name of Object.values(NAMES)) {
      assert.ok(readFileSync(join(out1, name)).equals(readFileSync(join(out2, name))), name);
    }
  });

  it('is a gzip’d tar (not ar) of ./debian-binary, ./data.tar.gz, ./control.tar.gz, as ipkg-build writes', () => {
    for (const [k, name] of Object.entries(NAMES)) {
      const file = readFileSync(join(out1, name));
      assert.ok(isGzip(file), `${name} is gzip`);
      assert.notEqual(file.subarray(0, 7).toString('latin1'), '!<arch>', 'not ar');
      assert.deepEqual(tarList(join(out1, name)), ['./debian-binary', './data.tar.gz', './control.tar.gz']);
      const p = pkgs[k as keyof typeof NAMES];
      assert.equal(readFileSync(join(p.dir, 'outer', 'debian-binary'), 'utf8'), '2.0\n');
      for (const inner of ['data.tar.gz', 'control.tar.gz'])
        assert.ok(isGzip(readFileSync(join(p.dir, 'outer', inner))));
    }
  });

  it('uses GNU tar headers only (no PAX), owner 0:0 with numeric ids, one mtime, sorted names', () => {
    for (const [k, p] of Object.entries(pkgs)) {
      for (const [what, members] of [
        ['outer', p.outer],
        ['control', p.control],
        ['data', p.data],
      ] as const) {
        for (const m of members) {
          assert.ok(m.type === '0' || m.type === '5', `${k} ${what} ${m.name}: typeflag ${m.type}`);
          assert.equal(m.magic, 'ustar  \0', `${k} ${what} ${m.name}: GNU magic`);
          assert.equal(m.uid, 0);
          assert.equal(m.gid, 0);
          assert.equal(m.uname, '');
          assert.equal(m.gname, '');
          assert.equal(m.mtime, EPOCH);
          assert.ok(m.name.startsWith('./'), m.name);
        }
        if (what !== 'outer') {
          // tar --sort=name: each directory's entries in byte order, depth first.
          const names = members.map((m) => m.name);
          const walk = [...names].sort((a, b) => {
            const pa = a.split('/').filter(Boolean);
            const pb = b.split('/').filter(Boolean);
            for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
              if (pa[i] !== pb[i]) return Buffer.compare(Buffer.from(pa[i]!), Buffer.from(pb[i]!));
            }
            return pa.length - pb.length;
          });
          assert.deepEqual(names, walk, `${k} ${what} order`);
          assert.equal(names[0], './');
        }
      }
    }
  });

  it('has the control fields, conffiles and maintainer scripts of an OpenWrt package', () => {
    const d = pkgs.daemon;
    assert.equal(d.field('Package'), 'replyguard');
    assert.equal(d.field('Version'), VERSION);
    assert.equal(d.field('Depends'), 'libc, node, conntrack, kmod-nf-conntrack-netlink, ip-full');
    assert.equal(d.field('Architecture'), 'all');
    assert.equal(d.field('License'), 'MIT');
    assert.equal(d.field('Section'), 'net');
    for (const f of ['Source', 'Maintainer', 'Description']) assert.ok(d.field(f), f);
    const dataSize = gunzipSync(readFileSync(join(d.dir, 'outer', 'data.tar.gz'))).length;
    assert.equal(d.field('Installed-Size'), String(dataSize));
    assert.equal(readFileSync(join(d.controlDir, 'conffiles'), 'utf8'), '/etc/config/replyguard\n');

    assert.equal(pkgs.luci.field('Package'), 'luci-app-replyguard');
    assert.equal(pkgs.luci.field('Depends'), 'libc, luci-base, replyguard');
    assert.equal(pkgs.luci.field('Section'), 'luci');
    assert.equal(pkgs.i18n.field('Package'), 'luci-i18n-replyguard-zh-cn');
    assert.equal(pkgs.i18n.field('Depends'), 'libc, luci-app-replyguard');
    for (const p of Object.values(pkgs)) {
      assert.equal(p.field('Architecture'), 'all');
      assert.equal(p.field('Version'), VERSION);
      const postinst = readFileSync(join(p.controlDir, 'postinst'), 'utf8');
      const prerm = readFileSync(join(p.controlDir, 'prerm'), 'utf8');
      assert.match(postinst, /^#!\/bin\/sh\n/);
      assert.match(postinst, /\. \$\{IPKG_INSTROOT\}\/lib\/functions\.sh\ndefault_postinst \$0 \$@\n$/);
      assert.match(prerm, /\. \$\{IPKG_INSTROOT\}\/lib\/functions\.sh\ndefault_prerm \$0 \$@\n$/);
      for (const m of p.control) if (/postinst|prerm/.test(m.name)) assert.equal(m.mode, 0o755, m.name);
    }
    assert.match(readFileSync(join(pkgs.luci.controlDir, 'postinst-pkg'), 'utf8'), /killall -HUP rpcd/);
  });

  it('installs the daemon, init script and config with the right modes', () => {
    const modes = new Map(pkgs.daemon.data.map((m) => [m.name, m.mode]));
    assert.equal(modes.get('./usr/sbin/replyguard'), 0o755);
    assert.equal(modes.get('./etc/init.d/replyguard'), 0o755);
    assert.equal(modes.get('./etc/config/replyguard'), 0o600);
    assert.equal(modes.get('./etc/uci-defaults/90_replyguard'), 0o755);
    const root = pkgs.daemon.root;
    assert.equal(statSync(join(root, 'usr/sbin/replyguard')).mode & 0o777, 0o755);
    assert.equal(statSync(join(root, 'etc/init.d/replyguard')).mode & 0o777, 0o755);
    assert.ok(readFileSync(join(root, 'usr/sbin/replyguard')).equals(readFileSync(BUNDLE)));
    assert.match(readFileSync(join(root, 'usr/sbin/replyguard'), 'utf8'), /^#!\/usr\/bin\/env node\n/);
  });

  it('ships the views, menu and ACL, valid and consistent with each other', () => {
    const root = pkgs.luci.root;
    const viewDir = join(root, 'www/luci-static/resources/view/replyguard');
    assert.deepEqual(readdirSync(viewDir).sort(), ['settings.js', 'status.js']);
    const menu = JSON.parse(readFileSync(join(root, 'usr/share/luci/menu.d/luci-app-replyguard.json'), 'utf8'));
    const acl = JSON.parse(readFileSync(join(root, 'usr/share/rpcd/acl.d/luci-app-replyguard.json'), 'utf8'));
    assert.deepEqual(Object.keys(acl), ['luci-app-replyguard']);
    const top = menu['admin/services/replyguard'];
    assert.deepEqual(top.depends.acl, ['luci-app-replyguard']);
    const views = Object.values(menu as Record<string, { action: { type: string; path?: string } }>)
      .filter((e) => e.action.type === 'view')
      .map((e) => e.action.path);
    assert.deepEqual(views.sort(), ['replyguard/settings', 'replyguard/status']);
    for (const v of views) assert.ok(existsSync(join(root, 'www/luci-static/resources/view', `${v}.js`)), v);

    const status = readFileSync(join(viewDir, 'status.js'), 'utf8');
    const settings = readFileSync(join(viewDir, 'settings.js'), 'utf8');
    const statusFile = /var STATUS_FILE = '([^']+)'/.exec(status)?.[1];
    const initScript = /var INIT_SCRIPT = '([^']+)'/.exec(status)?.[1];
    const g = acl['luci-app-replyguard'];
    // Least privilege: exactly the file the page reads, exactly the command it runs, only its UCI config.
    assert.deepEqual(g.read.file, { [statusFile!]: ['read'] });
    assert.deepEqual(g.write.file, { [`${initScript} recheck`]: ['exec'] });
    assert.match(status, /fs\.exec\(INIT_SCRIPT, \[ 'recheck' \]\)/);
    assert.deepEqual(g.read.uci, ['replyguard']);
    assert.deepEqual(g.write.uci, ['replyguard']);
    assert.deepEqual(g.read.ubus, { file: ['read'], service: ['list'] });
    assert.deepEqual(g.write.ubus, { file: ['exec'] });
    assert.match(settings, /new form\.Map\('replyguard'/);
    assert.match(status, /object: 'service',\s+method: 'list'/);
    // The views compile as LuCI compiles them: function bodies whose 'require' names are parameters.
    for (const src of [status, settings]) {
      const names = [...src.matchAll(/^'require (\S+)';$/gm)].map((m) => m[1]!);
      assert.doesNotThrow(() => new Function(...names, src));
    }
  });

  it('ships the compiled zh-cn catalog and registers the language', () => {
    const root = pkgs.i18n.root;
    const lmo = readFileSync(join(root, 'usr/lib/lua/luci/i18n/replyguard.zh-cn.lmo'));
    assert.equal(lmoTranslate(lmo, 'Re-check now'), '立即重新检查');
    assert.equal(lmoTranslate(lmo, 'Status'), '状态');
    assert.equal(
      readFileSync(join(root, 'etc/uci-defaults/luci-i18n-replyguard-zh-cn'), 'utf8'),
      "uci set luci.languages.zh_cn='简体中文 (Chinese Simplified)'; uci commit luci\n",
    );
  });

  describe('the unpacked tree works', () => {
    it('node <root>/usr/sbin/replyguard --version', () => {
      const out = execFileSync(process.execPath, [join(pkgs.daemon.root, 'usr/sbin/replyguard'), '--version'], {
        encoding: 'utf8',
      });
      assert.equal(out.trim(), `replyguard ${VERSION.replace(/-r\d+$/, '')}`);
    });

    it("the shipped default UCI config parses with the daemon's parser", () => {
      const text = readFileSync(join(pkgs.daemon.root, 'etc/config/replyguard'), 'utf8');
      const config = parseConfigText(text, '/etc/config/replyguard');
      assert.deepEqual(config.main.lanInterfaces, ['br-lan']);
      assert.equal(config.mqtt.enabled, false);
      assert.deepEqual(config.forwards, []);
    });

    it('every shell script passes sh -n', () => {
      const scripts = [
        join(pkgs.daemon.root, 'etc/init.d/replyguard'),
        join(pkgs.daemon.root, 'etc/uci-defaults/90_replyguard'),
        join(pkgs.i18n.root, 'etc/uci-defaults/luci-i18n-replyguard-zh-cn'),
      ];
      for (const p of Object.values(pkgs))
        for (const f of readdirSync(p.controlDir)) if (/^(postinst|prerm)/.test(f)) scripts.push(join(p.controlDir, f));
      assert.ok(scripts.length >= 9);
      for (const s of scripts) execFileSync('sh', ['-n', s]);
    });

    it('the init script asks procd for the command, respawn, logd output and the reload trigger', () => {
      const dir = mkdtempSync(join(tmpdir(), 'rg-procd-'));
      try {
        const log = join(dir, 'calls.log');
        const stub = join(dir, 'procd.sh');
        writeFileSync(
          stub,
          [
            '# stub of /lib/functions/procd.sh: records every call',
            'rec() { printf "%s\\n" "$*" >> "$PROCD_LOG"; }',
            'procd_open_instance() { rec open_instance "$@"; }',
            'procd_set_param() { rec set_param "$@"; }',
            'procd_append_param() { rec append_param "$@"; }',
            'procd_close_instance() { rec close_instance; }',
            'procd_add_reload_trigger() { rec reload_trigger "$@"; }',
            'procd_send_signal() { rec send_signal "$@"; }',
            '# stubs of rc.common: procd says whether the instance runs ($RUNNING)',
            'service_running() { rec service_running "$@"; [ "$RUNNING" = 1 ]; }',
            'stop() { rec stop; }',
            'start() { rec start; }',
            '',
          ].join('\n'),
        );
        chmodSync(stub, 0o644);
        const init = join(pkgs.daemon.root, 'etc/init.d/replyguard');
        // What rc.common does for start / reload with USE_PROCD=1: source procd.sh and the script, call the hooks.
        const vars = execFileSync(
          'sh',
          [
            '-c',
            '. "$1"; . "$2"; start_service; service_triggers; RUNNING=1 reload_service; RUNNING=0 reload_service; recheck; echo "USE_PROCD=$USE_PROCD START=$START EXTRA_COMMANDS=$EXTRA_COMMANDS"',
            'sh',
            stub,
            init,
          ],
          { env: { PATH: process.env.PATH, PROCD_LOG: log }, encoding: 'utf8' },
        );
        assert.equal(vars.trim(), 'USE_PROCD=1 START=95 EXTRA_COMMANDS=recheck');
        assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
          'open_instance replyguard',
          'set_param command /usr/sbin/replyguard run --config /etc/config/replyguard',
          'set_param respawn 3600 5 5',
          'set_param stdout 1',
          'set_param stderr 1',
          'set_param term_timeout 10',
          'close_instance',
          'reload_trigger replyguard',
          // Running: SIGHUP. Not running (procd gave up on a broken config): started again.
          'service_running replyguard',
          'send_signal replyguard',
          'service_running replyguard',
          'stop',
          'start',
          'send_signal replyguard * USR1',
        ]);
        assert.match(readFileSync(init, 'utf8'), /^#!\/bin\/sh \/etc\/rc\.common\n/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('tar writer', () => {
  it('writes GNU long names that tar reads back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-tar-'));
    try {
      const long = `./${'d'.repeat(60)}/${'f'.repeat(60)}.txt`;
      const file = join(dir, 't.tar');
      writeFileSync(
        file,
        makeTar(
          [
            { name: './', mode: 0o755 },
            { name: long, data: Buffer.from('hi'), mode: 0o644 },
          ],
          EPOCH,
        ),
      );
      assert.deepEqual(execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n'), ['./', long]);
      assert.equal(readTar(readFileSync(file))[1]?.name, long);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
