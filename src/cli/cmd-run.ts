// `replyguard run`: the daemon in the foreground, with signals handled.

import { persistOption } from '../actions/persist-option';
import type { Config, MqttConfig } from '../config/config';
import { Daemon } from '../daemon/daemon';
import { endLeftoverChildren } from '../daemon/leftover-children';
import { mqttSettings, mqttSettingsChanged, statusNodeId } from '../mqtt/mqtt-settings';
import type { RetainedCleanup } from '../outputs/mqtt-cleanup';
import type { MqttOutput } from '../outputs/mqtt-output';
import { readRouterInfo } from '../outputs/router-info';
import { createLogger, type Logger } from '../system/log';
import { defaultNodeId } from '../system/node-id';
import { killChildren } from '../system/run-command';
import { VERSION } from '../version';
import { flagString, parseArgs } from './args';
import { configFor } from './config-option';
import { EXIT_CONFIG } from './exit-codes';

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
  const hostNodeId = defaultNodeId();
  let mqtt: MqttOutput | undefined;
  const daemon = new Daemon(config, {
    version: VERSION,
    nodeId: statusNodeId(config.mqtt, hostNodeId),
    log,
  });
  let cleanup: RetainedCleanup | undefined;
  // MQTT.js is loaded only when MQTT is used: about 10 MB of memory a router without it keeps.
  if (config.mqtt.enabled) {
    const { MqttOutput } = await import('../outputs/mqtt-output');
    mqtt = new MqttOutput({
      settings: mqttSettings(config.mqtt, hostNodeId),
      version: VERSION,
      router: readRouterInfo(),
      log,
      stateDir: config.main.stateDir,
      onRecheck: () => daemon.recheck(),
      onGuardMode: (mode) => {
        if (mode === daemon.guardMode) return;
        void persistOption(config.source, 'guard', mode, log);
        void daemon.setGuardMode(mode, 'switched from Home Assistant');
      },
      onStatusChange: () => daemon.outputStatusChanged(),
    });
    daemon.addOutput(mqtt);
  } else if (config.mqtt.url !== undefined) {
    // Switched off since a run that announced entities: clear them (see mqtt-cleanup.ts).
    const { startRetainedCleanup } = await import('../outputs/mqtt-cleanup');
    cleanup = startRetainedCleanup(mqttSettings(config.mqtt, hostNodeId), config.main.stateDir, log);
  }

  // procd signals only the daemon: none of its children may outlive it, nor keep it waiting for a time limit.
  const endChildren = () => killChildren(true);
  process.on('exit', endChildren);

  log.info(`replyguard ${VERSION} starting (config ${config.source}, state ${config.main.stateDir})`);
  // A run ended by SIGKILL left its conntrack and nft monitor children running: end them first.
  await endLeftoverChildren(config.main.stateDir, log);
  await daemon.start();

  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      log.info(`${signal}: stopping`);
      // The config may have switched MQTT off (LuCI saves, then restarts us): then the
      // retained entities go with us instead of lingering as "unavailable" in HA.
      const clearMqtt = mqtt !== undefined && mqttSwitchedOff(load);
      const stopMqtt = clearMqtt ? mqtt!.clearAndStop() : Promise.resolve();
      void Promise.all([stopMqtt, cleanup?.stop()])
        .then(() => daemon.stop())
        .then(() => {
          endChildren();
          resolve(0);
        });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // `/etc/init.d/replyguard recheck` (LuCI's "Re-check now") sends SIGUSR1.
    process.on('SIGUSR1', () => daemon.recheck());
    process.on('SIGHUP', () => {
      try {
        const next = load();
        reloadMqtt(config.mqtt, next.mqtt, mqtt, log);
        daemon.reload(next);
        config = next;
      } catch (err) {
        log.error(`reload: keeping the running config, the new one cannot be used: ${(err as Error).message}`);
      }
    });
  });
}

/**
 * Writes one main option into the config file (comments and other lines kept; tmp + rename), so that a
 * switch from Home Assistant outlives a restart. When it cannot, the change holds for this run only.
 */
/** True when the config file now has MQTT disabled (an unreadable file changes nothing). */
function mqttSwitchedOff(load: () => Config): boolean {
  try {
    return !load().mqtt.enabled;
  } catch {
    return false;
  }
}

/**
 * MQTT settings apply at the next start; switching MQTT off applies now: the
 * retained topics are cleared so that HA drops the entities.
 */
function reloadMqtt(old: MqttConfig, next: MqttConfig, output: MqttOutput | undefined, log: Logger): void {
  if (output && !next.enabled) {
    void output.clearAndStop();
    return;
  }
  if (!old.enabled && next.enabled) {
    log.warn('reload: mqtt was switched on; it starts after a restart');
    return;
  }
  const changed = mqttSettingsChanged(old, next);
  if (old.enabled && changed.length > 0) log.warn(`reload: mqtt changes apply after restart (${changed.join(', ')})`);
}
