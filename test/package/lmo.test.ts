// The .lmo compiler against LuCI's format. The hash vectors were computed by a C
// program written after sfh_hash() in modules/luci-base/src/lib/lmo.c (uint8
// little-endian get16, the (signed char) casts of the tail bytes), compiled with
// gcc on x86-64; the file vector is laid out by hand after po2lmo.c.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkPo } from '../../openwrt/tools/build-ipk';
import { scanAll } from '../../openwrt/tools/i18n-scan';
import { canonicalKey, compileLmo, lmoToTr, lmoTranslate, parsePo, readLmo, sfhString } from '../../openwrt/tools/lmo';

const ROOT = join(__dirname, '..', '..');

describe('sfh_hash', () => {
  const vectors: Array<[string, number]> = [
    ['a', 0x115ea782], // tail of 1
    ['ab', 0x516b8b44], // tail of 2
    ['abc', 0xd2be198a], // tail of 3
    ['abcd', 0xdad8b8db], // one block
    ['abcde', 0x51ed072e],
    ['Status', 0x663359c9],
    ['Settings', 0x60cc7d18],
    ['Re-check now', 0x8d2993ca],
    ['状态', 0xf60a8313],
    ['设置', 0x57563f36],
    ['é', 0xc4fba554],
    ['aé', 0xe3d9c55b], // tail of 3 whose last byte is >= 0x80: the signed-char path
    ['aéé', 0x0ec69ee8], // tail of 1, byte >= 0x80
    ['ab状', 0x0e64d14b],
    ['abcd状', 0x9f32718c],
    ['x状', 0xee67105f],
    ['Plural-Forms', 0xf2cd48c0],
    ['Replies of %s are being hijacked', 0xf1b50956],
  ];
  for (const [s, h] of vectors) {
    it(`${JSON.stringify(s)} → ${h.toString(16).padStart(8, '0')}`, () => assert.equal(sfhString(s), h));
  }
  it('is 0 for the empty string', () => assert.equal(sfhString(''), 0));
});

describe('compileLmo', () => {
  const po = `# a comment
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"

msgid "Status"
msgstr "状态"

#: somewhere
msgid "Set"
"tings"
msgstr "设置"

msgid "OK"
msgstr "OK"

msgid "Untranslated"
msgstr ""
`;

  it('lays the file out as po2lmo does (strings padded to 4, sorted index, index offset last)', () => {
    const expected = Buffer.concat([
      Buffer.from('nplurals=1; plural=0;\0\0\0'), // 21 bytes + 3
      Buffer.from('状态\0\0', 'utf8'), // 6 + 2, at 24
      Buffer.from('设置\0\0', 'utf8'), // 6 + 2, at 32
      // index at 40: key_id, val_id, offset, length — sorted by key_id
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 21]),
      Buffer.from([0x60, 0xcc, 0x7d, 0x18, 0, 0, 0, 1, 0, 0, 0, 32, 0, 0, 0, 6]), // Settings
      Buffer.from([0x66, 0x33, 0x59, 0xc9, 0, 0, 0, 1, 0, 0, 0, 24, 0, 0, 0, 6]), // Status
      Buffer.from([0, 0, 0, 40]),
    ]);
    assert.deepEqual(compileLmo(po), expected);
  });

  it('looks strings up as LuCI does (whitespace-collapsed msgid), and leaves out identical ones', () => {
    const lmo = compileLmo(po)!;
    assert.equal(lmoTranslate(lmo, 'Status'), '状态');
    assert.equal(lmoTranslate(lmo, '  Settings\n'), '设置');
    assert.equal(lmoTranslate(lmo, 'OK'), undefined);
    assert.equal(lmoTranslate(lmo, 'Untranslated'), undefined);
    assert.deepEqual(lmoToTr(lmo), { '00000000': 'nplurals=1; plural=0;', '60cc7d18': '设置', '663359c9': '状态' });
  });

  it('keys contexts as ctxt\\x01id and plural forms as id\\x02N, with val_id = forms', () => {
    const lmo = compileLmo(`msgctxt "menu"
msgid "Open"
msgstr "打开"

msgid "%d finding"
msgid_plural "%d findings"
msgstr[0] "%d 个发现"
msgstr[1] "%d 个发现们"
`)!;
    const byKey = new Map(readLmo(lmo).map((e) => [e.keyId, e]));
    assert.equal(byKey.get(sfhString('menu\u0001Open'))?.value, '打开');
    assert.equal(byKey.get(sfhString('menu\u0001Open'))?.valId, 1);
    assert.equal(byKey.get(sfhString('%d finding\u00020'))?.value, '%d 个发现');
    assert.equal(byKey.get(sfhString('%d finding\u00021'))?.valId, 2);
    assert.equal(lmoTranslate(lmo, 'Open', 'menu'), '打开');
  });

  it('unescapes \\" and \\\\ only, as po2lmo does', () => {
    const [m] = parsePo('msgid "say \\"hi\\" \\\\ \\n"\nmsgstr "x"\n');
    assert.equal(m?.id, 'say "hi" \\ \\n');
    assert.equal(canonicalKey('  a \t b\n'), 'a b');
  });

  it('writes nothing when nothing is translated (po2lmo deletes the file)', () => {
    assert.equal(compileLmo('msgid "a"\nmsgstr ""\n'), undefined);
  });
});

describe('luci-app-replyguard translations', () => {
  const pot = readFileSync(join(ROOT, 'luci-app', 'po', 'templates', 'replyguard.pot'), 'utf8');
  const zh = readFileSync(join(ROOT, 'luci-app', 'po', 'zh_Hans', 'replyguard.po'), 'utf8');
  const ids = (text: string) =>
    parsePo(text)
      .map((m) => m.id)
      .filter((id) => id !== '');

  it('the template holds exactly the strings of the views and the menu', () => {
    assert.deepEqual(
      ids(pot),
      scanAll().map((m) => m.id),
    );
  });

  it('zh_Hans translates every string of the template, and only those', () => {
    assert.deepEqual(ids(zh), ids(pot));
    const untranslated = parsePo(zh).filter((m) => m.id !== '' && !m.values[0]);
    assert.deepEqual(
      untranslated.map((m) => m.id),
      [],
    );
    assert.doesNotThrow(() => checkPo(zh, 'zh_Hans/replyguard.po'));
  });

  it('keeps the format directives of each string', () => {
    for (const m of parsePo(zh)) {
      if (m.id === '') continue;
      const directives = (s: string) => (s.match(/%[sdh]/g) ?? []).join('');
      assert.equal(directives(m.values[0]!), directives(m.id), m.id);
    }
  });

  it('every msgid is reachable by LuCI: found in the compiled catalog by its canonical key', () => {
    const lmo = compileLmo(zh)!;
    for (const m of parsePo(zh)) {
      if (m.id === '' || m.values[0] === m.id) continue;
      assert.equal(lmoTranslate(lmo, m.id), m.values[0], m.id);
    }
  });
});
