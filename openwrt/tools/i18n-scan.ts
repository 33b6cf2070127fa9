// Collects the translatable strings of luci-app-replyguard — `_('…')` in the
// views and the menu titles — as LuCI's build/i18n-scan.pl does, and writes
// po/templates/replyguard.pot (`--write`) or prints it.
//
//   node --import tsx openwrt/tools/i18n-scan.ts [--write]

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const LUCI_APP = join(__dirname, '..', '..', 'luci-app');
export const VIEW_DIR = join(LUCI_APP, 'htdocs', 'luci-static', 'resources', 'view', 'replyguard');
export const MENU_FILE = join(LUCI_APP, 'root', 'usr', 'share', 'luci', 'menu.d', 'luci-app-replyguard.json');

export interface Msg {
  id: string;
  refs: string[];
}

const LITERAL_RE = /\b_\(\s*('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")\s*[,)]/g;

function unquote(literal: string): string {
  const body = literal.slice(1, -1);
  return body.replace(/\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)/g, (_m, e: string) => {
    if (e.startsWith('u') && e.length === 5) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    if (e.startsWith('x') && e.length === 3) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    return ({ n: '\n', t: '\t', r: '\r' } as Record<string, string>)[e] ?? e;
  });
}

/** The msgids of one JS source: every `_('literal')`. */
export function scanJs(source: string, file: string, into: Map<string, Msg>): void {
  for (const m of source.matchAll(LITERAL_RE)) {
    const id = unquote(m[1]!);
    const line = source.slice(0, m.index).split('\n').length;
    const msg = into.get(id) ?? { id, refs: [] };
    msg.refs.push(`${file}:${line}`);
    into.set(id, msg);
  }
}

export function scanAll(): Msg[] {
  const msgs = new Map<string, Msg>();
  for (const f of readdirSync(VIEW_DIR).sort()) {
    if (!f.endsWith('.js')) continue;
    const path = join(VIEW_DIR, f);
    scanJs(readFileSync(path, 'utf8'), relative(LUCI_APP, path), msgs);
  }
  const menu = JSON.parse(readFileSync(MENU_FILE, 'utf8')) as Record<string, { title?: string }>;
  for (const entry of Object.values(menu)) {
    if (!entry.title) continue;
    const msg = msgs.get(entry.title) ?? { id: entry.title, refs: [] };
    msg.refs.push(relative(LUCI_APP, MENU_FILE));
    msgs.set(entry.title, msg);
  }
  return [...msgs.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function poQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function renderPot(msgs: readonly Msg[]): string {
  const out = ['msgid ""', 'msgstr "Content-Type: text/plain; charset=UTF-8"', ''];
  for (const m of msgs) {
    out.push(`#: ${[...new Set(m.refs.map((r) => r.replace(/:\d+$/, '')))].join(' ')}`);
    out.push(`msgid ${poQuote(m.id)}`, 'msgstr ""', '');
  }
  return out.join('\n');
}

if (require.main === module) {
  const pot = renderPot(scanAll());
  if (process.argv.includes('--write')) writeFileSync(join(LUCI_APP, 'po', 'templates', 'replyguard.pot'), pot);
  else process.stdout.write(pot);
}
