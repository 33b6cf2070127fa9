// Log lines to stderr: procd hands them to logd, which adds time and tag.

import type { LogLevel } from '../config/config';
import { inputText } from '../util/input-text';

/** Longest message written, in characters: whatever a message quotes, a line stays readable. */
const MAX_MESSAGE = 4096;

/**
 * A message as written: each of its lines with control characters escaped (a terminal or a log
 * reader sees text, never an escape sequence) and the whole cut to MAX_MESSAGE. The places that
 * quote input cut and escape it themselves; this is the net under them.
 */
function safeMessage(msg: string): string {
  const cut = msg.length > MAX_MESSAGE;
  const lines = (cut ? msg.slice(0, MAX_MESSAGE) : msg).split('\n');
  const text = lines
    .map((l) =>
      /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(l) ? inputText(l, MAX_MESSAGE) : l,
    )
    .join('\n');
  return cut ? `${text}… (${msg.length - MAX_MESSAGE} more characters)` : text;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  setLevel(level: LogLevel): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  let min = ORDER[level];
  const at = (lvl: LogLevel) => (msg: string) => {
    if (ORDER[lvl] >= min) write(`${lvl}: ${safeMessage(msg)}\n`);
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    setLevel(l) {
      min = ORDER[l];
    },
  };
}
