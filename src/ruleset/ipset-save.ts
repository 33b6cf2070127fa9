// Pure loader: `ipset save` → named sets that iptables `-m set` rules look up.
// Each element becomes a model value per dimension of the set's type
// (hash:net → prefix; hash:ip,port → prefix . proto:port; bitmap:port → port …).

import type { LoadIssue, NamedSet, Value } from './model';
import { scalarValue } from './symbols';

export interface IpsetLoad {
  sets: NamedSet[];
  issues: LoadIssue[];
}

const SOURCE = 'ipset save';

/** The dimensions of an ipset type: "hash:ip,port" → ['ip', 'port']. */
export function ipsetDims(type: string): string[] {
  const [, dims = ''] = type.split(':');
  return dims.split(',');
}

function dimValue(dim: string, text: string, family: 4 | 6): Value | null {
  switch (dim) {
    case 'ip':
    case 'net': {
      // hash:ip may hold ranges "a-b" (ipset expands them on add, but save prints single addresses).
      const [a, b] = text.split('-');
      if (b !== undefined && a) {
        const lo = scalarValue(a, 'addr');
        const hi = scalarValue(b, 'addr');
        return lo && hi ? { kind: 'range', lo, hi } : null;
      }
      const v = scalarValue(text, 'addr');
      return v && v.kind === 'prefix' && v.family === family ? v : v;
    }
    case 'port': {
      // "tcp:80", "udp:53", "80", "tcp:8000-8100"
      const [proto, port] = text.includes(':') ? text.split(':') : ['', text];
      const range = (port ?? '').split('-');
      const lo = Number(range[0]);
      const hi = range[1] !== undefined ? Number(range[1]) : lo;
      if (!Number.isFinite(lo) || !Number.isFinite(hi) || range[0] === '') return null;
      const pv: Value =
        lo === hi ? { kind: 'num', n: lo } : { kind: 'range', lo: { kind: 'num', n: lo }, hi: { kind: 'num', n: hi } };
      if (!proto) return pv;
      const p = scalarValue(proto, 'proto');
      return p ? { kind: 'concat', parts: [p, pv] } : null;
    }
    case 'mac':
      return { kind: 'str', s: text.toLowerCase() };
    case 'iface':
      return { kind: 'str', s: text };
    case 'mark':
      return scalarValue(text, 'num');
    default:
      return null;
  }
}

export function loadIpsetSave(text: string): IpsetLoad {
  const sets: NamedSet[] = [];
  const issues: LoadIssue[] = [];
  const byName = new Map<string, { set: NamedSet; dims: string[]; family: 4 | 6; bad: number }>();
  text.split('\n').forEach((raw, idx) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const words = line.split(/\s+/);
    if (words[0] === 'create' && words[1] && words[2]) {
      const type = words[2];
      const famIdx = words.indexOf('family');
      const family = famIdx > 0 && words[famIdx + 1] === 'inet6' ? 6 : 4;
      const dims = ipsetDims(type);
      const known = type.startsWith('hash:') || type.startsWith('bitmap:');
      if (!known || dims.some((d) => !['ip', 'net', 'port', 'mac', 'iface', 'mark'].includes(d)))
        issues.push({
          severity: 'warning',
          source: SOURCE,
          message: `line ${idx + 1}: set ${words[1]} has type ${type}, which replyguard does not model; lookups in it are maybe`,
        });
      const set: NamedSet = { name: words[1], keyType: dims, flags: [], elements: [], ipsetType: type };
      if (!known) set.flags.push('replyguard-incomplete');
      byName.set(words[1], { set, dims, family, bad: 0 });
      sets.push(set);
    } else if (words[0] === 'add' && words[1] && words[2]) {
      const entry = byName.get(words[1]);
      if (!entry) {
        issues.push({
          severity: 'warning',
          source: SOURCE,
          message: `line ${idx + 1}: add to unknown set ${words[1]}`,
        });
        return;
      }
      // "nomatch" elements exclude; treat the set as incomplete rather than guess.
      if (words.includes('nomatch')) {
        if (!entry.set.flags.includes('replyguard-incomplete')) entry.set.flags.push('replyguard-incomplete');
        return;
      }
      const parts = words[2].split(',');
      const values = entry.dims.map((d, i) => dimValue(d, parts[i] ?? '', entry.family));
      if (values.length !== parts.length || !values.every((v): v is Value => v !== null)) {
        entry.bad++;
        if (entry.bad === 1)
          issues.push({
            severity: 'warning',
            source: SOURCE,
            message: `line ${idx + 1}: unreadable element '${words[2]}' in ${words[1]}; lookups in it are maybe`,
          });
        if (!entry.set.flags.includes('replyguard-incomplete')) entry.set.flags.push('replyguard-incomplete');
        return;
      }
      entry.set.elements.push(values.length === 1 ? values[0]! : { kind: 'concat', parts: values });
    } else {
      issues.push({
        severity: 'warning',
        source: SOURCE,
        message: `line ${idx + 1}: not understood: ${line.slice(0, 60)}`,
      });
    }
  });
  return { sets, issues };
}
