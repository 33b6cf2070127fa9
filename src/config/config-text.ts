// Config text to the typed Config, without I/O: INI when the file's name ends in ".ini", UCI otherwise.

import type { Config } from './config';
import { buildConfig } from './config-build';
import type { ConfigSection } from './config-section';
import { parseIni } from './ini-file';
import { parseUci } from './uci-file';

export function isIniFile(file: string): boolean {
  return file.toLowerCase().endsWith('.ini');
}

/** Parses and validates config text; `file` picks the format and names it in messages. */
export function parseConfigText(text: string, file: string): Config {
  const sections: ConfigSection[] = isIniFile(file) ? parseIni(text, file) : parseUci(text, file);
  return buildConfig(sections, file);
}
