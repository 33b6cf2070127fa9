import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../../src/config/config';
import type { ConfigSection } from '../../../src/config/config-section';
import { parseUci } from '../../../src/config/uci-file';

const FILE = '/etc/config/replyguard';

/** Sections as plain data, easy to compare. */
function plain(sections: ConfigSection[]): unknown[] {
  return sections.map((s) => ({
    type: s.type,
    name: s.name,
    options: Object.fromEntries([...s.options].map(([k, o]) => [k, o.value])),
  }));
}

function parse(text: string): unknown[] {
  return plain(parseUci(text, FILE));
}

function only(text: string): Record<string, unknown> {
  const [first] = parse(text) as { options: Record<string, unknown> }[];
  assert.ok(first);
  return first.options;
}

function parseError(text: string): ConfigError {
  try {
    parseUci(text, FILE);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('parseUci: structure', () => {
  it('reads package, named and anonymous sections, options and lists', () => {
    const text = [
      "package 'replyguard'",
      '',
      "config main 'main'",
      "\tlist lan_interfaces 'br-lan'",
      "\tlist lan_interfaces 'br-guest'",
      "\toption state_dir '/tmp/rg'",
      '',
      'config forward',
      "\toption host '10.0.0.2'",
    ].join('\n');
    assert.deepEqual(parse(text), [
      {
        type: 'main',
        name: 'main',
        options: { lan_interfaces: ['br-lan', 'br-guest'], state_dir: '/tmp/rg' },
      },
      { type: 'forward', name: undefined, options: { host: '10.0.0.2' } },
    ]);
  });

  it('records the line of sections, options and list items', () => {
    const sections = parseUci("\nconfig main 'main'\n\n  option a '1'\n  list b 'x'\n  list b 'y'\n", FILE);
    const main = sections[0]!;
    assert.equal(main.line, 2);
    assert.deepEqual(main.options.get('a'), { value: '1', line: 4 });
    assert.deepEqual(main.options.get('b'), { value: ['x', 'y'], line: 5, lines: [5, 6] });
  });

  it('returns no sections for an empty file or one with only comments', () => {
    assert.deepEqual(parse(''), []);
    assert.deepEqual(parse('# nothing\n\n   # here\n'), []);
    assert.deepEqual(parse('package replyguard\n'), []);
  });

  it('lets the last of a repeated option win, as uci does', () => {
    const sections = parseUci("config main 'main'\n option a '1'\n option a '2'\n", FILE);
    assert.deepEqual(sections[0]!.options.get('a'), { value: '2', line: 3 });
  });

  it('reopens a named section given again and merges its options', () => {
    const text =
      "config forward 'nas'\n option host '1.2.3.4'\n list x 'a'\nconfig main 'main'\nconfig forward 'nas'\n option port '80'\n list x 'b'\n";
    assert.deepEqual(parse(text), [
      { type: 'forward', name: 'nas', options: { host: '1.2.3.4', x: ['a', 'b'], port: '80' } },
      { type: 'main', name: 'main', options: {} },
    ]);
  });

  it('keeps anonymous sections of the same type apart', () => {
    assert.equal(parse('config forward\nconfig forward\n').length, 2);
  });

  it("treats config name '' as anonymous", () => {
    assert.deepEqual(parse("config forward ''\n"), [{ type: 'forward', name: undefined, options: {} }]);
  });

  it('gives an option without a value the empty string', () => {
    assert.deepEqual(only('config main main\n option wan_port\n'), { wan_port: '' });
  });

  it('accepts the one-letter command forms and ; between commands', () => {
    assert.deepEqual(parse("c main 'main'; o a 1; l b x\np replyguard\nl b y"), [
      { type: 'main', name: 'main', options: { a: '1', b: ['x', 'y'] } },
    ]);
  });

  it('ignores a leading byte order mark', () => {
    assert.deepEqual(parse("\uFEFFconfig main 'main'\n"), [{ type: 'main', name: 'main', options: {} }]);
  });
});

describe('parseUci: words and quoting', () => {
  it('reads single quotes literally', () => {
    assert.deepEqual(only('config m m\n option a \'x \\n "y" # ; z\'\n'), { a: 'x \\n "y" # ; z' });
  });

  it('reads backslash escapes in double quotes', () => {
    assert.deepEqual(only('config m m\n option a "say \\"hi\\" \\\\ \\x \'q\' # ;"\n'), {
      a: 'say "hi" \\ x \'q\' # ;',
    });
  });

  it('reads unquoted words', () => {
    assert.deepEqual(only('config m m\n option port 443\n option host fd00::1\n'), { port: '443', host: 'fd00::1' });
  });

  it('joins adjacent quoted and unquoted parts into one word', () => {
    assert.deepEqual(only(`config m m\n option a 'a'"b"c\n option q 'it'\\''s'\n`), { a: 'abc', q: "it's" });
  });

  it('keeps empty quoted words', () => {
    assert.deepEqual(only('config m m\n option a \'\'\n option b ""\n'), { a: '', b: '' });
  });

  it('escapes a character with a backslash outside quotes', () => {
    assert.deepEqual(only('config m m\n option a x\\ y\\#z\n'), { a: 'x y#z' });
  });

  it('continues a line that ends in a backslash', () => {
    assert.deepEqual(only("config m m\n option a \\\n  'x'\n"), { a: 'x' });
    assert.deepEqual(only('config m m\n option a ab\\\ncd\n option b "12\\\n34"\n'), { a: 'abcd', b: '1234' });
    const sections = parseUci('config m m\n option a ab\\\r\ncd\n option b 1\n', FILE);
    assert.deepEqual(sections[0]!.options.get('b'), { value: '1', line: 4 });
  });

  it('skips comments on their own lines and after values', () => {
    const text =
      "# head\nconfig main 'main' # the main one\n\t# option a 'no'\n\toption a 'yes' # trailing\n\toption b 7#tight\n";
    assert.deepEqual(only(text), { a: 'yes', b: '7' });
  });

  it('handles blank lines, tabs, CRLF line ends and stray spaces', () => {
    const text = "\r\n\tconfig\tmain\t'main'  \r\n\r\n\t\toption\ta\t'1'\r\n   list  b   x  \r\n";
    const sections = parseUci(text, FILE);
    assert.deepEqual(plain(sections), [{ type: 'main', name: 'main', options: { a: '1', b: ['x'] } }]);
    assert.equal(sections[0]!.options.get('a')!.line, 4);
  });
});

describe('parseUci: errors', () => {
  it('rejects an option before any config line', () => {
    const err = parseError("\n\noption host '1.2.3.4'\nconfig main 'main'\n");
    assert.equal(err.line, 3);
    assert.equal(err.key, 'host');
    assert.equal(err.section, undefined);
    assert.match(err.message, /^\/etc\/config\/replyguard:3, option 'host': 'option' before any 'config' line$/);
    assert.equal(parseError("list x 'y'").key, 'x');
  });

  it('rejects an unterminated single quote, naming section, option and line', () => {
    const err = parseError("config forward 'nas'\n option host '1.2.3.4\n option port '443'\n");
    assert.equal(err.line, 2);
    assert.equal(err.section, 'nas');
    assert.equal(err.key, 'host');
    assert.match(err.message, /^\/etc\/config\/replyguard:2, section 'nas', option 'host': unterminated ' quote/);
  });

  it('rejects an unterminated double quote, also at the end of the file', () => {
    const err = parseError("config forward 'nas'\n option host \"1.2.3.4");
    assert.equal(err.line, 2);
    assert.match(err.message, /unterminated " quote/);
    assert.match(parseError('config m m\n option a "x\\').message, /unterminated " quote/);
    assert.equal(parseError("config m 'm\n").section, undefined);
  });

  it('rejects option names outside [a-zA-Z0-9_]', () => {
    for (const key of ['wan-port', 'a.b', 'häst', 'a b']) {
      const err = parseError(`config forward 'nas'\n option '${key}' 1\n`);
      assert.equal(err.line, 2);
      assert.equal(err.section, 'nas');
      assert.match(err.message, /invalid option name/);
    }
  });

  it('rejects an option given both as option and as list, either way round', () => {
    const a = parseError("config main 'main'\n option lan_interfaces 'br-lan'\n list lan_interfaces 'br-x'\n");
    assert.equal(a.line, 3);
    assert.equal(a.key, 'lan_interfaces');
    assert.match(a.message, /both as 'option' and as 'list' \(see line 2\)/);
    const b = parseError("config main 'main'\n list lan_interfaces 'br-x'\n option lan_interfaces 'br-lan'\n");
    assert.equal(b.line, 3);
  });

  it('rejects an option/list clash across a reopened section', () => {
    const err = parseError("config main 'main'\n option a 1\nconfig main 'main'\n list a 2\n");
    assert.equal(err.line, 4);
  });

  it('rejects reopening a named section with another type', () => {
    const err = parseError("config forward 'x'\nconfig main 'x'\n");
    assert.equal(err.line, 2);
    assert.match(err.message, /declared before as type 'forward' \(line 1\)/);
  });

  it('rejects section names that uci would reject', () => {
    const err = parseError("config forward 'my-nas'\n");
    assert.equal(err.line, 1);
    assert.match(err.message, /invalid section name "my-nas"/);
  });

  it('rejects unknown commands, missing and extra arguments', () => {
    assert.match(parseError('config main main\n opton a 1\n').message, /:2, section 'main': unknown command "opton"/);
    assert.match(parseError('config\n').message, /without a section type/);
    assert.match(parseError("config 'a b'\n").message, /invalid section type/);
    assert.match(parseError('config main main extra\n').message, /too many arguments/);
    assert.match(parseError('config main main\n option\n').message, /'option' without a name/);
    assert.match(parseError('config main main\n option a b c\n').message, /option 'a': too many values/);
    assert.match(parseError('package\n').message, /'package' without a name/);
    assert.match(parseError('package a b\n').message, /too many arguments/);
  });

  it('names anonymous sections as uci does', () => {
    const err = parseError("config forward 'a'\nconfig forward\n option 'x-y' 1\n");
    assert.equal(err.section, '@forward[1]');
  });
});

// ---- property: any input either parses or fails with a ConfigError -----------

const VALID = `package replyguard

config main 'main'
\tlist lan_interfaces 'br-lan'
\toption lan_subnets "192.168.1.0/24 fd00::/64"
\toption state_dir /var/run/replyguard   # comment
\toption problem_hold '900'

config mqtt 'mqtt'
\toption enabled '0'

config forward 'nas'
\toption host '192.168.1.10'
\toption port '443'
\toption proto 'tcp'
\toption wan_port '9443'
`;

const PIECES = [
  "'",
  '"',
  '\\',
  '#',
  ';',
  ' ',
  '\t',
  '\n',
  '\r\n',
  '\r',
  'option',
  'list',
  'config',
  'package',
  'o ',
  'c x',
  '\'a\'"b"',
  '__proto__',
  'constructor',
  '\uFEFF',
  '\u2028',
  '\0',
  '=',
  '[',
  ']',
];

const piece = fc.oneof(fc.constantFrom(...PIECES), fc.string({ unit: 'binary', maxLength: 6 }));

const mutation = fc.record({
  op: fc.constantFrom('insert', 'delete', 'replace', 'duplicate-line', 'drop-line'),
  at: fc.nat(),
  len: fc.nat({ max: 12 }),
  piece,
});

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

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(piece, { maxLength: 40 }).map((parts) => parts.join('')),
  fc.array(mutation, { minLength: 1, maxLength: 6 }).map((ms) => mutate(VALID, ms)),
);

describe('parseUci: property', () => {
  it('parses the valid sample', () => {
    assert.equal(parseUci(VALID, FILE).length, 3);
  });

  it('returns well-formed sections or throws ConfigError, nothing else', () => {
    fc.assert(
      fc.property(text, (input) => {
        let sections: ConfigSection[];
        try {
          sections = parseUci(input, FILE);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          assert.ok(err.message.startsWith(FILE));
          return;
        }
        for (const s of sections) {
          assert.equal(typeof s.type, 'string');
          assert.ok(s.options instanceof Map);
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
