// Text that came from outside (config values, file lines, MQTT payloads, names from a
// ruleset) on its way into a log line, an error or a terminal: cut to a length and with
// every character that could move the cursor, end the line or colour the terminal
// escaped, so a hostile value cannot flood the log or forge what a reader sees.

/** Longest piece of input text shown in one message, in characters. */
export const INPUT_TEXT_MAX = 120;

// C0 and C1 controls, DEL, line/paragraph separators, bidi overrides and isolates,
// the BOM and lone surrogates (invalid UTF-8 decodes to U+FFFD, which is harmless).
const UNSAFE_RE =
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` made safe for one log or terminal line: at most `max` characters of it (then "…" and
 * how much was left out), control characters escaped as \xNN / \uNNNN, backslashes doubled
 * so that an escape in the output always means one in the input.
 */
export function inputText(text: string, max = INPUT_TEXT_MAX): string {
  const cut = text.length > max;
  let head = cut ? text.slice(0, max) : text;
  // Never end on half a surrogate pair.
  if (cut && /[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  const safe = head.replace(/\\/g, '\\\\').replace(UNSAFE_RE, escapeChar);
  return cut ? `${safe}… (${text.length - head.length} more characters)` : safe;
}

/** Like inputText, in double quotes: for a value inside a sentence. */
export function quotedInput(text: string, max = INPUT_TEXT_MAX): string {
  return `"${inputText(text, max).replace(/"/g, '\\"')}"`;
}

/**
 * A whole text for the terminal (a report of many lines, some quoting rule comments, names or
 * captures): the line breaks kept, every other control character escaped; nothing cut.
 */
export function terminalText(text: string): string {
  if (!UNSAFE_TERMINAL_RE.test(text)) return text;
  return text.replace(UNSAFE_TERMINAL_RE_G, escapeChar);
}

const UNSAFE_TERMINAL_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_TERMINAL_RE_G = new RegExp(UNSAFE_TERMINAL_RE.source, 'g');
