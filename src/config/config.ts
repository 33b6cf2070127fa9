// The one typed configuration the daemon runs on, whichever file it came from.

import { inputText } from '../util/input-text';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type ForwardProto = 'tcp' | 'udp';

export interface ForwardConfig {
  /** Section name: `config forward 'nas'` or `[forward.nas]`. */
  name: string;
  /** Canonical IPv4 or IPv6 address of the LAN server. */
  host: string;
  port: number;
  proto: ForwardProto;
  /** The port on the main router's WAN side; display only. */
  wanPort?: number;
}

export interface MainConfig {
  lanInterfaces: string[];
  /** Canonical prefixes ("192.168.1.0/24"); empty = take them from lanInterfaces at start. */
  lanSubnets: string[];
  stateDir: string;
  /** Seconds a reply_hijacked finding keeps health at "problem" after it was last seen. */
  problemHold: number;
  logLevel: LogLevel;
  /** Netlink receive buffer for `conntrack -E -b`, bytes. */
  conntrackBuffer: number;
  /** Cap on findings kept (servers); the least recently seen is evicted. */
  maxFindings: number;
  /** Cap on candidate flows remembered between NEW and DESTROY. */
  maxFlows: number;
  /** Seconds between status.json rewrites when nothing changes. */
  statusInterval: number;
  /**
   * The passive probe (replyguard's own nft table that counts replies in and out): auto = where nft
   * is usable. Absent means the default, PROBE_DEFAULTS.probe.
   */
  probe?: ProbeMode;
  /** Seconds between readings of the probe's counters (1-60). Absent means PROBE_DEFAULTS.probeInterval. */
  probeInterval?: number;
  /**
   * The guard (replyguard guard): off = only on command; auto = the daemon keeps it applied, re-applies
   * it after proxy restarts and firewall reloads, and takes it out when switched back to off.
   * Absent means the default, GUARD_DEFAULT.
   */
  guard?: GuardMode;
}

export type ProbeMode = 'auto' | 'on' | 'off';

export type GuardMode = 'off' | 'auto';

/** Default of the guard option (kept out of DEFAULT_MAIN, like the probe options). */
export const GUARD_DEFAULT: GuardMode = 'off';

/** Defaults of the probe options (kept out of DEFAULT_MAIN: a config that leaves them out reads as before). */
export const PROBE_DEFAULTS: { probe: ProbeMode; probeInterval: number } = { probe: 'auto', probeInterval: 2 };

/**
 * The [mqtt] section as written. Options left out stay undefined here; the MQTT
 * output fills the defaults (src/mqtt/mqtt-settings.ts), because one of them
 * (node_id) depends on the host name and buildConfig stays free of I/O.
 */
export interface MqttConfig {
  enabled: boolean;
  /** mqtt://host[:port] or mqtts://host[:port]. */
  url?: string;
  username?: string;
  /** Never logged, never written to status.json. */
  password?: string;
  /** PEM file of the CA that signed the broker's certificate (mqtts://). */
  caFile?: string;
  /** Skip the broker certificate check (mqtts://); warned about in the log. */
  insecure?: boolean;
  clientId?: string;
  /** Home Assistant's discovery prefix (default homeassistant). */
  discoveryPrefix?: string;
  /** First level of replyguard's own topics (default replyguard). */
  baseTopic?: string;
  /** This router in topics and unique ids (default: host name, sanitised). */
  nodeId?: string;
  /** Retain state topics (default true). Discovery and availability are always retained. */
  retain?: boolean;
}

export interface Config {
  /** The file it was read from, for messages. */
  source: string;
  main: MainConfig;
  mqtt: MqttConfig;
  forwards: ForwardConfig[];
}

export const DEFAULT_MAIN: MainConfig = {
  lanInterfaces: ['br-lan'],
  lanSubnets: [],
  stateDir: '/var/run/replyguard',
  problemHold: 900,
  logLevel: 'info',
  conntrackBuffer: 4194304,
  maxFindings: 256,
  maxFlows: 8192,
  statusInterval: 30,
};

/** A problem in a config file, located well enough for a person to fix it. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly section: string | undefined,
    readonly key: string | undefined,
    readonly problem: string,
    readonly line?: number,
  ) {
    const where = [
      file + (line !== undefined ? `:${line}` : ''),
      section !== undefined ? `section '${inputText(section, 64)}'` : undefined,
      key !== undefined ? `option '${inputText(key, 64)}'` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    super(`${where}: ${problem}`);
    this.name = 'ConfigError';
  }
}
