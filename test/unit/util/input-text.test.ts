// Text from input on its way to a log or a terminal is cut short and its
// control characters escaped: a 1 MB INI header, a section named with an ANSI
// escape, a capture with raw escape bytes (test/fixtures/attacks/) come back as
// short, plain lines.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseConfigText } from '../../../src/config/config-text';
import { createLogger } from '../../../src/system/log';
import { INPUT_TEXT_MAX, inputText, quotedInput, terminalText } from '../../../src/util/input-text';
import { BUNDLE } from '../../helpers/daemon';

const ATTACKS = join(__dirname, '..', '..', 'fixtures', 'attacks');
/** What must never reach a terminal raw: C0 (but tab and the line break between lines), DEL, C1, bidi controls. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function configError(text: string, file: string): string {
  try {
    parseConfigText(text, file);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected a config error');
}

describe('inputText', () => {
  it('escapes control characters, doubles backslashes, keeps the rest', () => {
    assert.equal(
      inputText('a\u001b[31mb\r\n\t\u0000\u007f\u009b\u202e\\x'),
      'a\\x1b[31mb\\r\\n\\t\\x00\\x7f\\x9b\\u202e\\\\x',
    );
    assert.equal(inputText('br-lan 路由 😀'), 'br-lan 路由 😀');
    assert.equal(inputText('\ud800x'), '\\ud800x');
    assert.equal(quotedInput('say "hi"'), '"say \\"hi\\""');
  });

  it('cuts long text and says how much was left out, never half a surrogate pair', () => {
    assert.equal(inputText('x'.repeat(1000), 10), 'xxxxxxxxxx… (990 more characters)');
    assert.equal(inputText(`${'x'.repeat(9)}😀`, 10), 'xxxxxxxxx… (2 more characters)');
  });

  it('never lets an unsafe character through, and stays short (any input)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 500 }), (s) => {
        const out = inputText(s);
        assert.ok(!UNSAFE.test(out.replace(/\n/g, '')), JSON.stringify(out));
        assert.ok(!out.includes('\n') && !out.includes('\t'));
        assert.ok(out.length <= INPUT_TEXT_MAX * 6 + 40, `${out.length}`);
      }),
      { numRuns: 500 },
    );
  });
});

describe('terminalText', () => {
  it('keeps line breaks and tabs, escapes every other control character, cuts nothing', () => {
    assert.equal(terminalText('a\tb\nc\u001b[31md\u0007\r'), 'a\tb\nc\\x1b[31md\\x07\\r');
    const long = 'x'.repeat(100_000);
    assert.equal(terminalText(long), long);
  });
});

describe('attack inputs in config errors, logs and analyze', () => {
  it('a 1 MB INI section header: a short error line (was 1,000,069 bytes)', () => {
    const msg = configError(`[${'A'.repeat(1_000_000)}\n`, 'big.ini');
    assert.ok(msg.length < 400, `${msg.length} characters`);
    assert.match(msg, /malformed section header "\[A+… \(\d+ more characters\)"/);
  });

  it('sections and options named with terminal escapes: escaped in every message', () => {
    for (const [file, shown] of [
      ['escape-section.ini', "section '\\x1b[31mred': unknown section type '\\x1b[31mred'"],
      ['escape-option.ini', 'invalid option name "\\x1b[31mred"'],
      ['escape-uci.uci', 'invalid option name "\\x1b]0"'],
    ] as const) {
      const msg = configError(readFileSync(join(ATTACKS, file), 'utf8'), file);
      assert.ok(!UNSAFE.test(msg), `${file}: ${JSON.stringify(msg)}`);
      assert.ok(msg.includes(shown), `${file}: ${msg}`);
    }
  });

  it('the log escapes what a message quotes raw and cuts it at 4,096 characters', () => {
    const lines: string[] = [];
    const log = createLogger('debug', (l) => lines.push(l));
    log.warn(`conntrack sensor: cannot read line: \u001b[2J\u009b31m${'y'.repeat(10_000)}`);
    log.info('two\nlines');
    assert.ok(!UNSAFE.test(lines[0]!.slice(0, -1)), JSON.stringify(lines[0]!.slice(0, 80)));
    assert.ok(lines[0]!.length < 4200, `${lines[0]!.length}`);
    assert.match(lines[0]!, /\\x1b\[2J\\x9b31m/);
    assert.equal(lines[1], 'info: two\nlines\n');
  });

  it('explain shows a rule comment with terminal escapes escaped (it printed them raw)', () => {
    const r = spawnSync(
      process.execPath,
      [
        BUNDLE,
        'explain',
        '--from',
        '192.168.1.10:443',
        '--to',
        '203.0.113.50:40000',
        '--flags',
        'ack',
        '--ruleset-dir',
        join(ATTACKS, 'explain-escape'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.ok(!UNSAFE.test(r.stdout.replace(/\n/g, '')), JSON.stringify(r.stdout));
    assert.match(r.stdout, /--comment \\x1b\[2J\\x1b\[31mred\\x1b\]0;pwned\\x07 -j REDIRECT/);
  });

  it('analyze shows unreadable capture lines escaped (it printed their raw bytes)', () => {
    const r = spawnSync(process.execPath, [BUNDLE, 'analyze', join(ATTACKS, 'capture-escapes.txt')], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /2 unreadable/);
    assert.ok(!UNSAFE.test(r.stdout.replace(/\n/g, '')), JSON.stringify(r.stdout));
    assert.match(r.stdout, /src=\\x1b\[2J dst=/);
  });
});
