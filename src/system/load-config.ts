// Reads the config file and hands its text to the parsers.

import { readFileSync } from 'node:fs';
import { type Config, ConfigError } from '../config/config';
import { parseConfigText } from '../config/config-text';
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
