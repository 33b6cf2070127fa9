import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../../src/config/config';
import type { ConfigSection } from '../../../src/config/config-section';
import { parseIni } from '../../../src/config/ini-file';

const FILE = '/etc/replyguard.ini';

const EXAMPLE = `[main]
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

function plain(sections: ConfigSection[]): unknown[] {
  return sections.map((s) => ({
    type: s.type,
    name: s.name,
    options: Object.fromEntries([...s.options].map(([k, o]) => [k, o.value])),
  }));
}

function parse(text: string): unknown[] {
  return plain(parseIni(text, FILE));
}

function only(text: string): Record<string, unknown> {
  const [first] = parse(`[s]\n${text}`) as { options: Record<string, unknown> }[];
  assert.ok(first);
  return first.options;
}

function parseError(text: string): ConfigError {
  try {
    parseIni(text, FILE);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('parseIni: the documented example', () => {
  it('gives sections with the comments stripped from values and headers', () => {
    assert.deepEqual(parse(EXAMPLE), [
      {
        type: 'main',
        name: 'main',
        options: { lan_interfaces: 'br-lan', lan_subnets: '', state_dir: '/var/run/replyguard' },
      },
      { type: 'mqtt', name: 'mqtt', options: { enabled: 'false' } },
      { type: 'forward', name: 'nas', options: { host: '192.168.1.10', port: '443', proto: 'tcp', wan_port: '9443' } },
    ]);
  });

  it('records section and option lines', () => {
    const sections = parseIni(EXAMPLE, FILE);
    assert.deepEqual(
      sections.map((s) => s.line),
      [1, 5, 7],
    );
    assert.equal(sections[2]!.options.get('wan_port')!.line, 11);
  });
});

describe('parseIni: sections', () => {
  it('does not nest dotted section names', () => {
    assert.deepEqual(parse('[forward]\nport = 1\n[forward.nas]\nport = 2\n[forward.a.b]\nport = 3\n'), [
      { type: 'forward', name: 'forward', options: { port: '1' } },
      { type: 'forward', name: 'nas', options: { port: '2' } },
      { type: 'forward', name: 'a.b', options: { port: '3' } },
    ]);
  });

  it('merges a repeated header into the same section, as ini does', () => {
    assert.deepEqual(parse('[forward.nas]\nhost = a\n[main]\n[forward.nas]\nport = 1\n'), [
      { type: 'forward', name: 'nas', options: { host: 'a', port: '1' } },
      { type: 'main', name: 'main', options: {} },
    ]);
  });

  it('accepts spaces inside the brackets and a # comment after the header', () => {
    assert.deepEqual(parse('  [ forward.nas ]   # comment\nport=1'), [
      { type: 'forward', name: 'nas', options: { port: '1' } },
    ]);
  });

  it('rejects malformed headers', () => {
    const err = parseError('[main]\nport = 1\n[forward.nas\n');
    assert.equal(err.line, 3);
    assert.match(err.message, /^\/etc\/replyguard\.ini:3: malformed section header/);
    assert.match(parseError('[main] junk\n').message, /malformed section header/);
    assert.match(parseError('[]\n').message, /needs a type and a name/);
    assert.match(parseError('[forward.]\n').message, /needs a type and a name/);
    assert.match(parseError('[.nas]\n').message, /needs a type and a name/);
  });
});

describe('parseIni: values', () => {
  it('strips ; and # comments, also without a space before them', () => {
    assert.deepEqual(only('a = x ; c\nb = y # c\nc = z;c\nd =\ne = ; only a comment'), {
      a: 'x',
      b: 'y',
      c: 'z',
      d: '',
      e: '',
    });
  });

  it('keeps escaped \\; and \\# in unquoted values', () => {
    assert.deepEqual(only('a = x\\;y\\#z'), { a: 'x;y#z' });
  });

  it('keeps true, false and null as text', () => {
    assert.deepEqual(only('a = true\nb = false\nc = null\nd = "true"'), {
      a: 'true',
      b: 'false',
      c: 'null',
      d: 'true',
    });
  });

  it('reads double-quoted values as JSON strings, comment allowed after them', () => {
    assert.deepEqual(only('a = "x ; y # z"  ; comment\nb = "q\\"uote"\nc = "  pad  "'), {
      a: 'x ; y # z',
      b: 'q"uote',
      c: '  pad  ',
    });
  });

  it('reads single-quoted values literally (no JSON: a number stays text)', () => {
    assert.deepEqual(only("a = '443'\nb = '[1,2]'\nc = 'x ; y' # c\nd = '\\n'"), {
      a: '443',
      b: '[1,2]',
      c: 'x ; y',
      d: '\\n',
    });
  });

  it('keeps raw list-like text for the validator to split', () => {
    assert.deepEqual(only('lan_interfaces = br-lan br-guest\nlan_subnets = 10.0.0.0/8,fd00::/8'), {
      lan_interfaces: 'br-lan br-guest',
      lan_subnets: '10.0.0.0/8,fd00::/8',
    });
  });

  it('collects key[] lines into a list, with the line of each item', () => {
    const sections = parseIni('[main]\nlan_interfaces[] = br-lan\n\nlan_interfaces[] = br-guest ; 2nd\n', FILE);
    assert.deepEqual(sections[0]!.options.get('lan_interfaces'), {
      value: ['br-lan', 'br-guest'],
      line: 2,
      lines: [2, 4],
    });
  });

  it('lets the last of a repeated key win', () => {
    const sections = parseIni('[s]\na = 1\na = 2\n', FILE);
    assert.deepEqual(sections[0]!.options.get('a'), { value: '2', line: 3 });
  });

  it('handles CRLF, tabs, blank lines, comment lines and a byte order mark', () => {
    const text = '\uFEFF; top\r\n\r\n[main]\r\n\tstate_dir\t=\t/x\t\r\n# c\r\n   port=1\r\n';
    const sections = parseIni(text, FILE);
    assert.deepEqual(plain(sections), [{ type: 'main', name: 'main', options: { state_dir: '/x', port: '1' } }]);
    assert.equal(sections[0]!.options.get('port')!.line, 6);
  });
});

describe('parseIni: errors', () => {
  it('rejects keys outside any section, naming the key', () => {
    const err = parseError('; comment\nhost = 1.2.3.4\n[main]\n');
    assert.equal(err.key, 'host');
    assert.equal(err.line, 2);
    assert.match(err.message, /^\/etc\/replyguard\.ini:2, option 'host': option outside any \[section\]$/);
  });

  it('rejects a key given both plain and with []', () => {
    const err = parseError('[main]\nlan_interfaces = br-lan\nlan_interfaces[] = br-x\n');
    assert.equal(err.line, 3);
    assert.equal(err.section, 'main');
    assert.equal(err.key, 'lan_interfaces');
    assert.match(err.message, /given both as 'lan_interfaces' and as 'lan_interfaces\[\]' \(see line 2\)/);
    assert.equal(parseError('[main]\na[] = 1\na = 2\n').line, 3);
  });

  it('rejects lines that are not key = value', () => {
    const err = parseError('[forward.nas]\nport 443\n');
    assert.equal(err.line, 2);
    assert.equal(err.section, 'nas');
    assert.match(err.message, /expected "key = value"/);
  });

  it('rejects bad key names', () => {
    for (const key of ['wan-port', 'a.b', '"host"', 'a[]b', '', 'x;y']) {
      const err = parseError(`[main]\n${key} = 1\n`);
      assert.equal(err.line, 2, key);
      assert.match(err.message, /invalid option name/);
    }
  });

  it('rejects __proto__ without touching any prototype', () => {
    assert.ok(parseError('[main]\n__proto__ = 1\n') instanceof ConfigError);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('rejects unterminated quotes and text after a quoted value', () => {
    const a = parseError("[forward.nas]\nhost = '1.2.3.4\n");
    assert.equal(a.line, 2);
    assert.equal(a.key, 'host');
    assert.match(a.message, /unterminated ' quote/);
    assert.match(parseError('[s]\na = "x\\"\n').message, /unterminated " quote/);
    assert.match(parseError('[s]\na = "x" y\n').message, /unexpected text after the quoted value/);
  });
});

// ---- property: any input either parses or fails with a ConfigError -----------

const PIECES = [
  '[',
  ']',
  '[main]',
  '[forward.x]',
  '[a.b.c]',
  '=',
  ' = ',
  '[]',
  ';',
  '#',
  '\\',
  "'",
  '"',
  '\n',
  '\r\n',
  '\r',
  ' ',
  '\t',
  'port',
  '__proto__',
  'constructor',
  'true',
  'null',
  "'[1]'",
  '"\\u0041"',
  '\uFEFF',
  '\u2028',
  '\0',
];

const piece = fc.oneof(fc.constantFrom(...PIECES), fc.string({ unit: 'binary', maxLength: 6 }));

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

const mutation = fc.record({
  op: fc.constantFrom('insert', 'delete', 'replace', 'duplicate-line', 'drop-line'),
  at: fc.nat(),
  len: fc.nat({ max: 12 }),
  piece,
});

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(piece, { maxLength: 40 }).map((parts) => parts.join('')),
  fc.array(mutation, { minLength: 1, maxLength: 6 }).map((ms) => mutate(EXAMPLE, ms)),
);

describe('parseIni: property', () => {
  it('returns well-formed sections or throws ConfigError, nothing else', () => {
    fc.assert(
      fc.property(text, (input) => {
        let sections: ConfigSection[];
        try {
          sections = parseIni(input, FILE);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          assert.ok(err.message.startsWith(FILE));
          return;
        }
        for (const s of sections) {
          assert.ok(s.type !== '' && s.name !== undefined && s.name !== '');
          for (const o of s.options.values()) {
            const ok = typeof o.value === 'string' || o.value.every((v) => typeof v === 'string');
            assert.ok(ok);
          }
        }
      }),
      { numRuns: 4000 },
    );
  });
});
