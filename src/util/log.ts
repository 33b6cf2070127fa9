// Log lines to stderr: procd hands them to logd, which adds time and tag.

import type { LogLevel } from '../config/config';

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
    if (ORDER[lvl] >= min) write(`${lvl}: ${msg}\n`);
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
