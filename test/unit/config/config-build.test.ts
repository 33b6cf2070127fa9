import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { type Config, ConfigError, DEFAULT_MAIN } from '../../../src/config/config';
import { buildConfig, ConfigProblems, closestName } from '../../../src/config/config-build';
import type { ConfigSection } from '../../../src/config/config-section';
import { parseConfigText } from '../../../src/config/config-text';
import { loadConfig } from '../../../src/system/load-config';

const UCI = '/etc/config/replyguard';
const ATTACKS = join(__dirname, '..', '..', 'fixtures', 'attacks');
const INI = '/etc/replyguard.ini';

const INI_EXAMPLE = `[main]
lan_interfaces = br-lan          ; default: br-lan
lan_subnets =                    ; default: the IPv4/IPv6 networks on lan_interfaces
state_dir = /var/run/replyguard
[mqtt]
enabled = false
[forward.nas]                    ; UCI: config forward 'nas'
host = 192.168.1.10
port = 443
proto = tcp                      ; tcp | udp
wan_port = 9443                  ; optional, for display
`;

const UCI_EXAMPLE = `package replyguard

config main 'main'
\toption lan_interfaces 'br-lan'
\toption lan_subnets ''
\toption state_dir '/var/run/replyguard'

config mqtt 'mqtt'
\toption enabled '0'

config forward 'nas'
\toption host '192.168.1.10'
\toption port '443'
\toption proto 'tcp'
\toption wan_port '9443'
`;

const EXPECTED: Config = {
  source: INI,
  main: {
    lanInterfaces: ['br-lan'],
    lanSubnets: [],
    stateDir: '/var/run/replyguard',
    problemHold: 900,
    logLevel: 'info',
    conntrackBuffer: 4194304,
    maxFindings: 256,
    maxFlows: 8192,
    statusInterval: 30,
  },
  mqtt: { enabled: false },
  forwards: [{ name: 'nas', host: '192.168.1.10', port: 443, proto: 'tcp', wanPort: 9443 }],
};

/** A UCI file with one section of `type` holding the given option lines. */
function uci(type: string, name: string | undefined, ...options: string[]): string {
  return [`config ${type}${name !== undefined ? ` '${name}'` : ''}`, ...options.map((o) => `\t${o}`)].join('\n');
}

function problems(text: string, file = UCI): ConfigError[] {
  try {
    parseConfigText(text, file);
  } catch (err) {
    assert.ok(err instanceof ConfigProblems, `expected ConfigProblems, got ${String(err)}`);
    assert.equal(err.message, err.errors.map((e) => e.message).join('\n'));
    return err.errors;
  }
  assert.fail('expected ConfigProblems');
}

/** The one problem `text` has. */
function problem(text: string, file = UCI): ConfigError {
  const errors = problems(text, file);
  assert.equal(errors.length, 1, errors.map((e) => e.message).join('\n'));
  return errors[0]!;
}

function mainOf(...options: string[]): Config['main'] {
  return parseConfigText(uci('main', 'main', ...options), UCI).main;
}

function forwardsOf(text: string): Config['forwards'] {
  return parseConfigText(text, UCI).forwards;
}

const nas = (...options: string[]): string => uci('forward', 'nas', "option host '192.168.1.10'", ...options);

describe('buildConfig: the documented example', () => {
  it('loads the INI example', () => {
    assert.deepEqual(parseConfigText(INI_EXAMPLE, INI), EXPECTED);
  });

  it('gives the same Config for the equivalent UCI file', () => {
    assert.deepEqual({ ...parseConfigText(UCI_EXAMPLE, UCI), source: INI }, EXPECTED);
    assert.equal(parseConfigText(UCI_EXAMPLE, UCI).source, UCI);
  });

  it('gives the same Config for INI with key[] lists and UCI with list lines', () => {
    const ini = '[main]\nlan_interfaces[] = br-lan\nlan_interfaces[] = br-guest\nlan_subnets = 10.0.0.0/8, fd00::/8\n';
    const text = uci(
      'main',
      'main',
      'list lan_interfaces br-lan',
      'list lan_interfaces br-guest',
      "list lan_subnets '10.0.0.0/8'",
      "list lan_subnets 'fd00::/8'",
    );
    const a = parseConfigText(ini, INI);
    const b = parseConfigText(text, UCI);
    assert.deepEqual({ ...a, source: '' }, { ...b, source: '' });
    assert.deepEqual(a.main.lanInterfaces, ['br-lan', 'br-guest']);
  });
});

describe('buildConfig: main', () => {
  it('uses the defaults when there is no main section, or an empty one', () => {
    for (const text of ['', '# nothing', "config main 'main'", 'config main']) {
      const c = parseConfigText(text, UCI);
      assert.deepEqual(c.main, DEFAULT_MAIN);
      assert.notEqual(c.main.lanInterfaces, DEFAULT_MAIN.lanInterfaces, 'defaults are copied, not shared');
      assert.deepEqual(c.mqtt, { enabled: false });
      assert.deepEqual(c.forwards, []);
    }
    assert.deepEqual(parseConfigText('', INI).main, DEFAULT_MAIN);
  });

  it('reads every main option', () => {
    const main = mainOf(
      "option lan_interfaces 'br-lan br-guest'",
      "option lan_subnets '192.168.1.0/24 fd00::/64'",
      "option state_dir '/tmp/run/rg'",
      "option problem_hold '60'",
      "option log_level 'debug'",
      "option conntrack_buffer '65536'",
      "option max_findings '1'",
      "option max_flows '16'",
      "option status_interval '3600'",
    );
    assert.deepEqual(main, {
      lanInterfaces: ['br-lan', 'br-guest'],
      lanSubnets: ['192.168.1.0/24', 'fd00::/64'],
      stateDir: '/tmp/run/rg',
      problemHold: 60,
      logLevel: 'debug',
      conntrackBuffer: 65536,
      maxFindings: 1,
      maxFlows: 16,
      statusInterval: 3600,
    });
  });

  it('splits list values on spaces and commas, drops empty items and duplicates', () => {
    assert.deepEqual(mainOf("option lan_interfaces ' br-lan,,br-guest ,\tbr-lan '").lanInterfaces, [
      'br-lan',
      'br-guest',
    ]);
    assert.deepEqual(mainOf("list lan_interfaces 'br-a br-b'", "list lan_interfaces 'br-c'").lanInterfaces, [
      'br-a',
      'br-b',
      'br-c',
    ]);
  });

  it('stores subnets canonically and clears host bits', () => {
    assert.deepEqual(
      mainOf("option lan_subnets '192.168.1.1/24, FD00:0:0:0::1/64 10.1.2.3/8 192.168.1.0/24'").lanSubnets,
      ['192.168.1.0/24', 'fd00::/64', '10.0.0.0/8'],
    );
  });

  it('treats empty lists and values as not set', () => {
    const main = mainOf(
      "option lan_interfaces ''",
      "option lan_subnets ' , '",
      "option log_level ''",
      'option state_dir',
    );
    assert.deepEqual(main, DEFAULT_MAIN);
  });

  it('rejects bad interface names', () => {
    for (const name of [
      'abcdefghijklmnop',
      'a/b',
      'eth0:1',
      '.',
      '..',
      'bär',
      '$(id>pwned)',
      '`id`',
      'a;b',
      '-x',
      '"x"',
    ]) {
      const err = problem(uci('main', 'main', `option lan_interfaces 'br-lan ${name}'`));
      assert.equal(err.key, 'lan_interfaces');
      assert.match(err.message, /is not a network interface name/, name);
    }
    assert.deepEqual(mainOf("option lan_interfaces 'abcdefghijklmno'").lanInterfaces, ['abcdefghijklmno']);
  });

  it('rejects bad subnets and bare addresses, with the line of the list item', () => {
    for (const bad of ['192.168.1.0', '192.168.1.0/33', '300.1.1.1/8', 'fd00::/129', 'lan', '10.0.0.0/x']) {
      const err = problem(uci('main', 'main', "list lan_subnets '10.0.0.0/8'", `list lan_subnets '${bad}'`));
      assert.equal(err.line, 3);
      assert.match(err.message, /is not an IPv4\/IPv6 prefix/, bad);
    }
  });

  it('keeps state_dir to one directory under /var/run (/tmp/run): the settings-to-root attack is refused', () => {
    for (const file of ['settings-to-root-hotplug.uci', 'settings-to-root-uci-defaults.uci']) {
      const errors = problems(readFileSync(join(ATTACKS, file), 'utf8'));
      assert.deepEqual(
        errors.map((e) => e.key),
        ['lan_interfaces', 'state_dir'],
        file,
      );
      assert.match(errors[1]!.message, /is not a runtime state directory: use \/var\/run\/NAME/);
    }
    for (const bad of [
      '/etc/hotplug.d/iface',
      '/etc/uci-defaults',
      '/var/run',
      '/var/run/',
      '/var/run/..',
      '/var/run/../../etc/hotplug.d/iface',
      '/var/run/a/b',
      '/run/replyguard',
      '/tmp/replyguard',
      '/var/run/.hidden',
      '/var/run/$(id)',
    ]) {
      assert.equal(problem(uci('main', 'main', `option state_dir '${bad}'`)).key, 'state_dir', bad);
    }
    for (const good of ['/var/run/replyguard', '/tmp/run/replyguard', '/var/run/rg_2.test-a']) {
      assert.equal(mainOf(`option state_dir '${good}'`).stateDir, good);
    }
  });

  it('rejects a relative state_dir', () => {
    assert.match(
      problem(uci('main', 'main', 'option state_dir var/run')).message,
      /"var\/run" is not a runtime state directory/,
    );
  });

  it('checks integer ranges at both ends', () => {
    const cases: [string, number, number][] = [
      ['problem_hold', 1, 604800],
      ['conntrack_buffer', 65536, 268435456],
      ['max_findings', 1, 65536],
      ['max_flows', 16, 1048576],
      ['status_interval', 1, 3600],
    ];
    for (const [key, min, max] of cases) {
      assert.doesNotThrow(() => mainOf(`option ${key} ${min}`), key);
      assert.doesNotThrow(() => mainOf(`option ${key} ${max}`), key);
      for (const bad of [min - 1, max + 1]) {
        const err = problem(uci('main', 'main', `option ${key} ${bad}`));
        assert.equal(err.key, key);
        assert.match(err.message, new RegExp(`"${bad}" is out of range \\(${min}-${max}`));
      }
    }
  });

  it('accepts decimal digits only for integers', () => {
    for (const bad of ['9443abc', '1.5', '1e3', '0x10', '+5', '-5', ' 5', '5 ', 'five']) {
      const err = problem(uci('main', 'main', `option problem_hold '${bad}'`));
      assert.match(err.message, /is not a whole number \(1-604800 seconds\)/, bad);
    }
    assert.equal(mainOf("option problem_hold '0900'").problemHold, 900);
  });

  it('rejects an unknown log level', () => {
    assert.match(
      problem(uci('main', 'main', 'option log_level verbose')).message,
      /"verbose" is not one of: debug, info, warn, error/,
    );
  });

  it('rejects a second main section', () => {
    const err = problem(`${uci('main', 'main')}\n${uci('main', undefined, 'option log_level warn')}`);
    assert.equal(err.line, 2);
    assert.equal(err.section, '@main[1]');
    assert.match(err.message, /only one 'main' section is allowed \(the first is at line 1\)/);
  });
});

describe('buildConfig: mqtt', () => {
  it('reads enabled', () => {
    assert.deepEqual(parseConfigText(uci('mqtt', 'mqtt', 'option enabled 1', "option url 'mqtt://h'"), UCI).mqtt, {
      enabled: true,
      url: 'mqtt://h',
    });
    assert.deepEqual(parseConfigText(uci('mqtt', 'mqtt'), UCI).mqtt, { enabled: false });
  });

  it('accepts every boolean spelling uci does, in any case', () => {
    for (const [word, value] of [
      ['1', true],
      ['0', false],
      ['true', true],
      ['FALSE', false],
      ['yes', true],
      ['No', false],
      ['on', true],
      ['off', false],
      ['Enabled', true],
      ['disabled', false],
    ] as const) {
      const url = "option url 'mqtt://h'";
      assert.equal(
        parseConfigText(uci('mqtt', 'mqtt', url, `option enabled '${word}'`), UCI).mqtt.enabled,
        value,
        word,
      );
      assert.equal(parseConfigText(`[mqtt]\nurl = mqtt://h\nenabled = ${word}`, INI).mqtt.enabled, value, word);
    }
  });

  it('rejects other boolean words', () => {
    for (const bad of ['2', 'y', 'nope', 'truee']) {
      assert.match(problem(uci('mqtt', 'mqtt', `option enabled '${bad}'`)).message, /is not a boolean/);
    }
  });

  it('rejects a second mqtt section and unknown mqtt keys', () => {
    assert.match(problem(`${uci('mqtt', 'mqtt')}\n${uci('mqtt', 'x')}`).message, /only one 'mqtt' section/);
    assert.match(problem(uci('mqtt', 'mqtt', 'option enable 1')).message, /unknown option; did you mean 'enabled'\?/);
  });
});

describe('buildConfig: forward', () => {
  it('reads a minimal forward with defaults', () => {
    assert.deepEqual(forwardsOf(nas("option port '443'")), [
      { name: 'nas', host: '192.168.1.10', port: 443, proto: 'tcp' },
    ]);
  });

  it('stores the host canonically', () => {
    const text = uci('forward', 'v6', "option host 'FD00:0:0:0:0:0:0:0A'", 'option port 80', 'option proto udp');
    assert.deepEqual(forwardsOf(text), [{ name: 'v6', host: 'fd00::a', port: 80, proto: 'udp' }]);
  });

  it('rejects a bad host', () => {
    for (const bad of ['192.168.1.300', 'nas.lan', '192.168.1.0/24', 'fd00:::1']) {
      const err = problem(uci('forward', 'nas', `option host '${bad}'`, 'option port 1'));
      assert.match(err.message, /is not an IPv4 or IPv6 address/, bad);
    }
  });

  it('requires host and port', () => {
    const errors = problems(uci('forward', 'nas', "option proto 'udp'"));
    assert.deepEqual(
      errors.map((e) => [e.key, e.line]),
      [
        ['host', 1],
        ['port', 1],
      ],
    );
    assert.match(errors[0]!.message, /^\/etc\/config\/replyguard:1, section 'nas', option 'host': missing/);
    const empty = problem(nas("option port ''"));
    assert.equal(empty.line, 3);
    assert.match(empty.message, /option 'port': is empty/);
  });

  it('checks ports', () => {
    for (const bad of ['0', '65536', '70000', '44x', '-1']) {
      assert.match(problem(nas(`option port '${bad}'`)).message, /is not a port \(1-65535\)/);
      assert.match(
        problem(nas('option port 1', `option wan_port '${bad}'`)).message,
        /option 'wan_port': .* is not a port/,
      );
    }
    assert.equal(forwardsOf(nas('option port 65535', 'option wan_port 1'))[0]!.wanPort, 1);
  });

  it('treats an empty optional value as not set', () => {
    assert.deepEqual(forwardsOf(nas('option port 1', "option wan_port ''", "option proto ''", "option enabled ''")), [
      { name: 'nas', host: '192.168.1.10', port: 1, proto: 'tcp' },
    ]);
  });

  it('rejects an unknown proto', () => {
    assert.match(problem(nas('option port 1', 'option proto sctp')).message, /"sctp" is not one of: tcp, udp/);
  });

  it('leaves disabled forwards out', () => {
    const text = `${nas('option port 1', 'option enabled 0')}\n${uci('forward', 'b', 'option host ::1', 'option port 2')}`;
    assert.deepEqual(
      forwardsOf(text).map((f) => f.name),
      ['b'],
    );
  });

  it('still validates a disabled forward', () => {
    assert.match(problem(nas('option port 99999', 'option enabled no')).message, /not a port/);
  });

  it('asks for a name for an anonymous forward', () => {
    const err = problem(uci('forward', undefined, 'option host 10.0.0.1', 'option port 1'));
    assert.equal(err.section, '@forward[0]');
    assert.match(err.message, /a forward section needs a name/);
  });

  it('checks forward names in INI, where uci rules do not apply', () => {
    assert.equal(parseConfigText('[forward.my-nas_2]\nhost=10.0.0.1\nport=1', INI).forwards[0]!.name, 'my-nas_2');
    for (const bad of ['a b', 'x'.repeat(33), 'a.b', 'ä']) {
      const err = problem(`[forward.${bad}]\nhost=10.0.0.1\nport=1`, INI);
      assert.match(err.message, /invalid forward name/, bad);
    }
    assert.equal(parseConfigText(`[forward.${'x'.repeat(32)}]\nhost=10.0.0.1\nport=1`, INI).forwards.length, 1);
  });

  it('rejects two enabled forwards to the same host, port and proto', () => {
    const a = uci('forward', 'a', 'option host 10.0.0.1', 'option port 443');
    const b = uci('forward', 'b', 'option host 10.0.0.1', 'option port 443', 'option proto tcp');
    const err = problem(`${a}\n${b}`);
    assert.equal(err.section, 'b');
    assert.equal(err.line, 4);
    assert.match(err.message, /forwards 'a' and 'b' both point at tcp 10.0.0.1 port 443/);
    // Same address written differently is still the same.
    const v6 = (name: string, host: string): string => uci('forward', name, `option host ${host}`, 'option port 1');
    assert.equal(problems(`${v6('a', 'fd00::1')}\n${v6('b', 'FD00:0::0:1')}`).length, 1);
  });

  it('allows the same host and port with another proto, or when one is disabled', () => {
    const a = uci('forward', 'a', 'option host 10.0.0.1', 'option port 53');
    const b = uci('forward', 'b', 'option host 10.0.0.1', 'option port 53', 'option proto udp');
    const c = uci('forward', 'c', 'option host 10.0.0.1', 'option port 53', 'option enabled off');
    assert.equal(forwardsOf(`${a}\n${b}\n${c}`).length, 2);
  });

  it('rejects a second forward with the same name (sections built by hand)', () => {
    const make = (): ConfigSection => ({
      type: 'forward',
      name: 'nas',
      options: new Map([
        ['host', { value: '10.0.0.1' }],
        ['port', { value: '1' }],
      ]),
    });
    assert.throws(() => buildConfig([make(), make()], UCI), /a second forward named 'nas'/);
  });
});

describe('buildConfig: unknown and misused keys', () => {
  it('names file, line, section and option, as in the README', () => {
    const lines = [
      '# replyguard',
      '',
      "config main 'main'",
      "\toption state_dir '/var/run/replyguard'",
      '',
      "config mqtt 'mqtt'",
      "\toption enabled '0'",
      '',
      '# the NAS',
      "config forward 'nas'",
      "\toption host '192.168.1.10'",
      "\toption proto 'tcp'",
      '',
      "\toption port '70000'",
    ];
    assert.equal(
      problem(lines.join('\n')).message,
      `/etc/config/replyguard:14, section 'nas', option 'port': "70000" is not a port (1-65535)`,
    );
  });

  it('suggests the closest known key', () => {
    const err = problem(nas('option port 1', 'option wanport 9443'));
    assert.equal(err.key, 'wanport');
    assert.equal(err.line, 4);
    assert.match(err.message, /unknown option; did you mean 'wan_port'\?/);
    assert.match(problem(nas('option port 1', 'option Host x')).message, /did you mean 'host'\?/);
    assert.match(problem(uci('main', 'main', 'option lan_subnet 10.0.0.0/8')).message, /did you mean 'lan_subnets'\?/);
  });

  it('lists the known keys when none is close', () => {
    assert.match(
      problem(nas('option port 1', 'option destination x')).message,
      /unknown option; known options: host, port, proto, wan_port, enabled$/,
    );
  });

  it('rejects unknown section types, with a suggestion', () => {
    const err = problem(uci('forwrd', 'nas'));
    assert.equal(err.section, 'nas');
    assert.match(err.message, /unknown section type 'forwrd'; did you mean 'forward'\?/);
    assert.match(problem('[global]\n', INI).message, /known types: main, mqtt, forward/);
  });

  it('rejects a list where one value is expected', () => {
    const err = problem(nas("list port '443'"));
    assert.equal(err.key, 'port');
    assert.equal(err.line, 3);
    assert.match(err.message, /takes a single value, not a list/);
    assert.match(problem('[forward.nas]\nhost=10.0.0.1\nport[]=1', INI).message, /:3, section 'nas', option 'port'/);
  });

  it('collects every problem and lists each on its own line', () => {
    const text = [
      "config main 'main'",
      "\toption problem_hold 'soon'",
      "\toption lan_subnets '10.0.0.1'",
      "config forward 'nas'",
      "\toption host 'nas.lan'",
      "\toption port '0'",
      "config thing 'x'",
    ].join('\n');
    try {
      parseConfigText(text, UCI);
      assert.fail('expected ConfigProblems');
    } catch (err) {
      assert.ok(err instanceof ConfigProblems);
      assert.equal(err.name, 'ConfigProblems');
      assert.deepEqual(
        err.errors.map((e) => [e.file, e.line, e.section, e.key]),
        [
          [UCI, 2, 'main', 'problem_hold'],
          [UCI, 3, 'main', 'lan_subnets'],
          [UCI, 5, 'nas', 'host'],
          [UCI, 6, 'nas', 'port'],
          [UCI, 7, 'x', undefined],
        ],
      );
      const lines = err.message.split('\n');
      assert.equal(lines.length, 5);
      assert.ok(lines.every((l) => l.startsWith(`${UCI}:`)));
    }
  });

  it('reports INI problems with lines too', () => {
    const err = problem(INI_EXAMPLE.replace('port = 443', 'port = 70000'), INI);
    assert.equal(err.message, `/etc/replyguard.ini:9, section 'nas', option 'port': "70000" is not a port (1-65535)`);
  });
});

describe('closestName', () => {
  it('finds a word within edit distance 2, else nothing', () => {
    assert.equal(closestName('wan_prot', ['port', 'wan_port']), 'wan_port');
    assert.equal(closestName('prt', ['port', 'proto']), 'port');
    assert.equal(closestName('zzzz', ['port']), undefined);
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replyguard-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads INI when the name ends in .ini, UCI otherwise', () => {
    const ini = join(dir, 'replyguard.ini');
    const plain = join(dir, 'replyguard');
    writeFileSync(ini, INI_EXAMPLE);
    writeFileSync(plain, UCI_EXAMPLE);
    assert.deepEqual(loadConfig(ini), { ...EXPECTED, source: ini });
    assert.deepEqual(loadConfig(plain), { ...EXPECTED, source: plain });
    const upper = join(dir, 'RG.INI');
    writeFileSync(upper, INI_EXAMPLE);
    assert.equal(loadConfig(upper).forwards.length, 1);
  });

  it('names the file and the OS error when it cannot be read', () => {
    const missing = join(dir, 'nope');
    assert.throws(
      () => loadConfig(missing),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.file === missing &&
        err.message.includes(missing) &&
        /ENOENT/.test(err.message),
    );
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    assert.throws(
      () => loadConfig(sub),
      (err: unknown) => err instanceof ConfigError && /EISDIR/.test(err.message),
    );
  });

  it('passes syntax errors through as ConfigError', () => {
    const bad = join(dir, 'bad');
    writeFileSync(bad, "config main 'main\n");
    assert.throws(
      () => loadConfig(bad),
      (err: unknown) => err instanceof ConfigError && err.line === 1,
    );
  });
});

// ---- property: parse + validate either returns or fails with our errors ---------

type Mutation = { op: string; at: number; len: number; piece: string };

function mutate(text: string, mutations: Mutation[]): string {
  let out = text;
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1);
    if (m.op === 'insert') out = out.slice(0, at) + m.piece + out.slice(at);
    else if (m.op === 'delete') out = out.slice(0, at) + out.slice(at + m.len);
    else if (m.op === 'replace') out = out.slice(0, at) + m.piece + out.slice(at + m.len);
    else {
      const lines = out.split('\n');
      const i = m.at % lines.length;
      if (m.op === 'duplicate-line') lines.splice(i, 0, lines[i]!);
      else lines.splice(i, 1);
      out = lines.join('\n');
    }
  }
  return out;
}

const piece = fc.oneof(
  fc.constantFrom("'", '"', '\n', ' ', ';', '#', '[', ']', '=', '0', '9', '.', ':', '/', '-', 'x', 'list ', 'option '),
  fc.string({ unit: 'binary', maxLength: 5 }),
);

const mutation = fc.record({
  op: fc.constantFrom('insert', 'delete', 'replace', 'duplicate-line', 'drop-line'),
  at: fc.nat(),
  len: fc.nat({ max: 8 }),
  piece,
});

describe('parseConfigText: property', () => {
  for (const [name, sample, file] of [
    ['UCI', UCI_EXAMPLE, UCI],
    ['INI', INI_EXAMPLE, INI],
  ] as const) {
    it(`returns a Config or throws ConfigError/ConfigProblems for mutated ${name}`, () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.array(mutation, { minLength: 1, maxLength: 5 }).map((ms) => mutate(sample, ms)),
            fc.string({ unit: 'binary', maxLength: 120 }),
          ),
          (text) => {
            try {
              const c = parseConfigText(text, file);
              assert.equal(c.source, file);
              for (const f of c.forwards) assert.ok(f.port >= 1 && f.port <= 65535);
            } catch (err) {
              if (!(err instanceof ConfigError || err instanceof ConfigProblems)) throw err;
              assert.ok(err.message.length > 0);
            }
          },
        ),
        { numRuns: 3000 },
      );
    });
  }
});
