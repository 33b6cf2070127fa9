// The discovery payloads, walked against the field rules of Home Assistant's
// MQTT integration. Every rule below names where it comes from; they were read
// in home-assistant/core (2026, the `probatio` schemas) and the MQTT docs:
//
//  [discovery.py]  homeassistant/components/mqtt/discovery.py: TOPIC_MATCHER
//                  `(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)?(?P<object_id>[a-zA-Z0-9_-]+)/config`
//                  after the prefix; SUPPORTED_COMPONENTS (binary_sensor, button, event, sensor, …).
//  [schemas.py]    homeassistant/components/mqtt/schemas.py: MQTT_ENTITY_COMMON_SCHEMA (device, origin,
//                  enabled_by_default, entity_category, icon, json_attributes_topic/template,
//                  default_entity_id, unique_id, …), the availability schemas (`availability_topic` and
//                  `availability` are Exclusive; each list item Required `topic`),
//                  MQTT_ENTITY_DEVICE_INFO_SCHEMA + validate_device_has_at_least_one_identifier,
//                  MQTT_ORIGIN_INFO_SCHEMA (Required `name`; sw_version; support_url).
//  [config.py]     homeassistant/components/mqtt/config.py: MQTT_RO_SCHEMA (Required state_topic,
//                  value_template), MQTT_BASE_SCHEMA (qos 0-2, encoding).
//  [util.py]       homeassistant/components/mqtt/util.py valid_topic: non-empty UTF-8, ≤ 65535 bytes,
//                  no NUL, no control characters U+0000-U+001F and U+007F-U+009F, no non-characters;
//                  valid_publish_topic additionally forbids the wildcards `+` and `#`.
//  [sensor.py]     homeassistant/components/mqtt/sensor.py validate_sensor_state_and_device_class_config:
//                  `options` only with device_class enum, never empty, never with state_class or
//                  unit_of_measurement; last_reset_value_template only with state_class total.
//  [event.py]      homeassistant/components/mqtt/event.py: Required event_types (list of strings);
//                  replayed retained event messages are ignored ("Ignoring event trigger from replayed
//                  retained payload"), so events must be published non-retained.
//  [button.py]     homeassistant/components/mqtt/button.py: Required command_topic (valid_publish_topic),
//                  payload_press (default PRESS), device_class from ButtonDeviceClass (identify, restart, update).
//  [switch.py]     homeassistant/components/mqtt/switch.py: PLATFORM_SCHEMA_MODERN = MQTT_RW_SCHEMA
//                  (config.py: Required command_topic, valid_publish_topic; retain; optional state_topic)
//                  + command_template, payload_on/payload_off (default ON/OFF), state_on/state_off,
//                  value_template, device_class (SwitchDeviceClass: outlet, switch).
//  [entity-cat]    homeassistant/components/sensor/__init__.py and binary_sensor/__init__.py
//                  async_internal_added_to_hass: "Entity … cannot be added as the entity category is set
//                  to config"; helpers/entity.py ENTITY_CATEGORIES_SCHEMA: config | diagnostic.
//  [entity-id]     homeassistant/core.py VALID_ENTITY_ID: `(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)`;
//                  `default_entity_id` replaced the deprecated `object_id` (core PR #151775, HA 2025.10) and
//                  must carry the domain (a bare "foo" gives sensor.unnamed_device, core#155819).
//  [naming]        HA docs "MQTT discovery" / entity naming: MQTT entities have has_entity_name=True; a name
//                  that starts with the device name is warned about since 2023.8 (core#97450).
//  [classes]       SensorStateClass (measurement, measurement_angle, total, total_increasing);
//                  BinarySensorDeviceClass includes problem; SensorDeviceClass includes enum and timestamp,
//                  which take no state_class and no unit (sensor/__init__.py: a sensor with a state_class
//                  or unit is expected to be numeric).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Finding } from '../../../src/detector/finding';
import {
  type DiscoveryInput,
  type DiscoveryMessage,
  discoveryMessages,
  EVENT_TYPES,
  entitySlug,
  FORWARD_STATES,
  isOwnDiscoveryPayload,
  luciUrl,
} from '../../../src/mqtt/ha-discovery';
import { eventPayload, findingsAttributes, stateMessages, stateSummary } from '../../../src/mqtt/mqtt-state';
import { Topics } from '../../../src/mqtt/mqtt-topics';
import { openwrtRelease } from '../../../src/outputs/router-info';
import { statusEvents } from '../../../src/status/status-events';
import type { StatusDocument } from '../../../src/status/status-schema';

// ---- the rules ---------------------------------------------------------------

const TOPIC_MATCHER = /^(?<component>\w+)\/(?:(?<node_id>[a-zA-Z0-9_-]+)\/)?(?<object_id>[a-zA-Z0-9_-]+)\/config$/;
const VALID_ENTITY_ID = /^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$/;
const SUPPORTED = new Set(['binary_sensor', 'button', 'event', 'sensor', 'switch']);
const SWITCH_CLASSES = new Set(['outlet', 'switch']);
const ENTITY_CATEGORIES = new Set(['config', 'diagnostic']);
const STATE_CLASSES = new Set(['measurement', 'measurement_angle', 'total', 'total_increasing']);
const BUTTON_CLASSES = new Set(['identify', 'restart', 'update']);
/** A subset of BinarySensorDeviceClass / SensorDeviceClass: the ones a payload here may use. */
const BINARY_SENSOR_CLASSES = new Set(['problem', 'connectivity', 'running', 'safety', 'update']);
const SENSOR_CLASSES = new Set(['enum', 'timestamp', 'duration', 'data_size']);

/** [schemas.py] MQTT_ENTITY_COMMON_SCHEMA + availability + [config.py] base. */
const COMMON_KEYS = [
  'availability',
  'availability_mode',
  'availability_template',
  'availability_topic',
  'payload_available',
  'payload_not_available',
  'device',
  'entity_picture',
  'origin',
  'enabled_by_default',
  'entity_category',
  'icon',
  'json_attributes_topic',
  'json_attributes_template',
  'default_entity_id',
  'message_expiry_interval',
  'unique_id',
  'visible_by_default',
  'qos',
  'encoding',
  'name',
  'platform',
];
/** Platform keys (binary_sensor.py, sensor.py, event.py, button.py). */
const PLATFORM_KEYS: Record<string, string[]> = {
  binary_sensor: [
    'state_topic',
    'value_template',
    'device_class',
    'payload_on',
    'payload_off',
    'expire_after',
    'force_update',
    'off_delay',
  ],
  sensor: [
    'state_topic',
    'value_template',
    'device_class',
    'state_class',
    'unit_of_measurement',
    'suggested_display_precision',
    'options',
    'expire_after',
    'force_update',
    'last_reset_value_template',
  ],
  event: ['state_topic', 'value_template', 'device_class', 'event_types'],
  button: ['command_topic', 'command_template', 'device_class', 'payload_press', 'retain'],
  switch: [
    'command_topic',
    'command_template',
    'retain',
    'state_topic',
    'value_template',
    'device_class',
    'payload_on',
    'payload_off',
    'state_on',
    'state_off',
    'optimistic',
  ],
};
const DEVICE_KEYS = new Set([
  'identifiers',
  'connections',
  'manufacturer',
  'model',
  'model_id',
  'name',
  'hw_version',
  'serial_number',
  'sw_version',
  'via_device',
  'suggested_area',
  'configuration_url',
]);
const ORIGIN_KEYS = new Set(['name', 'sw_version', 'support_url']);

/** [util.py] valid_topic; publish topics also without wildcards. */
function topicProblem(topic: unknown, publish: boolean): string | undefined {
  if (typeof topic !== 'string' || topic === '') return 'empty or not a string';
  if (Buffer.byteLength(topic, 'utf8') > 65535) return 'longer than 65535 bytes';
  for (const ch of topic) {
    const c = ch.codePointAt(0)!;
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f)) return 'control character';
    if ((c >= 0xfdd0 && c <= 0xfdef) || (c & 0xffff) === 0xfffe || (c & 0xffff) === 0xffff) return 'non-character';
  }
  if (publish && /[+#]/.test(topic)) return 'wildcard in a publish topic';
  return undefined;
}

/** Walks one discovery message; returns every rule it breaks (empty = accepted by HA's schemas). */
function violations(msg: DiscoveryMessage, prefix: string, deviceName: string): string[] {
  const out: string[] = [];
  const p = msg.payload as Record<string, unknown>;
  const bad = (rule: string, what: string) => out.push(`${msg.topic}: [${rule}] ${what}`);

  // [discovery.py] topic shape
  if (!msg.topic.startsWith(`${prefix}/`)) bad('discovery.py', 'not under the discovery prefix');
  const m = TOPIC_MATCHER.exec(msg.topic.slice(prefix.length + 1));
  if (!m) bad('discovery.py', 'topic does not match TOPIC_MATCHER');
  const component = m?.groups?.component ?? '';
  if (!SUPPORTED.has(component)) bad('discovery.py', `component ${component} not supported`);
  if (component !== msg.component) bad('discovery.py', 'component of topic and message differ');

  // unknown keys are dropped silently by HA (REMOVE_EXTRA): flag them, they are typos here
  const allowed = new Set([...COMMON_KEYS, ...(PLATFORM_KEYS[component] ?? [])]);
  for (const k of Object.keys(p)) if (!allowed.has(k)) bad('schemas.py', `unknown key ${k}`);

  // [schemas.py] ids, device, origin, availability
  if (typeof p.unique_id !== 'string' || p.unique_id === '') bad('schemas.py', 'unique_id missing');
  if ('object_id' in p) bad('entity-id', 'deprecated object_id');
  const eid = p.default_entity_id;
  if (typeof eid !== 'string' || !VALID_ENTITY_ID.test(eid)) bad('entity-id', `default_entity_id ${String(eid)}`);
  else if (eid.split('.')[0] !== component) bad('entity-id', 'default_entity_id of another domain');
  const dev = p.device as Record<string, unknown> | undefined;
  if (!dev) bad('schemas.py', 'no device (entities without one are not grouped)');
  else {
    const ids = dev.identifiers as unknown[] | undefined;
    const cns = dev.connections as unknown[] | undefined;
    if (!(ids?.length || cns?.length)) bad('schemas.py', 'device without identifiers or connections');
    for (const k of Object.keys(dev)) if (!DEVICE_KEYS.has(k)) bad('schemas.py', `unknown device key ${k}`);
    for (const [k, v] of Object.entries(dev)) {
      if (k === 'identifiers' || k === 'connections') continue;
      if (typeof v !== 'string') bad('schemas.py', `device.${k} is not a string`);
    }
    if (
      dev.configuration_url !== undefined &&
      !/^(https?:\/\/|homeassistant:\/\/)/.test(String(dev.configuration_url))
    ) {
      bad('schemas.py', 'configuration_url is not http(s) or homeassistant://');
    }
  }
  const origin = p.origin as Record<string, unknown> | undefined;
  if (!origin || typeof origin.name !== 'string') bad('schemas.py', 'origin.name missing');
  else for (const k of Object.keys(origin)) if (!ORIGIN_KEYS.has(k)) bad('schemas.py', `unknown origin key ${k}`);
  if ('availability' in p && 'availability_topic' in p)
    bad('schemas.py', 'availability and availability_topic are exclusive');
  for (const a of (p.availability as Array<Record<string, unknown>> | undefined) ?? []) {
    const why = topicProblem(a.topic, false);
    if (why) bad('schemas.py', `availability topic: ${why}`);
  }
  if (p.qos !== undefined && ![0, 1, 2].includes(p.qos as number)) bad('config.py', 'qos not 0-2');

  // [entity-cat]
  if (p.entity_category !== undefined) {
    if (!ENTITY_CATEGORIES.has(String(p.entity_category)))
      bad('entity-cat', `entity_category ${String(p.entity_category)}`);
    if ((component === 'sensor' || component === 'binary_sensor') && p.entity_category === 'config') {
      bad('entity-cat', 'sensors cannot have entity_category config');
    }
  }

  // [naming]
  if (typeof p.name !== 'string' && p.name !== null) bad('naming', 'name must be a string or null');
  if (typeof p.name === 'string' && p.name.toLowerCase().startsWith(deviceName.toLowerCase())) {
    bad('naming', 'entity name starts with the device name');
  }

  // topics
  for (const k of ['state_topic', 'json_attributes_topic']) {
    if (p[k] === undefined) continue;
    const why = topicProblem(p[k], true); // ours are published by us, so no wildcards at all
    if (why) bad('util.py', `${k}: ${why}`);
  }

  // platforms
  if (component === 'binary_sensor' || component === 'sensor' || component === 'event') {
    if (typeof p.state_topic !== 'string') bad('config.py', 'state_topic required');
  }
  if (
    component === 'binary_sensor' &&
    p.device_class !== undefined &&
    !BINARY_SENSOR_CLASSES.has(String(p.device_class))
  ) {
    bad('classes', `binary_sensor device_class ${String(p.device_class)}`);
  }
  if (component === 'sensor') {
    if (p.device_class !== undefined && !SENSOR_CLASSES.has(String(p.device_class))) {
      bad('classes', `sensor device_class ${String(p.device_class)}`);
    }
    if (p.state_class !== undefined && !STATE_CLASSES.has(String(p.state_class))) {
      bad('classes', `state_class ${String(p.state_class)}`);
    }
    if (p.options !== undefined) {
      if (!Array.isArray(p.options) || p.options.length === 0) bad('sensor.py', 'options empty');
      if (p.state_class !== undefined || p.unit_of_measurement !== undefined) {
        bad('sensor.py', 'options with state_class or unit');
      }
      if (p.device_class !== 'enum') bad('sensor.py', 'options without device_class enum');
    }
    if ((p.device_class === 'enum' || p.device_class === 'timestamp') && (p.state_class || p.unit_of_measurement)) {
      bad('classes', `${String(p.device_class)} sensor with state_class or unit`);
    }
    if (p.last_reset_value_template !== undefined && p.state_class !== 'total') {
      bad('sensor.py', 'last_reset_value_template needs state_class total');
    }
  }
  if (component === 'event') {
    const types = p.event_types;
    if (!Array.isArray(types) || types.length === 0 || !types.every((t) => typeof t === 'string')) {
      bad('event.py', 'event_types required');
    }
  }
  if (component === 'button') {
    const why = topicProblem(p.command_topic, true);
    if (why) bad('button.py', `command_topic: ${why}`);
    if (p.device_class !== undefined && !BUTTON_CLASSES.has(String(p.device_class))) {
      bad('button.py', `device_class ${String(p.device_class)}`);
    }
    if (p.payload_press !== undefined && typeof p.payload_press !== 'string') bad('button.py', 'payload_press');
  }
  if (component === 'switch') {
    const why = topicProblem(p.command_topic, true);
    if (why) bad('switch.py', `command_topic: ${why}`);
    if (p.device_class !== undefined && !SWITCH_CLASSES.has(String(p.device_class)))
      bad('switch.py', `device_class ${String(p.device_class)}`);
    for (const k of ['payload_on', 'payload_off', 'state_on', 'state_off'])
      if (p[k] !== undefined && typeof p[k] !== 'string') bad('switch.py', `${k} must be a string`);
  }
  return out;
}

// ---- fixtures ------------------------------------------------------------------

const topics = new Topics({ discoveryPrefix: 'homeassistant', baseTopic: 'replyguard', nodeId: 'OpenWrt-side' });

function input(forwards: string[] = ['nas', 'wg']): DiscoveryInput {
  return {
    topics,
    nodeId: 'OpenWrt-side',
    version: '0.1.0',
    router: { name: 'OpenWrt-side', model: 'Xiaomi AX3600', osVersion: 'OpenWrt 24.10.2 r28739' },
    forwards,
    routerAddresses: ['fe80::1', '192.168.50.2'],
  };
}

function finding(f: Partial<Finding> = {}): Finding {
  return {
    id: 'hijack-tcp-192.168.50.10-443',
    kind: 'reply_hijacked',
    severity: 'problem',
    state: 'active',
    proto: 'tcp',
    server: '192.168.50.10:443',
    forward: 'nas',
    peers: ['203.0.113.50'],
    count: 3,
    first_seen: '2026-11-25T00:20:00.000Z',
    last_seen: '2026-11-25T00:24:01.000Z',
    diverted_to: '192.168.50.2:7892',
    proxy_hint: 'OpenClash (or ShellCrash)',
    summary: 'TCP reply of 192.168.50.10:443 … redirected',
    evidence: [],
    fix: ['Exempt TCP without SYN', 'second'],
    ...f,
  };
}

function doc(findings: Finding[], status: 'ok' | 'hijacked' | 'unknown' = 'unknown'): StatusDocument {
  return {
    schema: 2,
    version: '0.1.0',
    updated_at: '2026-11-25T00:25:00.000Z',
    started_at: '2026-11-25T00:00:00.000Z',
    node_id: 'OpenWrt-side',
    health: findings.some((f) => f.state === 'active') ? 'problem' : 'ok',
    headline: 'h',
    sensors: {
      conntrack: { state: 'running', events: 10, lost: 2, resyncs: 1, restarts: 0, parse_errors: 0 },
      probe: { state: 'running', interval_s: 2, keys: 0, reinstalls: 0 },
      addresses: { state: 'running' },
      ebpf: { state: 'running', way: 'tc', hooks: [] },
    },
    outputs: { mqtt: { state: 'connected' } },
    lan: { interfaces: ['br-lan'], subnets: ['192.168.50.0/24'], source: 'config', router_addresses: ['192.168.50.2'] },
    forwards: [
      { name: 'nas', host: '192.168.50.10', port: 443, proto: 'tcp', status },
      { name: 'wg', host: '192.168.50.10', port: 51820, proto: 'udp', status: 'unknown' },
    ],
    findings,
    proxy: null,
    ruleset: null,
    timeline: [],
    guard: { mode: 'auto', state: 'in_place', summary: 's', rules: 2, applies: 1, last_apply: null },
    counters: {
      candidates: 5,
      hijackedReplies: 3,
      flowsTracked: 0,
      flowsEvicted: 0,
      findingsEvicted: 0,
      problem_hold_s: 900,
    },
  } as StatusDocument;
}

// ---- tests -------------------------------------------------------------------------

describe('HA discovery payloads', () => {
  const msgs = discoveryMessages(input());

  it('every payload passes the field rules of HA’s MQTT integration', () => {
    const problems = msgs.flatMap((m) => violations(m, 'homeassistant', 'OpenWrt-side'));
    assert.deepEqual(problems, []);
  });

  it('the walker itself catches what HA rejects', () => {
    const base = msgs.find((m) => m.objectId === 'affected_forwards')!;
    const broken = (patch: Record<string, unknown>, component = base.component, topic = base.topic) =>
      violations(
        { ...base, component, topic, payload: { ...base.payload, ...patch } },
        'homeassistant',
        'OpenWrt-side',
      );
    assert.match(broken({ entity_category: 'config' }).join(), /entity-cat/);
    assert.match(broken({ options: ['a'] }).join(), /sensor\.py/);
    assert.match(broken({ default_entity_id: 'foo' }).join(), /entity-id/);
    assert.match(broken({ default_entity_id: 'binary_sensor.x' }).join(), /another domain/);
    assert.match(broken({ object_id: 'x' }).join(), /deprecated object_id/);
    assert.match(broken({ state_topic: 'a/+/b' }).join(), /wildcard/);
    assert.match(broken({ name: 'OpenWrt-side affected' }).join(), /naming/);
    assert.match(broken({ device: { name: 'x' } }).join(), /identifiers/);
    assert.match(broken({ origin: {} }).join(), /origin\.name/);
    assert.match(broken({}, 'sensor', 'homeassistant/sensor/a.b/x/config').join(), /TOPIC_MATCHER/);
    assert.match(broken({ stat_cla: 'x' }).join(), /unknown key/);
  });

  it('has the entities the issue asks for, with stable unique ids', () => {
    const by = new Map(msgs.map((m) => [m.objectId, m]));
    const problem = by.get('problem')!;
    assert.equal(problem.component, 'binary_sensor');
    assert.equal(problem.payload.device_class, 'problem');
    assert.equal(problem.payload.name, 'Port-forward replies hijacked');
    assert.equal(problem.payload.state_topic, 'replyguard/OpenWrt-side/problem');
    assert.equal(problem.payload.json_attributes_topic, 'replyguard/OpenWrt-side/findings');
    assert.equal(by.get('hijacked_replies')!.payload.state_class, 'total_increasing');
    assert.equal(by.get('last_detection')!.payload.device_class, 'timestamp');
    assert.equal(by.get('proxy')!.payload.entity_category, 'diagnostic');
    assert.equal(by.get('events_lost')!.payload.entity_category, 'diagnostic');
    assert.deepEqual(by.get('events')!.payload.event_types, [...EVENT_TYPES]);
    assert.equal(by.get('recheck')!.component, 'button');
    assert.equal(by.get('recheck')!.payload.command_topic, 'replyguard/OpenWrt-side/recheck');
    assert.deepEqual(by.get('forward_nas')!.payload.options, [...FORWARD_STATES]);
    assert.equal(by.get('forward_wg')!.payload.state_topic, 'replyguard/OpenWrt-side/forward/wg/state');
    const guard = by.get('guard')!;
    assert.equal(guard.component, 'switch');
    assert.equal(guard.payload.entity_category, 'config');
    assert.equal(guard.payload.command_topic, 'replyguard/OpenWrt-side/guard/set');
    assert.equal(guard.payload.state_topic, 'replyguard/OpenWrt-side/guard');
    const health = by.get('health')!;
    assert.deepEqual(health.payload.options, ['ok', 'problem', 'degraded']);
    assert.equal(health.payload.value_template, '{{ value_json.health }}');
    assert.equal(msgs.length, 12);
    const ids = msgs.map((m) => m.payload.unique_id as string);
    assert.equal(new Set(ids).size, ids.length, 'unique ids are unique');
    assert.ok(ids.every((id) => id.startsWith('replyguard_OpenWrt-side_')));
    assert.equal(problem.payload.default_entity_id, 'binary_sensor.replyguard_openwrt_side_problem');
  });

  it('does not depend on the base topic for ids (no _2 duplicates when it changes)', () => {
    const other = discoveryMessages({
      ...input(),
      topics: new Topics({ discoveryPrefix: 'homeassistant', baseTopic: 'rg2', nodeId: 'OpenWrt-side' }),
    });
    assert.deepEqual(
      other.map((m) => [m.topic, m.payload.unique_id]),
      msgs.map((m) => [m.topic, m.payload.unique_id]),
    );
  });

  it('one device per router, with LuCI as configuration_url and the origin', () => {
    const devices = new Set(msgs.map((m) => JSON.stringify(m.payload.device)));
    assert.equal(devices.size, 1);
    const dev = msgs[0]!.payload.device as Record<string, unknown>;
    assert.deepEqual(dev.identifiers, ['replyguard_OpenWrt-side']);
    assert.equal(dev.name, 'OpenWrt-side');
    assert.equal(dev.model, 'Xiaomi AX3600');
    assert.match(String(dev.sw_version), /OpenWrt 24\.10\.2.*replyguard 0\.1\.0/);
    assert.equal(dev.configuration_url, 'http://192.168.50.2/cgi-bin/luci/admin/services/replyguard');
    assert.deepEqual(msgs[0]!.payload.origin, { name: 'replyguard', sw_version: '0.1.0' });
    assert.deepEqual(msgs[0]!.payload.availability, [
      { topic: 'replyguard/OpenWrt-side/availability', payload_available: 'online', payload_not_available: 'offline' },
    ]);
  });

  it('recognises its own retained configs and no one else’s', () => {
    assert.equal(isOwnDiscoveryPayload(JSON.stringify(msgs[0]!.payload), 'OpenWrt-side'), true);
    assert.equal(isOwnDiscoveryPayload('{"unique_id":"z2m_0x1"}', 'OpenWrt-side'), false);
    assert.equal(isOwnDiscoveryPayload('not json', 'OpenWrt-side'), false);
    assert.equal(topics.isOwnDiscoveryTopic('homeassistant/sensor/OpenWrt-side/x/config'), true);
    assert.equal(topics.isOwnDiscoveryTopic('homeassistant/sensor/other/x/config'), false);
    assert.equal(topics.discoveryWildcard, 'homeassistant/+/OpenWrt-side/+/config');
  });
});

describe('entity slugs and helpers', () => {
  it('makes HA-valid entity ids from any node id', () => {
    for (const raw of ['OpenWrt', 'my--router', '_x_', 'A-B_C', '---', 'ÄÖ']) {
      assert.match(`sensor.${entitySlug(raw)}`, VALID_ENTITY_ID, raw);
    }
  });
  it('LuCI is on the router address in the LAN, never loopback or link-local (HA would open itself)', () => {
    // The order ip -j addr gives: lo first.
    const addrs = ['127.0.0.1', '::1', '192.168.50.2', 'fe80::1', '10.9.9.9'];
    assert.equal(luciUrl(addrs, ['192.168.50.0/24']), 'http://192.168.50.2/cgi-bin/luci/admin/services/replyguard');
    assert.equal(luciUrl(['127.0.0.1', '10.9.9.9']), 'http://10.9.9.9/cgi-bin/luci/admin/services/replyguard');
    assert.equal(luciUrl(['127.0.0.1', '::1', 'fe80::1']), undefined);
  });
  it('LuCI prefers an IPv4 address', () => {
    assert.equal(luciUrl(['fd00::2', '10.0.0.2']), 'http://10.0.0.2/cgi-bin/luci/admin/services/replyguard');
    assert.equal(luciUrl(['fd00::2']), 'http://[fd00::2]/cgi-bin/luci/admin/services/replyguard');
    assert.equal(luciUrl([]), undefined);
  });
  it('reads the OpenWrt release', () => {
    assert.equal(
      openwrtRelease("DISTRIB_ID='OpenWrt'\nDISTRIB_DESCRIPTION='OpenWrt 24.10.2 r28739-d9340319c6'\n"),
      'OpenWrt 24.10.2 r28739-d9340319c6',
    );
    assert.equal(openwrtRelease(undefined), undefined);
  });
});

describe('state payloads', () => {
  it('problem ON, findings compact, forward state from status.json', () => {
    const d = doc([finding()], 'hijacked');
    const msgs = new Map(stateMessages(d, topics).map((m) => [m.topic, m.payload]));
    assert.equal(msgs.get('replyguard/OpenWrt-side/problem'), 'ON');
    assert.equal(msgs.get('replyguard/OpenWrt-side/forward/nas/state'), 'hijacked');
    // No replies seen yet: not HA's own "unknown".
    assert.equal(msgs.get('replyguard/OpenWrt-side/forward/wg/state'), 'no_replies_yet');
    const attrs = JSON.parse(msgs.get('replyguard/OpenWrt-side/findings')!) as ReturnType<typeof findingsAttributes>;
    assert.equal(attrs.count, 1);
    assert.deepEqual((attrs.findings as Array<Record<string, unknown>>)[0]!.fix, 'Exempt TCP without SYN');
    const s = stateSummary(d);
    assert.equal(s.affected_forwards, 1);
    assert.equal(s.hijacked_replies, 3);
    assert.equal(s.last_detection, '2026-11-25T00:24:01.000Z');
    assert.equal(s.proxy, 'OpenClash (or ShellCrash)');
    assert.equal(s.events_lost, 2);
  });

  it('names the proxy from the port the replies were diverted to when the finding names none', () => {
    const f = finding({ proxy_hint: undefined, diverted_to: '192.168.50.2:1041' });
    assert.equal(stateSummary(doc([f])).proxy, 'Passwall (or Passwall2)');
    assert.equal(stateSummary(doc([finding({ proxy_hint: undefined, diverted_to: '10.0.0.1:9' })])).proxy, 'none');
  });

  it("names the proxy the ruleset's attribution found, also for a hijack only the probe saw (no diverted_to)", () => {
    const probeFound = finding({ proxy_hint: undefined, diverted_to: undefined, proxy: 'OpenClash (fw4)' });
    assert.equal(stateSummary(doc([probeFound])).proxy, 'OpenClash (fw4)');
    const attrs = findingsAttributes(doc([probeFound])).findings as Array<Record<string, unknown>>;
    assert.equal(attrs[0]!.proxy, 'OpenClash (fw4)');
    // The attribution beats the guess from the redirect port (7892 is OpenClash's and ShellCrash's default).
    assert.equal(stateSummary(doc([finding({ proxy: 'ShellCrash' })])).proxy, 'ShellCrash');
  });

  it('the fixes in the order status.json gives them: typed, or the text of an older document', () => {
    const typed = finding({
      typed_fixes: [
        { kind: 'proxy_setting', proxy: 'openclash', text: 'OpenClash: add …', basis: 'ruleset' },
        { kind: 'gateway', proxy: 'none', text: 'Or remove the asymmetry …', basis: 'detector' },
      ],
    });
    const [a] = findingsAttributes(doc([typed])).findings as Array<Record<string, unknown>>;
    assert.equal(a!.fix, 'OpenClash: add …');
    assert.deepEqual(a!.fixes, [
      { kind: 'proxy_setting', proxy: 'openclash' },
      { kind: 'gateway', proxy: 'none' },
    ]);
    const older = finding({ proxy_fix: ['the proxy line'] });
    const [b] = findingsAttributes(doc([older])).findings as Array<Record<string, unknown>>;
    assert.equal(b!.fix, 'the proxy line', "an older document: proxy_fix before the detector's lines");
    assert.deepEqual(b!.fixes, [
      { kind: null, proxy: null },
      { kind: null, proxy: null },
      { kind: null, proxy: null },
    ]);
  });

  it("an eBPF program before netfilter reaches HA's Health sensor as a sensor error", () => {
    const d = doc([]);
    assert.equal(stateSummary(d).sensor_errors, null);
    d.sensors.ebpf.hooks = [{ interface: 'br-lan', program: 'dae_lan_ingress_l2', proxy: 'dae', blind: true }];
    const errors = stateSummary(d).sensor_errors as Record<string, string>;
    assert.match(errors.ebpf ?? '', /^eBPF before netfilter: dae's dae_lan_ingress_l2 on br-lan ingress\./);
    d.sensors.ebpf = { state: 'failed', hooks: [], last_error: 'tc -j filter show dev br-lan ingress: x' };
    assert.equal(
      (stateSummary(d).sensor_errors as Record<string, string>).ebpf,
      'tc -j filter show dev br-lan ingress: x',
    );
  });

  it('every value template reads a key the state summary has', () => {
    const keys = new Set(Object.keys(stateSummary(doc([]))));
    for (const m of discoveryMessages(input())) {
      const tpl = m.payload.value_template as string | undefined;
      if (!tpl) continue;
      for (const [, key] of tpl.matchAll(/value_json\.(\w+)/g)) assert.ok(keys.has(key!), `${m.objectId}: ${key}`);
    }
  });

  it('no hijack: OFF, empty findings, last_detection null (the template turns it into None)', () => {
    const msgs = new Map(stateMessages(doc([]), topics).map((m) => [m.topic, m.payload]));
    assert.equal(msgs.get('replyguard/OpenWrt-side/problem'), 'OFF');
    assert.deepEqual(JSON.parse(msgs.get('replyguard/OpenWrt-side/findings')!), { count: 0, findings: [] });
    assert.equal(stateSummary(doc([])).last_detection, null);
  });

  it('the forward states are among the enum sensor’s options', () => {
    for (const st of ['ok', 'hijacked', 'unknown'] as const) {
      const m = stateMessages(doc([], st), topics).find((x) => x.topic.endsWith('/forward/nas/state'))!;
      assert.ok((FORWARD_STATES as readonly string[]).includes(m.payload));
    }
  });

  it('events carry an event_type the event entity declares', () => {
    const events = [...statusEvents(doc([]), doc([finding()])), ...statusEvents(doc([finding()]), doc([]))];
    assert.deepEqual(
      events.map((e) => e.event_type),
      ['hijack_detected', 'hijack_cleared'],
    );
    for (const e of events) {
      const p = JSON.parse(eventPayload(e)) as { event_type: string };
      assert.ok((EVENT_TYPES as readonly string[]).includes(p.event_type));
    }
  });
});
