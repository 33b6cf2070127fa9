// Pure parser for `ip -j addr show`: interfaces and their addresses.

import { jsonArray } from '../util/json-array';

export interface InterfaceAddress {
  family: 4 | 6;
  address: string;
  prefixlen: number;
  scope: string;
}

export interface InterfaceInfo {
  ifname: string;
  up: boolean;
  /** The bridge (or bond) it is a port of: the bridge's ports see the LAN's packets before the bridge does. */
  master?: string;
  addresses: InterfaceAddress[];
}

export function parseIpAddrJson(text: string): InterfaceInfo[] {
  const data = jsonArray(text);
  if (typeof data === 'string') throw new Error(`ip -j addr: ${data}`);
  const out: InterfaceInfo[] = [];
  for (const item of data) {
    if (typeof item !== 'object' || item === null) continue;
    const rec = item as Record<string, unknown>;
    if (typeof rec.ifname !== 'string') continue;
    const flags = Array.isArray(rec.flags) ? rec.flags : [];
    const addresses: InterfaceAddress[] = [];
    for (const a of Array.isArray(rec.addr_info) ? rec.addr_info : []) {
      // A null (or other non-object) entry would make ai.local throw a TypeError instead of being skipped.
      if (typeof a !== 'object' || a === null) continue;
      const ai = a as Record<string, unknown>;
      if (typeof ai.local !== 'string' || typeof ai.prefixlen !== 'number') continue;
      if (ai.family !== 'inet' && ai.family !== 'inet6') continue;
      addresses.push({
        family: ai.family === 'inet' ? 4 : 6,
        address: ai.local,
        prefixlen: ai.prefixlen,
        scope: typeof ai.scope === 'string' ? ai.scope : 'global',
      });
    }
    const info: InterfaceInfo = { ifname: rec.ifname, up: flags.includes('UP'), addresses };
    if (typeof rec.master === 'string') info.master = rec.master;
    out.push(info);
  }
  return out;
}
