// Fuzz: conntrack lines in every `-o` format (text, xml, save), the
// byte-level prefilter, `replyguard analyze` over a capture, and the config
// file parsers (UCI, INI) with the validator (buildConfig). The line parsers
// never throw and never need their last-resort catch; the config parsers
// throw only ConfigError / ConfigProblems; every input within the time bound.
// Round trips: a line or a config built from known fields parses back to them.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { analyzeCapture } from '../../../src/analyze/analyze-capture';
import { ConfigError } from '../../../src/config/config';
import { buildConfig, ConfigProblems } from '../../../src/config/config-build';
import type { ConfigOption, ConfigSection } from '../../../src/config/config-section';
import { parseConfigText } from '../../../src/config/config-text';
import { parseIni } from '../../../src/config/ini-file';
import { parseUci } from '../../../src/config/uci-file';
import type { CtEntry, CtParseResult } from '../../../src/conntrack/conntrack-entry';
import { parseConntrackLine } from '../../../src/conntrack/conntrack-line';
import { parseSaveLine } from '../../../src/conntrack/conntrack-save-line';
import { parseXmlLine } from '../../../src/conntrack/conntrack-xml-line';
import { mayMatter } from '../../../src/conntrack/line-prefilter';
import { makeLanView, PRIVATE_LAN_FALLBACK } from '../../../src/detector/lan-view';
import {
  assertNoPollution,
  check,
  GOLDEN,
  mutatedText,
  ODD_NUMBERS,
  POISON_WORDS,
  randomText,
  timed,
} from '../../helpers/fuzz-kit';

const CT_DIR = join(GOLDEN, 'conntrack');
const CAPTURES = readdirSync(CT_DIR)
  .filter((f) => f.endsWith('.txt'))
  .map((f) => readFileSync(join(CT_DIR, f), 'utf8'));
const LINES = CAPTURES.flatMap((t) => t.split('\n')).filter((l) => l.trim() !== '');
const XML_LINES = LINES.filter((l) => l.startsWith('<flow'));
const SAVE_LINES = LINES.filter((l) => l.startsWith('-'));
const TEXT_LINES = LINES.filter((l) => !l.startsWith('<') && !l.startsWith('-'));

const EVENTS = new Set(['NEW', 'UPDATE', 'DESTROY', 'SNAPSHOT']);
const optNum = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isFinite(v));

function assertResult(r: CtParseResult): void {
  if ('skip' in r) {
    assert.equal(r.skip, true);
    return;
  }
  if ('error' in r) {
    assert.equal(typeof r.error, 'string');
    assert.ok(r.error.length > 0);
    // The parser's last-resort catch must never be needed: it means an exception was thrown inside.
    assert.ok(!r.error.startsWith('unreadable line ('), r.error);
    return;
  }
  const e = r.entry;
  assert.ok(EVENTS.has(e.event), e.event);
  assert.ok(e.family === 'ipv4' || e.family === 'ipv6');
  assert.equal(typeof e.proto, 'string');
  assert.ok(Number.isInteger(e.protoNum) && e.protoNum >= 0, `protoNum ${e.protoNum}`);
  for (const t of [e.orig, e.reply]) {
    assert.equal(typeof t.src, 'string');
    assert.equal(typeof t.dst, 'string');
    for (const k of ['sport', 'dport', 'icmpType', 'icmpCode', 'icmpId'] as const) assert.ok(optNum(t[k]), k);
  }
  assert.equal(typeof e.unreplied, 'boolean');
  assert.equal(typeof e.assured, 'boolean');
  for (const k of ['timeout', 'mark', 'zone', 'id', 'timestamp'] as const) assert.ok(optNum(e[k]), k);
  if (e.state !== undefined) assert.equal(typeof e.state, 'string');
}

const line = (label: string, f: (s: string) => CtParseResult) => (s: string) => assertResult(timed(label, () => f(s)));

describe('fuzz: conntrack lines (text, -o xml, -o save)', () => {
  it('has golden lines of each format', () =>
    assert.ok(XML_LINES.length >= 5 && SAVE_LINES.length >= 5 && TEXT_LINES.length >= 20));

  it('random text: 1500 inputs through each entry point', () => {
    check(
      fc.property(randomText(), (s) => {
        line('parseConntrackLine', parseConntrackLine)(s);
        line('parseXmlLine', parseXmlLine)(`<flow${s}`);
        line('parseSaveLine', parseSaveLine)(`-A ${s}`);
      }),
      1500,
    );
  });

  it('mutated golden lines: 2000 per format', () => {
    check(fc.property(mutatedText(TEXT_LINES), line('parseConntrackLine', parseConntrackLine)), 2000);
    check(
      fc.property(
        mutatedText(XML_LINES),
        line('parseXmlLine', (s) => parseXmlLine(s.trim())),
      ),
      2000,
    );
    check(
      fc.property(
        mutatedText(SAVE_LINES),
        line('parseSaveLine', (s) => parseSaveLine(s.trim())),
      ),
      2000,
    );
  });

  it('Object.prototype member names as protocol, event type or state', () => {
    for (const w of POISON_WORDS) {
      assertResult(parseConntrackLine(`-A -s 1.2.3.4 -d 5.6.7.8 -p ${w} --state ${w}`));
      assertResult(parseConntrackLine(`${w} 6 1 src=1.2.3.4 dst=5.6.7.8 src=5.6.7.8 dst=1.2.3.4`));
      const xml = XML_LINES[0]!.replace(/^<flow(?: type="[a-z]+")?>/, `<flow type="${w.toLowerCase()}">`);
      assertResult(parseConntrackLine(xml));
    }
    const r = parseConntrackLine('-A -s 1.2.3.4 -d 5.6.7.8 -p constructor');
    assert.ok('entry' in r && r.entry.protoNum === 0 && r.entry.proto === 'unknown');
  });

  it('the longest line it takes and longer ones stay within the bound', () => {
    for (const n of [4000, 4096, 5000, 1 << 20]) {
      const pad = (s: string) => (s + ' x'.repeat(n)).slice(0, n);
      for (const l of [TEXT_LINES[0]!, XML_LINES[0]!, SAVE_LINES[0]!])
        assertResult(timed('long line', () => parseConntrackLine(pad(l))));
    }
    assertResult(timed('many tuples', () => parseConntrackLine(`tcp 6 1 ${'src=1 dst=2 '.repeat(300)}`)));
    assertResult(timed('many flags', () => parseConntrackLine(`-A ${'-s '.repeat(1300)}`)));
  });

  // Round trips: a line printed from known fields parses back to exactly them.
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
  const port = fc.integer({ min: 1, max: 65535 });
  const flow = fc.record({
    event: fc.constantFrom('NEW', 'UPDATE', 'DESTROY'),
    src: v4,
    dst: v4,
    rsrc: v4,
    rdst: v4,
    sport: port,
    dport: port,
    rsport: port,
    rdport: port,
    timeout: fc.nat(432000),
    state: fc.constantFrom('SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'TIME_WAIT', 'CLOSE'),
    unreplied: fc.boolean(),
    mark: fc.nat(0xffffffff),
    id: fc.nat(0xffffffff),
  });

  it('round trip: default/extended text lines (1000)', () => {
    check(
      fc.property(flow, fc.boolean(), (f, extended) => {
        const text =
          `[${f.event}] ${extended ? 'ipv4     2 ' : ''}tcp      6 ${f.timeout} ${f.state} src=${f.src} dst=${f.dst} sport=${f.sport} dport=${f.dport} ` +
          `${f.unreplied ? '[UNREPLIED] ' : ''}src=${f.rsrc} dst=${f.rdst} sport=${f.rsport} dport=${f.rdport} mark=${f.mark} id=${f.id}`;
        const r = parseConntrackLine(text);
        assert.ok('entry' in r, JSON.stringify(r));
        const want: CtEntry = {
          event: f.event,
          family: 'ipv4',
          proto: 'tcp',
          protoNum: 6,
          timeout: f.timeout,
          state: f.state,
          orig: { src: f.src, dst: f.dst, sport: f.sport, dport: f.dport },
          reply: { src: f.rsrc, dst: f.rdst, sport: f.rsport, dport: f.rdport },
          unreplied: f.unreplied,
          assured: false,
          mark: f.mark,
          id: f.id,
        };
        assert.deepEqual(r.entry, want);
      }),
      1000,
    );
  });

  it('round trip: -o xml lines (1000)', () => {
    check(
      fc.property(flow, (f) => {
        const tuple = (dir: string, s: string, d: string, sp: number, dp: number) =>
          `<meta direction="${dir}"><layer3 protonum="2" protoname="ipv4"><src>${s}</src><dst>${d}</dst></layer3>` +
          `<layer4 protonum="6" protoname="tcp"><sport>${sp}</sport><dport>${dp}</dport></layer4></meta>`;
        const text =
          `<flow type="${f.event.toLowerCase()}">${tuple('original', f.src, f.dst, f.sport, f.dport)}${tuple('reply', f.rsrc, f.rdst, f.rsport, f.rdport)}` +
          `<meta direction="independent"><state>${f.state}</state><timeout>${f.timeout}</timeout><mark>${f.mark}</mark><id>${f.id}</id>${f.unreplied ? '<unreplied/>' : ''}</meta></flow>`;
        const r = parseConntrackLine(text);
        assert.ok('entry' in r, JSON.stringify(r));
        assert.deepEqual(r.entry, {
          event: f.event,
          family: 'ipv4',
          proto: 'tcp',
          protoNum: 6,
          orig: { src: f.src, dst: f.dst, sport: f.sport, dport: f.dport },
          reply: { src: f.rsrc, dst: f.rdst, sport: f.rsport, dport: f.rdport },
          unreplied: f.unreplied,
          assured: false,
          state: f.state,
          timeout: f.timeout,
          mark: f.mark,
          id: f.id,
        });
      }),
      1000,
    );
  });

  it('round trip: -o save lines (1000)', () => {
    const cmd = { NEW: '-A', UPDATE: '-U', DESTROY: '-D' } as const;
    check(
      fc.property(flow, (f) => {
        const text =
          `${cmd[f.event]} -t ${f.timeout} -u ${f.unreplied ? 'UNSET' : 'SEEN_REPLY,ASSURED'} -s ${f.src} -d ${f.dst} -r ${f.rsrc} -q ${f.rdst} ` +
          `-p tcp --sport ${f.sport} --dport ${f.dport} --reply-port-src ${f.rsport} --reply-port-dst ${f.rdport} --state ${f.state} -m ${f.mark}`;
        const r = parseConntrackLine(text);
        assert.ok('entry' in r, JSON.stringify(r));
        assert.deepEqual(r.entry, {
          event: f.event,
          family: 'ipv4',
          proto: 'tcp',
          protoNum: 6,
          orig: { src: f.src, dst: f.dst, sport: f.sport, dport: f.dport },
          reply: { src: f.rsrc, dst: f.rdst, sport: f.rsport, dport: f.rdport },
          unreplied: f.unreplied,
          assured: !f.unreplied,
          timeout: f.timeout,
          state: f.state,
          mark: f.mark,
        });
      }),
      1000,
    );
  });
});

describe('fuzz: conntrack byte prefilter (mayMatter)', () => {
  it('any bytes and any slice give a boolean: 2000 inputs', () => {
    const interest = { trackedServers: new Map([['192.168.1.10', 1]]), udpPorts: new Set([51820]) };
    check(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          mutatedText(TEXT_LINES).map((s) => new Uint8Array(Buffer.from(s))),
        ),
        fc.nat(),
        fc.nat(),
        (buf, a, b) => {
          const start = buf.length === 0 ? 0 : a % (buf.length + 1);
          const end = start + (buf.length - start === 0 ? 0 : b % (buf.length - start + 1));
          assert.equal(typeof timed('mayMatter', () => mayMatter(buf, start, end, interest)), 'boolean');
        },
      ),
      2000,
    );
  });
});

describe('fuzz: replyguard analyze (analyzeCapture)', () => {
  const view = makeLanView(PRIVATE_LAN_FALLBACK, [], [], 'fuzz');
  it('mutated captures: 300 inputs, a well-formed report each', () => {
    check(
      fc.property(mutatedText(CAPTURES, 8), (text) => {
        const r = timed('analyzeCapture', () => analyzeCapture(text, 'fuzz', view));
        assert.equal(r.schema, 1);
        assert.ok(r.events + r.parse_errors <= r.lines);
        assert.ok(r.first_errors.length <= 20 && r.first_errors.length <= r.parse_errors);
        for (const e of r.first_errors) assert.ok(!e.error.startsWith('unreadable line ('), e.error);
        assert.ok(Array.isArray(r.findings));
      }),
      300,
    );
  });
});

// ---------------------------------------------------------------------------
// Config

const UCI_FILE = '/etc/config/replyguard';
const INI_FILE = '/etc/replyguard.ini';
/** The shipped default config, with its commented-out examples switched on. */
const UCI_SAMPLE = readFileSync(join(__dirname, '..', '..', '..', 'openwrt', 'files', 'replyguard.config'), 'utf8')
  .split('\n')
  .map((l) => (/^\s*#\s*(option|list|config) /.test(l) ? l.replace(/^(\s*)#\s?/, '$1') : l))
  .join('\n');
const INI_SAMPLE = `[main]
lan_interfaces = br-lan ; the bridge
lan_subnets[] = 192.168.1.0/24
lan_subnets[] = fd00::/64
problem_hold = 900
log_level = info
probe = auto
guard = off

[mqtt]
enabled = 1
url = mqtts://broker.lan:8883
username = ha
password = "s3cret; with # chars"
retain = no

[forward.nas]
host = 192.168.1.10
port = 443
proto = tcp
wan_port = 9443
`;

function config(text: string, file: string): void {
  try {
    const c = timed('parseConfigText', () => parseConfigText(text, file));
    assert.equal(c.source, file);
    assert.ok(Array.isArray(c.main.lanInterfaces) && Array.isArray(c.forwards));
    for (const f of c.forwards) assert.ok(Number.isInteger(f.port) && f.port >= 1 && f.port <= 65535);
  } catch (err) {
    if (err instanceof ConfigProblems) {
      assert.ok(err.errors.length > 0 && err.errors.every((e) => e instanceof ConfigError));
      return;
    }
    assert.ok(err instanceof ConfigError, `not a config error: ${String(err)}`);
    assert.ok(err.message.startsWith(file));
  }
}

describe('fuzz: config files (UCI, INI) through the validator', () => {
  it('the samples are valid', () => {
    assert.equal(parseConfigText(UCI_SAMPLE, UCI_FILE).forwards.length, 1);
    assert.equal(parseConfigText(INI_SAMPLE, INI_FILE).forwards.length, 1);
  });

  it('mutated UCI: 2000 inputs', () => {
    check(
      fc.property(mutatedText([UCI_SAMPLE], 6), (t) => config(t, UCI_FILE)),
      2000,
    );
    assertNoPollution();
  });

  it('mutated INI: 2000 inputs', () => {
    check(
      fc.property(mutatedText([INI_SAMPLE], 6), (t) => config(t, INI_FILE)),
      2000,
    );
    assertNoPollution();
  });

  it('big files stay within the bound', () => {
    const sections = (n: number) =>
      Array.from(
        { length: n },
        (_, i) =>
          `config forward 'f${i}'\n\toption host '10.0.${i >> 8}.${i & 255}'\n\toption port '${(i % 65535) + 1}'\n`,
      ).join('');
    config(sections(1000), UCI_FILE);
    config(`config main 'main'\n\toption log_level 'i${'\\\n'.repeat(20000)}nfo'\n`, UCI_FILE);
    config(`config main 'main'\n${"\tlist lan_interfaces 'br-lan'\n".repeat(5000)}`, UCI_FILE);
    config(`[main]\n${'lan_interfaces[] = eth0\n'.repeat(5000)}`, INI_FILE);
    config(`[main]\nlog_level = "${'\\\\'.repeat(50000)}"\n`, INI_FILE);
  });

  // buildConfig on sections made directly: any types, names, keys and values.
  const word = fc.oneof(
    fc.constantFrom('main', 'mqtt', 'forward', 'host', 'port', 'proto', 'url', 'password', 'enabled', ...POISON_WORDS),
    fc.string({ maxLength: 10 }),
  );
  const value = fc.oneof(
    fc.constantFrom(...ODD_NUMBERS, '192.168.1.10', 'tcp', 'mqtt://h', '1', 'br-lan'),
    fc.string(),
  );
  const option: fc.Arbitrary<[string, ConfigOption]> = fc.tuple(
    word,
    fc.oneof(
      value.map((v) => ({ value: v, line: 1 })),
      fc.array(value, { maxLength: 4 }).map((v) => ({ value: v, line: 2, lines: v.map((_, i) => i + 2) })),
    ),
  );
  const section: fc.Arbitrary<ConfigSection> = fc.record(
    {
      type: word,
      name: word,
      line: fc.nat(1000),
      options: fc.array(option, { maxLength: 6 }).map((o) => new Map(o)),
    },
    { requiredKeys: ['type', 'options'] },
  );

  it('buildConfig on generated sections: 2000 inputs, a Config or ConfigProblems', () => {
    check(
      fc.property(fc.array(section, { maxLength: 6 }), (sections) => {
        try {
          const c = timed('buildConfig', () => buildConfig(sections, UCI_FILE));
          assert.ok(Array.isArray(c.forwards));
          for (const f of c.forwards) assert.ok(/^[A-Za-z0-9_-]{1,32}$/.test(f.name));
        } catch (err) {
          assert.ok(err instanceof ConfigProblems, String(err));
          assert.ok(err.errors.every((e) => e instanceof ConfigError && e.message.length > 0));
        }
      }),
      2000,
    );
    assertNoPollution();
  });

  it('parseUci / parseIni alone: random text, 1000 inputs each, sections or ConfigError', () => {
    check(
      fc.property(randomText(), (s) => {
        for (const [parse, file] of [
          [parseUci, UCI_FILE],
          [parseIni, INI_FILE],
        ] as const) {
          try {
            const sections = timed('parse', () => parse(s, file));
            assert.ok(sections.every((x) => typeof x.type === 'string' && x.options instanceof Map));
          } catch (err) {
            assert.ok(err instanceof ConfigError, String(err));
          }
        }
      }),
      1000,
    );
  });

  it('round trip: generated forwards written as UCI and as INI read back the same', () => {
    const fwd = fc
      .record({
        name: fc.stringMatching(/^[A-Za-z0-9_]{1,16}$/),
        host: fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.')),
        port: fc.integer({ min: 1, max: 65535 }),
        proto: fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp'),
      })
      .map((f) => ({ ...f })); // fc.record's objects have no prototype; the Config's do
    check(
      fc.property(fc.uniqueArray(fwd, { selector: (f) => f.name, maxLength: 5 }), (fwds) => {
        const unique = fwds.filter(
          (f, i) => fwds.findIndex((g) => g.host === f.host && g.port === f.port && g.proto === f.proto) === i,
        );
        const uci = unique
          .map(
            (f) =>
              `config forward '${f.name}'\n\toption host '${f.host}'\n\toption port '${f.port}'\n\toption proto '${f.proto}'\n`,
          )
          .join('\n');
        const ini = unique
          .map((f) => `[forward.${f.name}]\nhost = ${f.host}\nport = ${f.port}\nproto = ${f.proto}\n`)
          .join('\n');
        assert.deepEqual(parseConfigText(uci, UCI_FILE).forwards, unique);
        assert.deepEqual(parseConfigText(ini, INI_FILE).forwards, unique);
      }),
      500,
    );
  });
});
