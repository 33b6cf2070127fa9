// Keeps an option switched from outside (the Home Assistant Guard switch) across restarts. On OpenWrt
// the change goes through `uci set` + `uci commit`, as every OpenWrt program changes a config: uci's
// own locking and format, and LuCI's pending changes of other sessions stay theirs. Elsewhere (an INI
// file, or no uci) the main section's line is rewritten in place (config-edit.ts).

import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setMainOption } from '../config/config-edit';
import { isIniFile } from '../config/config-text';
import type { Logger } from '../system/log';
import { runCommand } from '../system/run-command';
import { which } from '../system/which';

export async function persistOption(file: string, key: string, value: string, log: Logger): Promise<void> {
  const uci = isIniFile(file) ? null : which('uci');
  if (uci) {
    // -c: the config's directory (normally /etc/config); @main[0]: named 'main' or not.
    const pkg = basename(file);
    const dir = dirname(file);
    const set = await runCommand([uci, '-q', '-c', dir, 'set', `${pkg}.@main[0].${key}=${value}`]);
    const commit = set.code === 0 ? await runCommand([uci, '-q', '-c', dir, 'commit', pkg]) : set;
    if (commit.code === 0 && !commit.error) {
      log.info(`config: ${key} = ${value} committed with uci (${pkg})`);
      return;
    }
    log.warn(
      `config: uci could not set ${key} (${(commit.error ?? commit.stderr.trim()) || `exit ${commit.code}`}); editing ${file}`,
    );
  }
  try {
    const text = readFileSync(file, 'utf8');
    const next = setMainOption(text, file, key, value);
    if (next === text) return;
    // A dot name: uci lists every other file in /etc/config as a package.
    const tmp = join(dirname(file), `.${basename(file)}.tmp`);
    writeFileSync(tmp, next, { mode: statSync(file).mode & 0o777 });
    renameSync(tmp, file);
    log.info(`config: ${key} = ${value} written to ${file}`);
  } catch (err) {
    log.warn(`config: ${key} = ${value} holds for this run only: cannot write ${file}: ${(err as Error).message}`);
  }
}
