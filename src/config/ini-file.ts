// The INI flavour of the config file (for running outside OpenWrt):
//
//   [main]                 → type 'main', name 'main'
//   [forward.nas]          → type 'forward', name 'nas'
//   key = value            ; comment
//   key[] = item           (repeated: a list)
//
// The `ini` package decodes the values (comment stripping, `\;` and `\#`
// escapes, "double quoted" JSON strings). The structure is handled here, line
// by line, because ini.parse() on a whole file gets it wrong for this schema:
//   - it nests dotted sections: [forward.nas] becomes { forward: { nas: … } },
//     and a plain key named like a section collides with it;
//   - a header followed by a comment (`[forward.nas]  ; …`) is not a header to
//     it: the line becomes a key "[forward.nas]" = true of the previous
//     section, and the following keys land there too;
//   - it has no line numbers for messages;
//   - it turns true/false/null into non-strings, and a 'single quoted' value
//     into JSON.parse(inner) — '443' is the number 443, '[1]' an array.
// So each key line is decoded by ini.parse() on its own, and single-quoted
// values are taken literally (as in UCI).

import { parse } from 'ini';
import { quotedInput } from '../util/input-text';
import { ConfigError } from './config';
import { addOption, type ConfigSection } from './config-section';

const HEADER_RE = /^\[([^\]]*)\]\s*(?:[;#].*)?$/;
const KEY_RE = /^([A-Za-z0-9_]+)(\[\])?$/;

/** Index just past the quoted part starting at `start`, or -1 when it never closes. */
function closeQuote(text: string, start: number): number {
  const q = text[start];
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && q === '"') i++;
    else if (c === q) return i + 1;
  }
  return -1;
}

function decodeValue(key: string, valueText: string): unknown {
  // `=` cannot appear in the key, so ini splits this line exactly where we did.
  const out = parse(`${key} = ${valueText}`) as Record<string, unknown>;
  return Object.hasOwn(out, key) ? out[key] : undefined;
}

/**
 * Parses the text of an INI config file. `file` is only used in messages.
 * Throws ConfigError on the first syntax problem.
 */
export function parseIni(text: string, file: string): ConfigSection[] {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = source.split(/\r\n|\r|\n/);
  const sections: ConfigSection[] = [];
  const byHeader = new Map<string, ConfigSection>();
  let current: ConfigSection | undefined;
  let label: string | undefined;

  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith(';') || trimmed.startsWith('#')) return;

    if (trimmed.startsWith('[')) {
      const m = HEADER_RE.exec(trimmed);
      if (!m)
        throw new ConfigError(file, undefined, undefined, `malformed section header ${quotedInput(trimmed)}`, line);
      const header = m[1]!.trim();
      const dot = header.indexOf('.');
      const type = dot < 0 ? header : header.slice(0, dot);
      const name = dot < 0 ? header : header.slice(dot + 1);
      if (type === '' || name === '') {
        throw new ConfigError(
          file,
          undefined,
          undefined,
          `section header "[${header}]" needs a type and a name, e.g. [main] or [forward.nas]`,
          line,
        );
      }
      const seen = byHeader.get(header);
      if (seen) {
        // As ini does, a repeated header continues the same section.
        current = seen;
      } else {
        current = { type, name, line, options: new Map() };
        byHeader.set(header, current);
        sections.push(current);
      }
      label = name;
      return;
    }

    const eq = trimmed.indexOf('=');
    if (eq < 0) {
      // `password hunter2` (the '=' forgotten) must not put the password into the message.
      const got = /^password\b/i.test(trimmed) ? 'a password line' : quotedInput(trimmed);
      throw new ConfigError(file, label, undefined, `expected "key = value", got ${got}`, line);
    }
    const keyText = trimmed.slice(0, eq).trim();
    const km = KEY_RE.exec(keyText);
    if (!km) {
      throw new ConfigError(
        file,
        label,
        undefined,
        `invalid option name ${quotedInput(keyText)}: use letters, digits and '_' (and a trailing [] for a list item)`,
        line,
      );
    }
    const key = km[1]!;
    const isList = km[2] !== undefined;
    if (!current) throw new ConfigError(file, undefined, key, 'option outside any [section]', line);

    const rest = trimmed.slice(eq + 1).trimStart();
    let value: string;
    if (rest.startsWith("'") || rest.startsWith('"')) {
      const end = closeQuote(rest, 0);
      if (end < 0) throw new ConfigError(file, label, key, `unterminated ${rest[0]} quote`, line);
      const after = rest.slice(end).trim();
      if (after !== '' && !after.startsWith(';') && !after.startsWith('#')) {
        throw new ConfigError(
          file,
          label,
          key,
          // Not the text itself for the password: it is part of the secret and would end up in the log.
          `unexpected text after the quoted value${key === 'password' ? '' : `: ${quotedInput(after)}`}`,
          line,
        );
      }
      const quoted = rest.slice(0, end);
      if (rest[0] === "'") {
        value = quoted.slice(1, -1);
      } else {
        const decoded = decodeValue(key, quoted);
        if (decoded === undefined) throw new ConfigError(file, label, key, 'cannot decode the value', line);
        value = String(decoded);
      }
    } else {
      // Unquoted: ini strips the comment and the escapes, and reads true/false/null
      // as non-strings, whose text is what was written.
      const decoded = decodeValue(key, rest);
      if (decoded === undefined) throw new ConfigError(file, label, key, 'cannot decode the value', line);
      value = String(decoded);
    }

    const clash = addOption(current, key, value, isList, line);
    if (clash) {
      throw new ConfigError(
        file,
        label,
        key,
        `given both as '${key}' and as '${key}[]'` + (clash.line !== undefined ? ` (see line ${clash.line})` : ''),
        line,
      );
    }
  });
  return sections;
}
