// Validates parsed sections (from either file format) against the schema and
// builds the typed Config. Every problem is collected, so that one run of the
// daemon tells the user everything that is wrong with the file.

import { canonicalAddress, parsePrefix } from '../net/ip-address';
import { inputText, quotedInput } from '../util/input-text';
import {
  type Config,
  ConfigError,
  DEFAULT_MAIN,
  type ForwardConfig,
  type ForwardProto,
  type GuardMode,
  type LogLevel,
  type MainConfig,
  type MqttConfig,
  type ProbeMode,
} from './config';
import { type ConfigSection, sectionLabels } from './config-section';

/** All problems found in one config file; `message` has one per line. */
export class ConfigProblems extends Error {
  readonly errors: ConfigError[];
  constructor(errors: ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'ConfigProblems';
    this.errors = errors;
  }
}

export const DEFAULT_MQTT: MqttConfig = { enabled: false };

// ---- value parsers -------------------------------------------------------

class Invalid {
  constructor(readonly problem: string) {}
}

type Parse<T> = (raw: string) => T | Invalid;

interface Field {
  /** List-valued: items are split on spaces and commas, each parsed alone. */
  list: boolean;
  parse: Parse<unknown>;
}

/** A value quoted for a message, cut short when long, its control characters escaped. */
function show(raw: string): string {
  return quotedInput(raw, 64);
}

const DIGITS_RE = /^[0-9]+$/;

function integer(min: number, max: number, unit?: string): Parse<number> {
  const range = `(${min}-${max}${unit ? ` ${unit}` : ''})`;
  return (raw) => {
    if (!DIGITS_RE.test(raw)) return new Invalid(`${show(raw)} is not a whole number ${range}`);
    const n = Number(raw);
    return n >= min && n <= max ? n : new Invalid(`${show(raw)} is out of range ${range}`);
  };
}

const port: Parse<number> = (raw) => {
  const n = DIGITS_RE.test(raw) ? Number(raw) : Number.NaN;
  return n >= 1 && n <= 65535 ? n : new Invalid(`${show(raw)} is not a port (1-65535)`);
};

function oneOf<T extends string>(choices: readonly T[]): Parse<T> {
  return (raw) =>
    (choices as readonly string[]).includes(raw)
      ? (raw as T)
      : new Invalid(`${show(raw)} is not one of: ${choices.join(', ')}`);
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on', 'enabled']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off', 'disabled']);

const boolean: Parse<boolean> = (raw) => {
  const word = raw.toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return new Invalid(`${show(raw)} is not a boolean (use 1/0, true/false, yes/no, on/off or enabled/disabled)`);
};

/**
 * Interface names as OpenWrt makes them (br-lan, eth0.2, wlan0-1, phy0-ap0, pppoe-wan): 1-15
 * letters, digits, '_', '.' or '-', not starting with '.' or '-'. Linux would take more (any byte
 * but '/', ':' and whitespace), but a name reaches status.json, logs and the kernel tools, and
 * shell syntax such as "$(id)" has no business there.
 */
const INTERFACE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;

const interfaceName: Parse<string> = (raw) =>
  INTERFACE_NAME_RE.test(raw)
    ? raw
    : new Invalid(
        `${show(raw)} is not a network interface name (1-15 letters, digits, '_', '.' or '-'; not starting with '.' or '-')`,
      );

const prefix: Parse<string> = (raw) => {
  const p = raw.includes('/') ? parsePrefix(raw) : null;
  if (p) return p.text;
  return new Invalid(`${show(raw)} is not an IPv4/IPv6 prefix (e.g. 192.168.1.0/24 or fd00::/64)`);
};

const address: Parse<string> = (raw) =>
  canonicalAddress(raw) ?? new Invalid(`${show(raw)} is not an IPv4 or IPv6 address`);

const absolutePath: Parse<string> = (raw) =>
  raw.startsWith('/') && !/[\x00-\x1f\x7f]/.test(raw) ? raw : new Invalid(`${show(raw)} is not an absolute path`);

/**
 * Where runtime state may go: one directory directly under /var/run (OpenWrt: /tmp/run, in RAM).
 * The daemon runs as root, and a directory elsewhere could be one whose files something runs
 * (/etc/hotplug.d/…, /etc/uci-defaults); the daemon also refuses a directory it did not make.
 */
export const STATE_DIR_RE = /^\/(var|tmp)\/run\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

const stateDir: Parse<string> = (raw) =>
  STATE_DIR_RE.test(raw)
    ? raw
    : new Invalid(
        `${show(raw)} is not a runtime state directory: use /var/run/NAME (or /tmp/run/NAME), NAME of letters, digits, '_', '.' or '-'`,
      );

// ---- schema ----------------------------------------------------------------

const one = (parse: Parse<unknown>): Field => ({ list: false, parse });
const many = (parse: Parse<unknown>): Field => ({ list: true, parse });

const MAIN_FIELDS = new Map<string, Field>([
  ['lan_interfaces', many(interfaceName)],
  ['lan_subnets', many(prefix)],
  ['state_dir', one(stateDir)],
  ['problem_hold', one(integer(1, 604800, 'seconds'))],
  ['log_level', one(oneOf<LogLevel>(['debug', 'info', 'warn', 'error']))],
  ['conntrack_buffer', one(integer(65536, 268435456, 'bytes'))],
  ['max_findings', one(integer(1, 65536))],
  ['max_flows', one(integer(16, 1048576))],
  ['status_interval', one(integer(1, 3600, 'seconds'))],
  ['probe', one(oneOf<ProbeMode>(['auto', 'on', 'off']))],
  ['probe_interval', one(integer(1, 60, 'seconds'))],
  ['guard', one(oneOf<GuardMode>(['off', 'auto']))],
]);

/** mqtt:// or mqtts:// with a host; ws:// and socks are not built into the bundle. */
const mqttUrl: Parse<string> = (raw) => {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') || url.hostname === '') {
    // Shown without what comes before an '@': a user:password there would end up in the log.
    const at = raw.lastIndexOf('@');
    const shown = at < 0 ? raw : `${/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(raw)?.[0] ?? ''}…${raw.slice(at)}`;
    return new Invalid(`${show(shown)} is not an MQTT broker URL (mqtt://host[:port] or mqtts://host[:port])`);
  }
  if (url.username !== '' || url.password !== '') {
    // A password in the URL would end up in logs and status; there are options for both.
    return new Invalid("put the user name and password in 'username' and 'password', not in the URL");
  }
  return raw;
};

const CONTROL_RE = /[\x00-\x1f\x7f]/;

const username: Parse<string> = (raw) =>
  CONTROL_RE.test(raw) ? new Invalid(`${show(raw)} contains control characters`) : raw;

/** Like username, but the value never appears in a message. */
const password: Parse<string> = (raw) =>
  CONTROL_RE.test(raw) ? new Invalid('the password contains control characters') : raw;

const clientId: Parse<string> = (raw) =>
  /^[A-Za-z0-9_.-]{1,64}$/.test(raw)
    ? raw
    : new Invalid(`${show(raw)} is not a client id (1-64 letters, digits, '_', '.' or '-')`);

/** MQTT topic levels without wildcards, '$' or empty levels, as HA's discovery prefix and our base topic need. */
const topicPrefix: Parse<string> = (raw) =>
  /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(raw) && raw.length <= 128
    ? raw
    : new Invalid(`${show(raw)} is not a topic prefix (levels of letters, digits, '_' or '-', separated by '/')`);

/** HA's rule for the node_id level of a discovery topic: [a-zA-Z0-9_-]. */
const nodeId: Parse<string> = (raw) =>
  /^[A-Za-z0-9_-]{1,64}$/.test(raw)
    ? raw
    : new Invalid(`${show(raw)} is not a node id (1-64 letters, digits, '_' or '-')`);

const MQTT_FIELDS = new Map<string, Field>([
  ['enabled', one(boolean)],
  ['url', one(mqttUrl)],
  ['username', one(username)],
  ['password', one(password)],
  ['ca_file', one(absolutePath)],
  ['insecure', one(boolean)],
  ['client_id', one(clientId)],
  ['discovery_prefix', one(topicPrefix)],
  ['base_topic', one(topicPrefix)],
  ['node_id', one(nodeId)],
  ['retain', one(boolean)],
]);

const FORWARD_FIELDS = new Map<string, Field>([
  ['host', one(address)],
  ['port', one(port)],
  ['proto', one(oneOf<ForwardProto>(['tcp', 'udp']))],
  ['wan_port', one(port)],
  ['enabled', one(boolean)],
]);

const SECTION_TYPES = ['main', 'mqtt', 'forward'];
const FORWARD_NAME_RE = /^[A-Za-z0-9_-]{1,32}$/;

// ---- helpers -----------------------------------------------------------------

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The closest known word within edit distance 2, if any. */
export function closestName(word: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  const lower = word.toLowerCase();
  for (const k of known) {
    const d = editDistance(lower, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function unknownHint(word: string, known: readonly string[], what: string): string {
  const near = closestName(word, known);
  return near !== undefined ? `did you mean '${near}'?` : `known ${what}: ${known.join(', ')}`;
}

class Checker {
  readonly errors: ConfigError[] = [];
  constructor(readonly file: string) {}

  fail(section: string | undefined, key: string | undefined, problem: string, line?: number): void {
    this.errors.push(new ConfigError(this.file, section, key, problem, line));
  }

  /** Parses every option of a section; values left empty are "not set" and absent from the result. */
  read(section: ConfigSection, label: string, fields: ReadonlyMap<string, Field>): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const [key, opt] of section.options) {
      const field = fields.get(key);
      if (!field) {
        this.fail(label, key, `unknown option; ${unknownHint(key, [...fields.keys()], 'options')}`, opt.line);
        continue;
      }
      if (!field.list) {
        if (Array.isArray(opt.value)) {
          this.fail(label, key, 'takes a single value, not a list', opt.line);
          continue;
        }
        if (opt.value === '') continue;
        const v = field.parse(opt.value);
        if (v instanceof Invalid) this.fail(label, key, v.problem, opt.line);
        else out.set(key, v);
        continue;
      }
      const raws = Array.isArray(opt.value) ? opt.value : [opt.value];
      const items: unknown[] = [];
      let ok = true;
      raws.forEach((raw, i) => {
        for (const word of raw.split(/[\s,]+/)) {
          if (word === '') continue;
          const v = field.parse(word);
          if (v instanceof Invalid) {
            this.fail(label, key, v.problem, opt.lines?.[i] ?? opt.line);
            ok = false;
          } else if (!items.includes(v)) {
            items.push(v);
          }
        }
      });
      if (ok && items.length > 0) out.set(key, items);
    }
    return out;
  }
}

// ---- the builder ---------------------------------------------------------------

/**
 * Validates the sections of one config file and returns the typed Config.
 * Throws ConfigProblems listing every problem found.
 */
export function buildConfig(sections: readonly ConfigSection[], file: string): Config {
  const check = new Checker(file);
  const labels = sectionLabels(sections);
  const main: MainConfig = { ...DEFAULT_MAIN, lanInterfaces: [...DEFAULT_MAIN.lanInterfaces], lanSubnets: [] };
  const mqtt: MqttConfig = { ...DEFAULT_MQTT };
  const forwards: ForwardConfig[] = [];
  const firstOfType = new Map<string, ConfigSection>();
  const forwardNames = new Map<string, ConfigSection>();
  const endpoints = new Map<string, string>();

  sections.forEach((section, index) => {
    const label = labels[index]!;
    const { type } = section;
    if (!SECTION_TYPES.includes(type)) {
      check.fail(
        label,
        undefined,
        `unknown section type '${inputText(type, 64)}'; ${unknownHint(type, SECTION_TYPES, 'types')}`,
        section.line,
      );
      return;
    }
    const first = firstOfType.get(type);
    if (!first) firstOfType.set(type, section);

    if (type === 'main' || type === 'mqtt') {
      if (first) {
        check.fail(
          label,
          undefined,
          `only one '${type}' section is allowed` +
            (first.line !== undefined ? ` (the first is at line ${first.line})` : ''),
          section.line,
        );
      }
      if (type === 'main') {
        const got = check.read(section, label, MAIN_FIELDS);
        if (first) return;
        const get = <T>(key: string, fallback: T): T => (got.has(key) ? (got.get(key) as T) : fallback);
        main.lanInterfaces = get('lan_interfaces', main.lanInterfaces);
        main.lanSubnets = get('lan_subnets', main.lanSubnets);
        main.stateDir = get('state_dir', main.stateDir);
        main.problemHold = get('problem_hold', main.problemHold);
        main.logLevel = get('log_level', main.logLevel);
        main.conntrackBuffer = get('conntrack_buffer', main.conntrackBuffer);
        main.maxFindings = get('max_findings', main.maxFindings);
        main.maxFlows = get('max_flows', main.maxFlows);
        main.statusInterval = get('status_interval', main.statusInterval);
        if (got.has('probe')) main.probe = got.get('probe') as ProbeMode;
        if (got.has('probe_interval')) main.probeInterval = got.get('probe_interval') as number;
        if (got.has('guard')) main.guard = got.get('guard') as GuardMode;
      } else {
        const got = check.read(section, label, MQTT_FIELDS);
        if (first) return;
        const set = <K extends keyof MqttConfig>(key: string, field: K) => {
          if (got.has(key)) mqtt[field] = got.get(key) as MqttConfig[K];
        };
        set('enabled', 'enabled');
        set('url', 'url');
        set('username', 'username');
        set('password', 'password');
        set('ca_file', 'caFile');
        set('insecure', 'insecure');
        set('client_id', 'clientId');
        set('discovery_prefix', 'discoveryPrefix');
        set('base_topic', 'baseTopic');
        set('node_id', 'nodeId');
        set('retain', 'retain');
        const urlOption = section.options.get('url');
        if (mqtt.enabled && (urlOption === undefined || urlOption.value === '')) {
          check.fail(label, 'url', "missing; MQTT needs the broker's 'url' when enabled", section.line);
        }
      }
      return;
    }

    // forward
    const got = check.read(section, label, FORWARD_FIELDS);
    let named = true;
    if (section.name === undefined) {
      check.fail(
        label,
        undefined,
        "a forward section needs a name: config forward 'nas' (UCI) or [forward.nas] (INI)",
        section.line,
      );
      named = false;
    } else if (!FORWARD_NAME_RE.test(section.name)) {
      check.fail(
        label,
        undefined,
        `invalid forward name ${show(section.name)}: use 1-32 letters, digits, '_' or '-'`,
        section.line,
      );
      named = false;
    } else {
      const twin = forwardNames.get(section.name);
      if (twin) {
        check.fail(label, undefined, `a second forward named '${section.name}'`, section.line);
        named = false;
      } else {
        forwardNames.set(section.name, section);
      }
    }
    for (const key of ['host', 'port']) {
      const opt = section.options.get(key);
      if (!opt) check.fail(label, key, `missing; every forward needs '${key}'`, section.line);
      else if (opt.value === '') check.fail(label, key, `is empty; every forward needs '${key}'`, opt.line);
    }
    const host = got.get('host') as string | undefined;
    const fwdPort = got.get('port') as number | undefined;
    if (!named || host === undefined || fwdPort === undefined) return;
    if (got.get('enabled') === false) return;
    const fwd: ForwardConfig = {
      name: section.name!,
      host,
      port: fwdPort,
      proto: (got.get('proto') as ForwardProto | undefined) ?? 'tcp',
    };
    const wanPort = got.get('wan_port') as number | undefined;
    if (wanPort !== undefined) fwd.wanPort = wanPort;
    const endpoint = `${fwd.proto} ${host} ${fwdPort}`;
    const clash = endpoints.get(endpoint);
    if (clash !== undefined) {
      check.fail(
        label,
        undefined,
        `forwards '${clash}' and '${fwd.name}' both point at ${fwd.proto} ${host} port ${fwdPort}`,
        section.line,
      );
      return;
    }
    endpoints.set(endpoint, fwd.name);
    forwards.push(fwd);
  });

  if (check.errors.length > 0) throw new ConfigProblems(check.errors);
  return { source: file, main, mqtt, forwards };
}
