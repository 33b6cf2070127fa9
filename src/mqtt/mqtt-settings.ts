// The [mqtt] section with every default filled in: what the MQTT output runs on.
// Kept apart from buildConfig because the default node id comes from the host name (the caller reads it).

import type { MqttConfig } from '../config/config';

export interface MqttSettings {
  url: string;
  username?: string;
  password?: string;
  caFile?: string;
  insecure: boolean;
  clientId: string;
  discoveryPrefix: string;
  baseTopic: string;
  nodeId: string;
  retain: boolean;
}

export const DEFAULT_DISCOVERY_PREFIX = 'homeassistant';
export const DEFAULT_BASE_TOPIC = 'replyguard';

/** A name for this router that is safe in MQTT topics and entity ids. */
export function nodeIdFromHost(host: string): string {
  const id = host.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  return id === '' ? 'replyguard' : id;
}

/** The settings for a config whose url is set (buildConfig requires it when enabled). */
export function mqttSettings(config: MqttConfig, hostNodeId: string): MqttSettings {
  const nodeId = config.nodeId ?? hostNodeId;
  const out: MqttSettings = {
    url: config.url ?? 'mqtt://127.0.0.1',
    insecure: config.insecure ?? false,
    // Stable per router: a broker that sees the same id twice drops the older session, which is
    // what a restarted daemon wants, and two routers never collide.
    clientId: config.clientId ?? `replyguard_${nodeId}`,
    discoveryPrefix: config.discoveryPrefix ?? DEFAULT_DISCOVERY_PREFIX,
    baseTopic: config.baseTopic ?? DEFAULT_BASE_TOPIC,
    nodeId,
    retain: config.retain ?? true,
  };
  if (config.username !== undefined) out.username = config.username;
  if (config.password !== undefined) out.password = config.password;
  if (config.caFile !== undefined) out.caFile = config.caFile;
  return out;
}

/** The node id status.json shows: the MQTT one when MQTT is configured, so both name the router alike. */
export function statusNodeId(config: MqttConfig, hostNodeId: string): string {
  return config.nodeId ?? hostNodeId;
}

/** The broker URL for logs and status: never with credentials. */
export function brokerLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid url)';
  }
}

/** The settings that only take effect on restart, for the reload message. */
export function mqttSettingsChanged(a: MqttConfig, b: MqttConfig): string[] {
  const keys: Array<keyof MqttConfig> = [
    'url',
    'username',
    'password',
    'caFile',
    'insecure',
    'clientId',
    'discoveryPrefix',
    'baseTopic',
    'nodeId',
    'retain',
  ];
  return keys.filter((k) => a[k] !== b[k]);
}
