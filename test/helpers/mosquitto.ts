// A real mosquitto for the MQTT tests, and a small MQTT client process that
// prints what it receives as JSON lines and publishes what it reads on stdin.
// Both run wherever the test says: on the host's loopback, or inside a lab
// namespace (which has its own loopback) through lab.spawn.
//
// Run directly (`node --import tsx test/helpers/mosquitto.ts client URL [--ca F] [-u U -P P] FILTER…`)
// this file is that client.

import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const MOSQUITTO = '/usr/sbin/mosquitto';
const READY_TIMEOUT_MS = 5000;

export type Spawner = (argv: string[]) => ChildProcess;

/** Spawns on the host, as its own process group so that a kill takes everything. */
export const hostSpawn: Spawner = ([cmd, ...args]) => spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });

/** A TCP port nobody listens on right now on the host's 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface TestCa {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** A second CA that signed nothing here: "the wrong CA". */
  otherCaFile: string;
}

/** A CA and a server certificate for 127.0.0.1 and localhost, made with openssl. */
export function makeTestCa(dir: string): TestCa {
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  for (const ca of ['ca', 'other-ca']) {
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=replyguard test ${ca}`,
      '-keyout',
      f(`${ca}.key`),
      '-out',
      f(`${ca}.pem`),
    );
  }
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
  );
  ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f('san.ext'),
    '-out',
    f('server.pem'),
  );
  return {
    dir,
    caFile: f('ca.pem'),
    certFile: f('server.pem'),
    keyFile: f('server.key'),
    otherCaFile: f('other-ca.pem'),
  };
}

export interface BrokerOptions {
  port: number;
  /** The address the plain listener binds (default 127.0.0.1), e.g. a lab host's LAN address. */
  host?: string;
  /** Also a TLS listener on this port, with the certificate of `ca`. */
  tls?: { port: number; ca: TestCa };
  /** Require this login (password_file made with mosquitto_passwd). */
  auth?: { username: string; password: string };
  /** Keep retained messages across restarts (persistence file in the broker's dir). */
  persistence?: boolean;
  spawn?: Spawner;
}

export interface Broker {
  dir: string;
  url: string;
  tlsUrl?: string;
  child: ChildProcess;
  log: () => string;
  /** SIGTERM (mosquitto saves its persistence file then) and wait. */
  stop: () => Promise<void>;
  /** SIGKILL and wait. */
  kill: () => Promise<void>;
  /** Starts the broker again on the same ports and config. */
  restart: () => Promise<void>;
  /** stop() and remove its files. */
  destroy: () => Promise<void>;
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, timeoutMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export async function startBroker(opts: BrokerOptions): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), 'rg-mosquitto-'));
  const lines = [
    // As root, mosquitto would switch to the user "mosquitto", who cannot read the test's private temp dir.
    'user root',
    'per_listener_settings false',
    `listener ${opts.port} ${opts.host ?? '127.0.0.1'}`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'connection_messages true',
  ];
  if (opts.tls) {
    lines.push(
      `listener ${opts.tls.port} 127.0.0.1`,
      `cafile ${opts.tls.ca.caFile}`,
      `certfile ${opts.tls.ca.certFile}`,
      `keyfile ${opts.tls.ca.keyFile}`,
    );
  }
  if (opts.auth) {
    const pw = join(dir, 'passwd');
    writeFileSync(pw, '');
    execFileSync('mosquitto_passwd', ['-b', pw, opts.auth.username, opts.auth.password], { stdio: 'pipe' });
    lines.push('allow_anonymous false', `password_file ${pw}`);
  } else {
    lines.push('allow_anonymous true');
  }
  if (opts.persistence) lines.push('persistence true', `persistence_location ${dir}/`, 'autosave_interval 1');
  else lines.push('persistence false');
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const spawnIt = opts.spawn ?? hostSpawn;
  let log = '';
  let child!: ChildProcess;

  const launch = async () => {
    child = spawnIt([MOSQUITTO, '-c', conf]);
    child.stdout?.on('data', () => {});
    const ready = new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`mosquitto not ready after ${READY_TIMEOUT_MS} ms:\n${log}`)),
        READY_TIMEOUT_MS,
      );
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        log += chunk;
        if (/running/.test(log.split('\n').slice(-5).join('\n')) || / running\n/.test(chunk)) {
          clearTimeout(t);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`mosquitto exited (${code}):\n${log}`));
      });
    });
    await ready;
  };
  try {
    await launch();
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await waitExit(child, 3000);
  };
  const broker: Broker = {
    dir,
    url: `mqtt://${opts.host ?? '127.0.0.1'}:${opts.port}`,
    get child() {
      return child;
    },
    log: () => log,
    stop,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await waitExit(child, 3000);
    },
    restart: async () => {
      await stop();
      log += '--- restart ---\n';
      await launch();
    },
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (opts.tls) broker.tlsUrl = `mqtts://127.0.0.1:${opts.tls.port}`;
  return broker;
}

// ---- the client process ------------------------------------------------------

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  /** ms since the client process started */
  at: number;
  /** Date.now() in the test process when the line arrived (comparable with the daemon's timestamps). */
  receivedAt: number;
}

export interface TestClient {
  child: ChildProcess;
  messages: Received[];
  /** Resolves with the first message (seen so far or later) that matches. */
  waitFor: (what: string, pred: (m: Received) => boolean, timeoutMs?: number) => Promise<Received>;
  /** The last retained-or-not payload seen on a topic. */
  last: (topic: string) => Received | undefined;
  publish: (topic: string, payload: string, retain?: boolean) => void;
  stop: () => Promise<void>;
}

/** Starts the client process (through `spawnIt`), subscribed to `filters`; resolves once subscribed. */
export async function startClient(
  url: string,
  filters: string[],
  spawnIt: Spawner = hostSpawn,
  extra: string[] = [],
): Promise<TestClient> {
  const child = spawnIt([process.execPath, '--import', 'tsx', __filename, 'client', url, ...extra, ...filters]);
  const messages: Received[] = [];
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  let subscribed: () => void = () => {};
  const ready = new Promise<void>((r) => {
    subscribed = r;
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = JSON.parse(line) as Received | { subscribed: true };
    if ('subscribed' in m) subscribed();
    else messages.push({ ...m, receivedAt: Date.now() });
  });
  await Promise.race([
    ready,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`test client not subscribed: ${stderr}`)), 10_000)),
  ]);
  const waitFor = async (what: string, pred: (m: Received) => boolean, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = messages.find(pred);
      if (m) return m;
      if (Date.now() > deadline) {
        assert.fail(
          `timed out waiting for ${what}; received:\n${messages.map((x) => `${x.topic} ${x.retain ? 'R' : '-'} ${x.payload.slice(0, 160)}`).join('\n')}\n${stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    child,
    messages,
    waitFor,
    last: (topic) => [...messages].reverse().find((m) => m.topic === topic),
    publish: (topic, payload, retain = false) => {
      child.stdin?.write(`${JSON.stringify({ topic, payload, retain })}\n`);
    },
    stop: async () => {
      child.stdin?.end();
      if (child.exitCode === null) child.kill('SIGTERM');
      await waitExit(child, 3000);
    },
  };
}

/** The client process: argv = client URL [--ca F] [-u U -P P] FILTER… */
async function clientMain(argv: string[]): Promise<void> {
  const { connect } = await import('mqtt');
  const [url, ...rest] = argv;
  const opts: Record<string, unknown> = { reconnectPeriod: 500, clean: true, connectTimeout: 5000 };
  const filters: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--ca') opts.ca = (await import('node:fs')).readFileSync(rest[++i]!);
    else if (a === '-u') opts.username = rest[++i];
    else if (a === '-P') opts.password = rest[++i];
    else filters.push(a);
  }
  const t0 = Date.now();
  const client = connect(url!, opts);
  let announced = false;
  client.on('connect', () => {
    client.subscribe(filters, { qos: 1 }, () => {
      if (!announced) process.stdout.write(`${JSON.stringify({ subscribed: true })}\n`);
      announced = true;
    });
  });
  client.on('message', (topic, payload, packet) => {
    const m = { topic, payload: payload.toString('utf8'), retain: packet.retain, at: Date.now() - t0 };
    process.stdout.write(`${JSON.stringify(m)}\n`);
  });
  client.on('error', (err) => process.stderr.write(`client: ${err.message}\n`));
  createInterface({ input: process.stdin }).on('line', (line) => {
    const m = JSON.parse(line) as { topic: string; payload: string; retain: boolean };
    client.publish(m.topic, m.payload, { qos: 1, retain: m.retain });
  });
  process.stdin.on('end', () => client.end(false, {}, () => process.exit(0)));
  process.on('SIGTERM', () => client.end(true, {}, () => process.exit(0)));
}

if (require.main === module && process.argv[2] === 'client') {
  void clientMain(process.argv.slice(3));
}
