// The state directory holds runtime state only (status.json, the MQTT topics announced,
// the children's pids). The daemon runs as root and its path comes from a config file
// that a LuCI user may edit, so a path is used only when it is a directory replyguard
// made: a real directory (no symlink), owned by this user, writable by nobody else,
// holding nothing but replyguard's own files when it takes it. Anything else (e.g. /etc/hotplug.d/iface,
// whose files a shell sources) is refused with a message, and nothing is written there.

import { lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { inputText } from '../util/input-text';

/** The files replyguard keeps in its state directory (with their temporary twins). */
const OWN_FILE_RE = /^(status\.json|mqtt-announced\.json|children\.pids)(\.[0-9]+)?(\.tmp)?$/;

export class StateDirError extends Error {
  constructor(dir: string, problem: string) {
    super(`state directory ${inputText(dir)}: ${problem}; replyguard writes only into a directory it made itself`);
    this.name = 'StateDirError';
  }
}

/** Directories taken in this process: their content was checked once; a later file in them is no reason to stop. */
const taken = new Set<string>();

/** Creates the state directory (mode 0755) when absent; throws StateDirError when it is not replyguard's. */
export function ensureStateDir(dir: string): void {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    st = lstatSync(dir);
  }
  if (st.isSymbolicLink()) throw new StateDirError(dir, 'is a symbolic link');
  if (!st.isDirectory()) throw new StateDirError(dir, 'is not a directory');
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new StateDirError(dir, `belongs to uid ${st.uid}, not to ${uid}`);
  if ((st.mode & 0o022) !== 0)
    throw new StateDirError(dir, `others may write into it (mode ${(st.mode & 0o777).toString(8)})`);
  if (taken.has(dir)) return;
  const foreign = readdirSync(dir).filter((n) => !OWN_FILE_RE.test(n));
  if (foreign.length > 0) {
    const shown = foreign
      .slice(0, 3)
      .map((n) => inputText(n, 40))
      .join(', ');
    throw new StateDirError(dir, `holds files that are not replyguard's (${shown}${foreign.length > 3 ? ', …' : ''})`);
  }
  taken.add(dir);
}
