// What Home Assistant's device card shows about the router: host name, board
// and OpenWrt release, read from the files OpenWrt keeps them in.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { RouterInfo } from '../mqtt/ha-discovery';

function readTrimmed(path: string): string | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/** DISTRIB_DESCRIPTION='OpenWrt 24.10.2 r28739-d9340319c6' from /etc/openwrt_release. */
export function openwrtRelease(text: string | undefined): string | undefined {
  const m = text?.match(/^DISTRIB_DESCRIPTION=['"]?([^'"\n]+)['"]?$/m);
  return m?.[1]?.trim();
}

export function readRouterInfo(): RouterInfo {
  const info: RouterInfo = { name: hostname() || 'router' };
  const model = readTrimmed('/tmp/sysinfo/model');
  if (model) info.model = model;
  const release = openwrtRelease(readTrimmed('/etc/openwrt_release'));
  if (release) info.osVersion = release;
  return info;
}
