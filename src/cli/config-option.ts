// How every command finds its config: --config F, else /etc/config/replyguard,
// else the built-in defaults (a fresh install before the first edit).

import { existsSync } from 'node:fs';
import { type Config, DEFAULT_MAIN } from '../config/config';
import { loadConfig } from '../system/load-config';

export const DEFAULT_CONFIG_PATH = '/etc/config/replyguard';

export function configFor(explicitPath: string | undefined): Config {
  if (explicitPath !== undefined) return loadConfig(explicitPath);
  if (existsSync(DEFAULT_CONFIG_PATH)) return loadConfig(DEFAULT_CONFIG_PATH);
  return { source: '(built-in defaults)', main: { ...DEFAULT_MAIN }, mqtt: { enabled: false }, forwards: [] };
}
