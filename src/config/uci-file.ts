// A pure parser of OpenWrt's UCI file format (/etc/config/*): text in, sections
// out. It follows libuci's rules where they matter for a hand-edited file:
//
//   package <name>                  ignored (one package per file here)
//   config <type> ['<name>']        opens a section; a name seen before reopens it
//   option <key> '<value>'          sets a value; given again, the last one wins
//   list <key> '<value>'            appends to a list
//
// Words are unquoted, 'single quoted' (no escapes) or "double quoted" (a
// backslash takes the next character literally); adjacent parts join into one
// word ('a'"b"c → abc). Outside quotes a backslash also escapes the next
// character, and a backslash at the end of a line continues the line. `#`
// outside quotes starts a comment, `;` ends a command, the one-letter command
// forms (c, o, l, p) are accepted. Unlike libuci, a quote must close on its own
// line: a forgotten quote is reported where it opened instead of silently
// swallowing the following lines.

import { quotedInput } from '../util/input-text';
import { ConfigError } from './config';
import { addOption, type ConfigSection } from './config-section';

interface Token {
  text: string;
  line: number;
}

interface Command {
  tokens: Token[];
  line: number;
}

interface Tokenized {
  commands: Command[];
  /** The first lexical error; `partial` holds the words of the command it cut short. */
  error?: { problem: string; line: number; partial: Token[] };
}

const NAME_RE = /^[A-Za-z0-9_]+$/;
const PACKAGE_RE = /^[A-Za-z0-9_-]+$/;
/** uci_validate_type: printable ASCII without spaces. */
const TYPE_RE = /^[!-~]+$/;

/** Length of the line break starting at `i` (0 when there is none). */
function breakAt(text: string, i: number): number {
  if (text[i] === '\n') return 1;
  if (text[i] === '\r' && text[i + 1] === '\n') return 2;
  return 0;
}

function isBlank(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\v' || c === '\f';
}

function tokenize(text: string): Tokenized {
  const commands: Command[] = [];
  let tokens: Token[] = [];
  let word = '';
  let inWord = false;
  let wordLine = 1;
  let line = 1;
  let i = 0;
  const n = text.length;

  const startWord = (): void => {
    if (!inWord) {
      inWord = true;
      wordLine = line;
    }
  };
  const endWord = (): void => {
    if (inWord) tokens.push({ text: word, line: wordLine });
    word = '';
    inWord = false;
  };
  const endCommand = (): void => {
    endWord();
    if (tokens.length > 0) commands.push({ tokens, line: tokens[0]!.line });
    tokens = [];
  };
  const fail = (problem: string, at: number): Tokenized => {
    endWord();
    return { commands, error: { problem, line: at, partial: tokens } };
  };

  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      endCommand();
      line++;
      i++;
    } else if (isBlank(c)) {
      endWord();
      i++;
    } else if (c === '#') {
      endCommand();
      while (i < n && text[i] !== '\n') i++;
    } else if (c === ';') {
      endCommand();
      i++;
    } else if (c === '\\') {
      const br = breakAt(text, i + 1);
      if (br > 0) {
        // Line continuation: the break vanishes, the word (if any) goes on.
        i += 1 + br;
        line++;
      } else if (i + 1 >= n) {
        i++;
      } else {
        startWord();
        word += text[i + 1];
        i += 2;
      }
    } else if (c === "'") {
      startWord();
      const open = line;
      let j = i + 1;
      while (j < n && text[j] !== "'" && text[j] !== '\n') j++;
      if (j >= n || text[j] === '\n') return fail("unterminated ' quote (quotes must close on the same line)", open);
      word += text.slice(i + 1, j);
      i = j + 1;
    } else if (c === '"') {
      startWord();
      const open = line;
      i++;
      for (;;) {
        const d = text[i];
        if (d === undefined || d === '\n' || (d === '\r' && text[i + 1] === '\n')) {
          return fail('unterminated " quote (quotes must close on the same line)', open);
        }
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\') {
          const br = breakAt(text, i + 1);
          if (br > 0) {
            i += 1 + br;
            line++;
            continue;
          }
          if (i + 1 >= n) return fail('unterminated " quote (quotes must close on the same line)', open);
          word += text[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
    } else {
      startWord();
      word += c;
      i++;
    }
  }
  endCommand();
  return { commands };
}

/**
 * Parses the text of a UCI config file. `file` is only used in messages.
 * Throws ConfigError on the first syntax problem.
 */
export function parseUci(text: string, file: string): ConfigSection[] {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const { commands, error } = tokenize(source);
  const sections: ConfigSection[] = [];
  const byName = new Map<string, ConfigSection>();
  const perType = new Map<string, number>();
  let current: ConfigSection | undefined;
  let label: string | undefined;

  const problem = (key: string | undefined, what: string, line: number): ConfigError =>
    new ConfigError(file, label, key, what, line);

  for (const { tokens, line } of commands) {
    const [verb, ...args] = tokens as [Token, ...Token[]];
    switch (verb.text) {
      case 'package':
      case 'p': {
        if (args.length === 0) throw problem(undefined, "'package' without a name", line);
        if (args.length > 1) throw problem(undefined, "too many arguments after 'package'", line);
        if (!PACKAGE_RE.test(args[0]!.text))
          throw problem(undefined, `invalid package name ${quotedInput(args[0]!.text)}`, line);
        break;
      }
      case 'config':
      case 'c': {
        const type = args[0]?.text ?? '';
        const name = args[1]?.text ?? '';
        if (type === '') throw problem(undefined, "'config' without a section type", line);
        if (!TYPE_RE.test(type)) throw problem(undefined, `invalid section type ${quotedInput(type)}`, line);
        if (args.length > 2) {
          throw new ConfigError(
            file,
            name || undefined,
            undefined,
            "too many arguments after 'config <type> <name>'",
            line,
          );
        }
        if (name !== '' && !NAME_RE.test(name)) {
          throw new ConfigError(
            file,
            undefined,
            undefined,
            `invalid section name ${quotedInput(name)}: uci allows only letters, digits and '_'`,
            line,
          );
        }
        const seen = name !== '' ? byName.get(name) : undefined;
        if (seen) {
          if (seen.type !== type) {
            throw new ConfigError(
              file,
              name,
              undefined,
              `section '${name}' was declared before as type '${seen.type}'` +
                (seen.line !== undefined ? ` (line ${seen.line})` : ''),
              line,
            );
          }
          // uci reopens a named section: later options merge into it.
          current = seen;
          label = name;
          break;
        }
        const index = perType.get(type) ?? 0;
        perType.set(type, index + 1);
        current = { type, line, options: new Map() };
        if (name !== '') {
          current.name = name;
          byName.set(name, current);
        }
        label = name !== '' ? name : `@${type}[${index}]`;
        sections.push(current);
        break;
      }
      case 'option':
      case 'o':
      case 'list':
      case 'l': {
        const isList = verb.text[0] === 'l';
        const cmd = isList ? 'list' : 'option';
        const key = args[0]?.text;
        if (!current) {
          throw new ConfigError(file, undefined, key, `'${cmd}' before any 'config' line`, line);
        }
        if (key === undefined || key === '') throw problem(undefined, `'${cmd}' without a name`, line);
        if (!NAME_RE.test(key)) {
          throw problem(
            undefined,
            `invalid option name ${quotedInput(key)}: uci allows only letters, digits and '_'`,
            line,
          );
        }
        if (args.length > 2) {
          throw problem(key, 'too many values (quote a value that contains spaces)', line);
        }
        const value = args[1]?.text ?? '';
        const clash = addOption(current, key, value, isList, line);
        if (clash) {
          throw problem(
            key,
            `given both as 'option' and as 'list'` + (clash.line !== undefined ? ` (see line ${clash.line})` : ''),
            line,
          );
        }
        break;
      }
      default:
        throw problem(
          undefined,
          `unknown command ${quotedInput(verb.text)} (expected config, option, list or package)`,
          line,
        );
    }
  }

  if (error) {
    const [verb, key] = error.partial;
    const isOption = verb !== undefined && ['option', 'o', 'list', 'l'].includes(verb.text);
    const isConfig = verb !== undefined && ['config', 'c'].includes(verb.text);
    throw new ConfigError(
      file,
      isConfig ? undefined : label,
      isOption ? key?.text : undefined,
      error.problem,
      error.line,
    );
  }
  return sections;
}
