// Home Assistant MQTT discovery payloads for one router, built from the
// settings and the current status document. Pure: no client, no clock.
//
// Conventions followed (see test/unit/ha-discovery.test.ts for the sources):
// - one discovery topic per entity, `<prefix>/<component>/<node_id>/<object_id>/config`, retained;
// - one `device` per router (identifiers, name, model, sw_version, configuration_url → LuCI);
// - `origin` on every payload;
// - `unique_id` = replyguard_<node>_<object>: it never includes the base topic, so changing
//   base_topic does not duplicate entities (the zigbee2mqtt `_2` lesson);
// - `default_entity_id` (with its domain) instead of the deprecated `object_id`;
// - entity names without the device name (HA prefixes it itself: has_entity_name).

import { type Prefix, parseAddress, parsePrefix, prefixContains } from '../net/ip-address';
import type { ForwardStatus, StatusDocument } from '../status/status-schema';
import { forwardObjectId, type HaComponent, type Topics } from './mqtt-topics';

/**
 * The forward sensor's options. status.json's `unknown` (no replies seen yet) is published as
 * `no_replies_yet`: Home Assistant keeps "unknown" for its own "Unknown" (no value at all).
 */
export const FORWARD_STATES = ['ok', 'at_risk', 'hijacked', 'no_replies_yet'] as const;

export function forwardStatePayload(status: ForwardStatus): (typeof FORWARD_STATES)[number] {
  return status === 'unknown' ? 'no_replies_yet' : status;
}
export const EVENT_TYPES = [
  'hijack_detected',
  'hijack_cleared',
  'ruleset_changed',
  'at_risk',
  'guard_applied',
] as const;
export const RECHECK_PAYLOAD = 'PRESS';
/** The Guard switch: ON = guard auto, OFF = guard off. */
export const GUARD_ON = 'ON';
export const GUARD_OFF = 'OFF';

export interface RouterInfo {
  /** Device name in HA: the host name. */
  name: string;
  /** Board name (OpenWrt /tmp/sysinfo/model), if known. */
  model?: string;
  /** The OpenWrt release, if known. */
  osVersion?: string;
}

export interface DiscoveryInput {
  topics: Topics;
  nodeId: string;
  version: string;
  router: RouterInfo;
  /** Declared forward names, in config order. */
  forwards: readonly string[];
  /** For configuration_url: the router's addresses from status.json. */
  routerAddresses: readonly string[];
  /** The LAN's networks: LuCI is reached on the router's address in them (HA sits in the LAN). */
  lanSubnets?: readonly string[];
}

export interface DiscoveryMessage {
  component: HaComponent;
  objectId: string;
  topic: string;
  payload: Record<string, unknown>;
}

/** HA entity ids: lowercase letters, digits and single underscores, none at either end. */
export function entitySlug(text: string): string {
  const slug = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return slug === '' ? 'x' : slug;
}

export function uniqueId(nodeId: string, objectId: string): string {
  return `replyguard_${nodeId}_${objectId}`;
}

/**
 * LuCI on the router's address in the LAN, IPv4 first (IPv6 needs brackets and is rarely what people
 * type); never loopback or link-local, which would point Home Assistant at itself.
 */
export function luciUrl(addresses: readonly string[], lanSubnets: readonly string[] = []): string | undefined {
  const usable = addresses.filter((a) => !/^127\./.test(a) && a !== '::1' && !/^fe80:/i.test(a));
  const lans = lanSubnets.map((p) => parsePrefix(p)).filter((p): p is Prefix => p !== null);
  const inLan = (a: string) => {
    const addr = parseAddress(a);
    return addr !== null && lans.some((p) => prefixContains(p, addr));
  };
  const isV4 = (a: string) => /^\d+\.\d+\.\d+\.\d+$/.test(a);
  const pick =
    usable.find((a) => isV4(a) && inLan(a)) ??
    usable.find((a) => !isV4(a) && inLan(a)) ??
    usable.find(isV4) ??
    usable.find((a) => a.includes(':'));
  if (!pick) return undefined;
  return `http://${isV4(pick) ? pick : `[${pick}]`}/cgi-bin/luci/admin/services/replyguard`;
}

function device(input: DiscoveryInput): Record<string, unknown> {
  const d: Record<string, unknown> = {
    identifiers: [`replyguard_${input.nodeId}`],
    name: input.router.name,
    manufacturer: 'OpenWrt',
    model: input.router.model ?? 'OpenWrt router',
    sw_version: input.router.osVersion ? `${input.router.osVersion}, replyguard ${input.version}` : input.version,
  };
  const url = luciUrl(input.routerAddresses, input.lanSubnets);
  if (url) d.configuration_url = url;
  return d;
}

type EntityFields = Record<string, unknown> & { name: string };

/** Every entity of this router: the fixed ones, then one sensor per declared forward. */
export function discoveryMessages(input: DiscoveryInput): DiscoveryMessage[] {
  const { topics, nodeId } = input;
  const common = {
    availability: [{ topic: topics.availability, payload_available: 'online', payload_not_available: 'offline' }],
    device: device(input),
    origin: {
      name: 'replyguard',
      sw_version: input.version,
    },
  };
  const out: DiscoveryMessage[] = [];
  const add = (component: HaComponent, objectId: string, fields: EntityFields) => {
    out.push({
      component,
      objectId,
      topic: topics.discoveryConfig(component, objectId),
      payload: {
        ...fields,
        unique_id: uniqueId(nodeId, objectId),
        default_entity_id: `${component}.${entitySlug(`replyguard_${nodeId}_${objectId}`)}`,
        ...common,
      },
    });
  };

  add('binary_sensor', 'problem', {
    name: 'Port-forward replies hijacked',
    device_class: 'problem',
    state_topic: topics.problem,
    payload_on: 'ON',
    payload_off: 'OFF',
    json_attributes_topic: topics.findings,
    qos: 1,
  });
  // Whether replyguard can see at all: degraded when a sensor cannot read, with the reason in its attributes.
  add('sensor', 'health', {
    name: 'Health',
    state_topic: topics.state,
    value_template: '{{ value_json.health }}',
    device_class: 'enum',
    options: ['ok', 'problem', 'degraded'],
    json_attributes_topic: topics.state,
    json_attributes_template:
      '{{ {"headline": value_json.headline, "sensor_errors": value_json.sensor_errors} | tojson }}',
    entity_category: 'diagnostic',
    icon: 'mdi:heart-pulse',
    qos: 1,
  });
  add('sensor', 'affected_forwards', {
    name: 'Affected forwards',
    state_topic: topics.state,
    value_template: '{{ value_json.affected_forwards }}',
    state_class: 'measurement',
    icon: 'mdi:router-network',
    qos: 1,
  });
  add('sensor', 'hijacked_replies', {
    name: 'Hijacked replies',
    state_topic: topics.state,
    value_template: '{{ value_json.hijacked_replies }}',
    // The daemon's counter starts at 0 on restart: total_increasing treats a drop as a reset.
    state_class: 'total_increasing',
    icon: 'mdi:swap-horizontal-variant',
    qos: 1,
  });
  add('sensor', 'last_detection', {
    name: 'Last detection',
    state_topic: topics.state,
    // HA's MQTT sensor clears the value on the payload "None" (PAYLOAD_NONE) instead of warning.
    value_template: "{{ value_json.last_detection if value_json.last_detection else 'None' }}",
    device_class: 'timestamp',
    qos: 1,
  });
  add('sensor', 'proxy', {
    name: 'Proxy detected',
    state_topic: topics.state,
    value_template: '{{ value_json.proxy }}',
    entity_category: 'diagnostic',
    icon: 'mdi:shield-search',
    qos: 1,
  });
  add('sensor', 'events_lost', {
    name: 'Events lost',
    state_topic: topics.state,
    value_template: '{{ value_json.events_lost }}',
    state_class: 'total_increasing',
    entity_category: 'diagnostic',
    icon: 'mdi:alert-circle-outline',
    qos: 1,
  });
  add('event', 'events', {
    name: 'Forward events',
    state_topic: topics.event,
    event_types: [...EVENT_TYPES],
    icon: 'mdi:bell-alert',
    qos: 1,
  });
  add('button', 'recheck', {
    name: 'Re-check now',
    command_topic: topics.recheck,
    payload_press: RECHECK_PAYLOAD,
    icon: 'mdi:refresh',
    qos: 1,
  });
  add('switch', 'guard', {
    name: 'Guard',
    command_topic: topics.guardSet,
    state_topic: topics.guard,
    payload_on: GUARD_ON,
    payload_off: GUARD_OFF,
    // What the guard is doing (in place, missing, applies) rides along in the state summary.
    json_attributes_topic: topics.state,
    json_attributes_template: '{{ value_json.guard | tojson }}',
    entity_category: 'config',
    icon: 'mdi:shield-check',
    qos: 1,
  });
  for (const name of input.forwards) {
    add('sensor', forwardObjectId(name), {
      name: `Forward ${name}`,
      state_topic: topics.forwardState(name),
      device_class: 'enum',
      options: [...FORWARD_STATES],
      icon: 'mdi:router',
      qos: 1,
    });
  }
  return out;
}

/** The discovery input for a status document (the router's addresses and forwards come from it). */
export function discoveryInputFor(
  doc: StatusDocument,
  base: Omit<DiscoveryInput, 'forwards' | 'routerAddresses'>,
): DiscoveryInput {
  return {
    ...base,
    forwards: doc.forwards.map((f) => f.name),
    routerAddresses: doc.lan.router_addresses,
    lanSubnets: doc.lan.subnets,
  };
}

/**
 * True when a retained discovery payload is one of ours: its unique_id carries our
 * prefix. Another program may use the same node id under the same prefix; its
 * configs must survive our cleanup (zigbee2mqtt adopts configs by a similar mark).
 */
export function isOwnDiscoveryPayload(payload: string, nodeId: string): boolean {
  try {
    const v = JSON.parse(payload) as { unique_id?: unknown };
    return typeof v.unique_id === 'string' && v.unique_id.startsWith(`replyguard_${nodeId}_`);
  } catch {
    return false;
  }
}
