// `replyguard run`: the daemon in the foreground, with signals handled.

import type { Config } from '../config/config';
import { Daemon } from '../daemon/daemon';
import { createLogger } from '../util/log';
import { defaultNodeId } from '../util/node-id';
import { VERSION } from '../version';
import { flagString, parseArgs } from './args';
import { configFor } from './config-option';

/** sysexits.h EX_CONFIG: procd and people can tell a bad config from a crash. */
export const EXIT_CONFIG = 78;

export async function runDaemon(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['--config', '--state-dir'], []);
  const configPath = flagString(args, '--config');
  const stateDir = flagString(args, '--state-dir');
  const load = (): Config => {
    const config = configFor(configPath);
    if (stateDir !== undefined) config.main.stateDir = stateDir;
    return config;
  };
  let config: Config;
  try {
    config = load();
  } catch (err) {
    process.stderr.write(`replyguard: config: ${(err as Error).message}\n`);
    return EXIT_CONFIG;
  }
  const log = createLogger(config.main.logLevel);
  if (config.mqtt.enabled) log.warn('mqtt.enabled is set, but this build has no MQTT output yet; ignoring it');
  const daemon = new Daemon(config, { version: VERSION, nodeId: defaultNodeId(), log });

  // procd signals only the daemon: its conntrack children must not outlive it.
  const killChildren = () => {
    for (const pid of daemon.childPids()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', killChildren);

  log.info(`replyguard ${VERSION} starting (config ${config.source}, state ${config.main.stateDir})`);
  await daemon.start();

  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      log.info(`${signal}: stopping`);
      void daemon.stop().then(() => {
        killChildren();
        resolve(0);
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      try {
        daemon.reload(load());
      } catch (err) {
        log.error(`reload: keeping the running config, the new one cannot be used: ${(err as Error).message}`);
      }
    });
  });
}
