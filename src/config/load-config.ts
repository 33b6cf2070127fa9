// Reads the config file: INI when its name ends in ".ini", UCI otherwise.

import { readFileSync } from 'node:fs';
import { type Config, ConfigError } from './config';
import { buildConfig } from './config-build';
import type { ConfigSection } from './config-section';
import { parseIni } from './ini-file';
import { parseUci } from './uci-file';

export function isIniFile(file: string): boolean {
  return file.toLowerCase().endsWith('.ini');
}

/** Parses and validates config text without I/O; `file` picks the format and names it in messages. */
export function parseConfigText(text: string, file: string): Config {
  const sections: ConfigSection[] = isIniFile(file) ? parseIni(text, file) : parseUci(text, file);
  return buildConfig(sections, file);
}

/**
 * Reads, parses and validates a config file. Throws ConfigError (unreadable
 * file, syntax error) or ConfigProblems (invalid values).
 */
export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(path, undefined, undefined, `cannot read the config file: ${reason}`);
  }
  return parseConfigText(text, path);
}
