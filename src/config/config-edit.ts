// Sets one option of the main section in the config text, changing nothing
// else: comments, order and the user's other lines stay as written. Used when
// a setting is switched from outside (the Home Assistant "Guard" switch), so
// that a restart keeps it. Pure: text in, text out; the result is parsed again
// and refused when it would not read back as asked.

import { ConfigError } from './config';
import type { ConfigSection } from './config-section';
import { isIniFile, parseConfigText } from './config-text';
import { parseIni } from './ini-file';
import { parseUci } from './uci-file';

const VALUE_RE = /^[A-Za-z0-9_.:/-]*$/;

/** The text with `key` of the main section set to `value`. Throws ConfigError when that cannot be done safely. */
export function setMainOption(text: string, file: string, key: string, value: string): string {
  if (!/^[a-z_]+$/.test(key) || !VALUE_RE.test(value))
    throw new ConfigError(file, 'main', key, `refusing to write ${JSON.stringify(value)}`);
  const ini = isIniFile(file);
  const sections: ConfigSection[] = ini ? parseIni(text, file) : parseUci(text, file);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  const main = sections.find((s) => s.type === 'main');
  const newLine = ini ? `${key} = ${value}` : `\toption ${key} '${value}'`;
  if (!main) {
    const header = ini ? '[main]' : "config main 'main'";
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    lines.push('', header, newLine, '');
  } else {
    const opt = main.options.get(key);
    if (opt?.line !== undefined) {
      const old = lines[opt.line - 1] ?? '';
      // Only a line that holds this one assignment (and maybe a comment) is rewritten in place.
      const own = ini
        ? new RegExp(`^(\\s*)${key}\\s*=\\s*[^;#]*?(\\s*[;#].*)?$`)
        : new RegExp(`^(\\s*)(?:option|o)\\s+${key}\\s+(?:'[^']*'|"[^"]*"|[^\\s#;'"]+)(\\s*#.*)?$`);
      const m = own.exec(old);
      if (!m) throw new ConfigError(file, 'main', key, `line ${opt.line} holds more than this option; not rewritten`);
      lines[opt.line - 1] = `${m[1]}${newLine.trimStart()}${m[2] ?? ''}`;
    } else {
      if (main.line === undefined) throw new ConfigError(file, 'main', key, 'the main section has no line');
      lines.splice(main.line, 0, newLine);
    }
  }
  const out = lines.join(eol);
  const check = parseConfigText(out, file);
  const back = (check.main as unknown as Record<string, unknown>)[camel(key)];
  if (String(back) !== value)
    throw new ConfigError(file, 'main', key, `the edited file would read ${JSON.stringify(back)}, not ${value}`);
  return out;
}

function camel(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}
