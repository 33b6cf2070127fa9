// Where a system tool is installed: the system's sbin and bin directories,
// whatever PATH the process was started with (procd, a login shell, LuCI).

import { existsSync } from 'node:fs';

const SYSTEM_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

/** The path of a system tool, or null when it is not installed. */
export function which(cmd: string): string | null {
  for (const d of SYSTEM_DIRS) if (existsSync(`${d}/${cmd}`)) return `${d}/${cmd}`;
  return null;
}
