// Boots an OpenWrt root filesystem's own userland (procd as PID 1, ubus, rpcd, netifd, fw4, uhttpd, LuCI,
// opkg, BusyBox) in namespaces of its own, as a lab's side router. Every boot starts from the pristine tree
// (an overlay with a tmpfs upper layer); killing PID 1 ends everything it started.
//
// Not OpenWrt here: the kernel is the host's; `node`, `conntrack` and `ip` (iproute2, for ip-full) are the
// host's binaries bound in read-only with their glibc libraries, as the image has none of them. The
// packages that would bring them are stand-ins (test/openwrt/stand-ins.ts).

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const REPO = join(__dirname, '..', '..');
const DEFAULT_ROOTFS = join(REPO, '..', 'shared', 'openwrt', 'openwrt-23.05-x86_64-rootfs.tar.xz');
const BOOT_TIMEOUT_MS = 60_000;
/**
 * One boot at a time on this machine (test files run in parallel processes): five procd boots at once
 * took 27-30 s each here against 3 s alone; one after the other they take a few seconds each.
 */
const BOOT_LOCK = join(tmpdir(), 'replyguard-openwrt-boot.lock');
const BOOT_LOCK_WAIT_MS = 180_000;
const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
/** Capabilities PID 1 and everything entered never get: the host's kernel modules, clock, log and raw I/O. */
const BOUNDING = '-sys_module,-sys_time,-syslog,-sys_rawio';

/** The rootfs to boot, or why there is none (the OpenWrt tests then skip, saying so). */
export function openwrtRootfs(): { path: string } | { skip: string } {
  const given = process.env.RG_OPENWRT_ROOTFS;
  if (given) return existsSync(given) ? { path: given } : { skip: `RG_OPENWRT_ROOTFS=${given} does not exist` };
  if (existsSync(DEFAULT_ROOTFS)) return { path: DEFAULT_ROOTFS };
  return { skip: `no OpenWrt rootfs: set RG_OPENWRT_ROOTFS or put one at ${DEFAULT_ROOTFS}` };
}

/** Why OpenWrt cannot boot on this host (not root, tools missing), or undefined. */
export function rigUnavailable(): string | undefined {
  const rootfs = openwrtRootfs();
  if ('skip' in rootfs) return rootfs.skip;
  if (process.getuid?.() !== 0) return 'the OpenWrt rig needs root';
  for (const tool of ['unshare', 'nsenter', 'setpriv', 'chroot', 'tar']) {
    if (!which(tool)) return `the OpenWrt rig needs ${tool} (util-linux/coreutils)`;
  }
  return undefined;
}

function which(tool: string): string | undefined {
  for (const dir of `${process.env.PATH ?? ''}:${PATH}`.split(':')) {
    const p = join(dir, tool);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/**
 * The unpacked tree, shared read-only by every rig on this machine (the overlay's lower layer), keyed by
 * the archive's hash. Unpacked into a temporary name and renamed, so concurrent tests never see half a tree.
 */
export function lowerDir(rootfs: string): string {
  const hash = createHash('sha256').update(readFileSync(rootfs)).digest('hex').slice(0, 16);
  const base = join(tmpdir(), 'replyguard-openwrt');
  const dir = join(base, hash);
  if (existsSync(join(dir, 'sbin', 'procd'))) return dir;
  mkdirSync(base, { recursive: true });
  const tmp = mkdtempSync(join(base, `${hash}.unpacking-`));
  // GNU tar picks xz or gzip itself; --numeric-owner keeps uid 0 whatever the host's passwd says.
  execFileSync('tar', ['-xf', rootfs, '-C', tmp, '--numeric-owner'], { stdio: 'pipe' });
  // Official rootfs tarballs may hold the tree under one top directory.
  const root = existsSync(join(tmp, 'sbin', 'procd')) ? tmp : undefined;
  if (!root) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`${rootfs}: no sbin/procd in it (not an OpenWrt rootfs?)`);
  }
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another test unpacked it first
  }
  return dir;
}

/** Host binaries bound into the tree: [host path, path inside]; their libraries follow from ldd. */
const HOST_BINARIES: Array<[string, string]> = [
  ['node', '/usr/bin/node'],
  ['conntrack', '/usr/sbin/conntrack'],
  // ip-full's binary: OpenWrt installs it as /usr/libexec/ip-full behind the /sbin/ip alternative.
  ['ip', '/usr/libexec/ip-full'],
];

/** [host file, file inside] for every binary and every library ldd names (glibc's, in its own directory). */
function hostBinds(): Array<[string, string]> {
  const binds: Array<[string, string]> = [];
  for (const [tool, inside] of HOST_BINARIES) {
    const host = which(tool);
    if (!host) throw new Error(`the OpenWrt rig needs the host's ${tool}`);
    const real = realpathSync(host);
    binds.push([real, inside]);
    const ldd = execFileSync('ldd', [real], { encoding: 'utf8' });
    for (const line of ldd.split('\n')) {
      const lib = /=>\s+(\S+)\s+\(/.exec(line)?.[1];
      if (lib) binds.push([realpathSync(lib), `/lib/x86_64-linux-gnu/${lib.split('/').pop()}`]);
      const interp = /^\s*(\/\S*ld-linux\S*)\s+\(/.exec(line)?.[1];
      if (interp) binds.push([realpathSync(interp), '/lib/ld-linux-x86-64.so.2']);
    }
  }
  const seen = new Set<string>();
  return binds.filter(([, inside]) => !seen.has(inside) && seen.add(inside));
}

/** The init of the new namespaces: mounts, then procd (facts: shared/openwrt/README.md). */
const INIT = `#!/bin/sh
set -e
LOWER=$1 O=$2 FILES=$3 BINDS=$4
mount --make-rprivate /
mount -t tmpfs -o mode=0755 tmpfs "$O"
mkdir -p "$O/upper" "$O/work" "$O/merged"
M=$O/merged
mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$O/upper,workdir=$O/work" "$M"
mount -t proc -o nosuid,nodev,noexec proc "$M/proc"
for d in "$M/proc/sys" "$M/proc/sys/net" "$M/proc/sys/kernel/hostname"; do mount --bind "$d" "$d"; done
mount -o remount,bind,ro "$M/proc/sys"
mount -t sysfs -o nosuid,nodev,noexec sysfs "$M/sys"
mount --bind "$M/sys" "$M/sys"
mount --bind "$M/sys/devices/virtual/net" "$M/sys/devices/virtual/net"
mount -o remount,bind,ro "$M/sys"
mount -t tmpfs -o mode=0755,nosuid tmpfs "$M/dev"
mknod -m 666 "$M/dev/null" c 1 3; mknod -m 666 "$M/dev/zero" c 1 5; mknod -m 666 "$M/dev/full" c 1 7
mknod -m 666 "$M/dev/random" c 1 8; mknod -m 666 "$M/dev/urandom" c 1 9; mknod -m 666 "$M/dev/tty" c 5 0
mkdir -p "$M/dev/pts"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$M/dev/pts"
ln -s pts/ptmx "$M/dev/ptmx"; ln -s /tmp/shm "$M/dev/shm"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$M/tmp"
mkdir -p "$M/tmp/shm" "$M/tmp/run" "$M/tmp/lock" "$M/tmp/state"
while read -r host inside; do
  [ -n "$host" ] || continue
  mkdir -p "$M$(dirname "$inside")"
  [ -e "$M$inside" ] || touch "$M$inside"
  mount --bind "$host" "$M$inside"
  mount -o remount,bind,ro "$M$inside"
done < "$BINDS"
cp -a "$FILES/." "$M/"
exec setpriv --bounding-set ${BOUNDING} env -i container=replyguard-rig PATH=${PATH} HOME=/root chroot "$M" /sbin/procd
`;

export interface RigOptions {
  /** Files written into the tree before procd starts (path inside → content), e.g. /etc/config/network. */
  files?: Record<string, string>;
  /** A network namespace name (`ip netns attach`), so that `ip -n NAME` and veth `netns NAME` reach it. */
  netnsName: string;
  /** Called as soon as PID 1 exists, before the boot finishes: a caller's last-resort cleanup can kill it. */
  onStarted?: (pid: number) => void;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface OpenWrtRig {
  /** PID 1 of the rig, as the host sees it. */
  readonly pid: number;
  readonly netnsName: string;
  /** Runs a shell command line inside OpenWrt (its /bin/sh, its PATH, its tools), optionally with stdin. */
  sh(script: string, opts?: { input?: string | Buffer; timeoutMs?: number }): Promise<ExecResult>;
  /** The argv that runs argv inside OpenWrt, for callers that spawn it themselves. */
  enterArgv(argv: string[]): string[];
  /** The same with an argument vector. */
  exec(argv: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): Promise<ExecResult>;
  /** A long-running process inside OpenWrt; killed when the rig stops (the pid namespace dies). */
  spawn(argv: string[]): ChildProcess;
  /** Polls until procd logged "init complete" (ubusd, logd, netifd, firewall … started). */
  waitBooted(timeoutMs?: number): Promise<void>;
  /** Kills PID 1 (the kernel ends the whole pid namespace), detaches the netns name, removes the temp dir. */
  stop(): Promise<void>;
}

/** The argv that runs argv inside the rig's namespaces and root, with the rig's capability bounds. */
function enter(pid: number, argv: string[]): string[] {
  return [
    'setpriv',
    `--bounding-set=${BOUNDING}`,
    'env',
    '-i',
    `PATH=${PATH}`,
    'HOME=/root',
    'nsenter',
    '-t',
    String(pid),
    '-m',
    '-u',
    '-i',
    '-n',
    '-p',
    '-C',
    '-r',
    '-w',
    ...argv,
  ];
}

function run(argv: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < 16 * 1024 * 1024) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 1024 * 1024) stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      stderr += e.message;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Takes the machine-wide boot lock (a directory holding its owner's pid; a dead owner's lock is taken over). */
async function lockBoot(): Promise<() => void> {
  const deadline = Date.now() + BOOT_LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(BOOT_LOCK);
      writeFileSync(join(BOOT_LOCK, 'pid'), String(process.pid));
      return () => rmSync(BOOT_LOCK, { recursive: true, force: true });
    } catch {
      let owner = 0;
      try {
        owner = Number(readFileSync(join(BOOT_LOCK, 'pid'), 'utf8'));
      } catch {}
      if (owner > 0 && !alive(owner)) rmSync(BOOT_LOCK, { recursive: true, force: true });
      if (Date.now() > deadline)
        throw new Error(`the OpenWrt boot lock ${BOOT_LOCK} was held for ${BOOT_LOCK_WAIT_MS} ms`);
      await sleep(100);
    }
  }
}

/**
 * Boots the rig and waits until procd's init is complete, one boot at a time on this machine; on any
 * failure what was started is stopped before the error is thrown.
 */
export async function bootOpenWrt(opts: RigOptions): Promise<OpenWrtRig> {
  const unlock = await lockBoot();
  try {
    const rig = await startOpenWrt(opts);
    try {
      await rig.waitBooted();
    } catch (err) {
      await rig.stop();
      throw err;
    }
    return rig;
  } finally {
    unlock();
  }
}

async function startOpenWrt(opts: RigOptions): Promise<OpenWrtRig> {
  const rootfs = openwrtRootfs();
  if ('skip' in rootfs) throw new Error(rootfs.skip);
  const lower = lowerDir(rootfs.path);
  const dir = mkdtempSync(join(tmpdir(), 'rg-openwrt-'));
  const files = join(dir, 'files');
  mkdirSync(files);
  for (const [path, content] of Object.entries(opts.files ?? {})) {
    mkdirSync(dirname(join(files, path)), { recursive: true });
    writeFileSync(join(files, path), content);
  }
  writeFileSync(
    join(dir, 'binds'),
    `${hostBinds()
      .map(([h, i]) => `${h} ${i}`)
      .join('\n')}\n`,
  );
  writeFileSync(join(dir, 'init.sh'), INIT, { mode: 0o755 });
  mkdirSync(join(dir, 'o'));
  const unshare = spawn(
    'unshare',
    [
      '--pid',
      '--fork',
      '--mount',
      '--uts',
      '--ipc',
      '--net',
      '--cgroup',
      '--propagation',
      'private',
      '/bin/sh',
      join(dir, 'init.sh'),
      lower,
      join(dir, 'o'),
      files,
      join(dir, 'binds'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let initErr = '';
  unshare.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (initErr.length < 65536) initErr += d;
  });
  let pid = 0;
  let attached = false;
  const stop = async () => {
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    if (unshare.exitCode === null && unshare.signalCode === null) {
      await Promise.race([new Promise((r) => unshare.once('exit', r)), sleep(5000)]);
    }
    if (attached) await run(['ip', 'netns', 'del', opts.netnsName]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // unshare --fork: the child it forks is PID 1 inside; ask the kernel for it.
    const deadline = Date.now() + 5000;
    while (!pid) {
      if (unshare.exitCode !== null) throw new Error(`the rig's init failed: ${initErr.trim()}`);
      if (Date.now() > deadline) throw new Error('unshare started no PID 1');
      try {
        const kids = readFileSync(`/proc/${unshare.pid}/task/${unshare.pid}/children`, 'utf8').trim();
        if (kids) pid = Number(kids.split(/\s+/)[0]);
      } catch {}
      if (!pid) await sleep(10);
    }
    opts.onStarted?.(pid);
    const attach = await run(['ip', 'netns', 'attach', opts.netnsName, String(pid)]);
    if (attach.code !== 0) throw new Error(`ip netns attach: ${attach.stderr.trim()}`);
    attached = true;
    const rig: OpenWrtRig = {
      pid,
      netnsName: opts.netnsName,
      enterArgv: (argv) => enter(pid, argv),
      exec: (argv, o) => run(enter(pid, argv), o),
      sh: (script, o) => run(enter(pid, ['/bin/sh', '-c', script]), o),
      spawn: (argv) => spawn(enter(pid, argv)[0]!, enter(pid, argv).slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }),
      waitBooted: async (timeoutMs = BOOT_TIMEOUT_MS) => {
        const until = Date.now() + timeoutMs;
        for (;;) {
          if (unshare.exitCode !== null) throw new Error(`OpenWrt's procd exited: ${initErr.trim()}`);
          const r = await run(enter(pid, ['/bin/sh', '-c', "logread | grep -q 'init complete'"]), { timeoutMs: 3000 });
          if (r.code === 0) return;
          if (Date.now() > until) throw new Error(`OpenWrt did not boot in ${timeoutMs} ms: ${r.stderr.trim()}`);
          await sleep(100);
        }
      },
      stop,
    };
    return rig;
  } catch (err) {
    await stop();
    throw err;
  }
}
