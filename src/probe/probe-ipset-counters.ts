// Reads `ipset save <set>` of the fw3 probe's counting sets (hash:ip,port,ip
// with counters): `add replyguard_in4 192.168.50.10,tcp:443,203.0.113.50
// timeout 59 packets 3 bytes 152`. Pure; skips lines of other shapes. The
// peer port is unknown to this set type and reads as 0.

import { canonicalAddress } from '../net/ip-address';
import type { ProbeSetDump } from './probe-json';

const ADD_RE = /^add (\S+) ([^,\s]+),(tcp|udp):(\d{1,5}),([^,\s]+)(?: (.*))?$/;
const CREATE_RE = /^create (\S+) .*\bmaxelem (\d+)/;

export function parseProbeIpsetCounters(text: string): Record<string, ProbeSetDump> {
  // No prototype: a set named "__proto__" or "constructor" would otherwise find Object.prototype's
  // members (a TypeError on .elements.push, and `size` written into Object.prototype).
  const sets: Record<string, ProbeSetDump> = Object.create(null);
  const setOf = (name: string) => {
    const existing = sets[name];
    if (existing) return existing;
    const created: ProbeSetDump = { elements: [], skipped: 0 };
    sets[name] = created;
    return created;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const create = CREATE_RE.exec(line);
    if (create) {
      setOf(create[1]!).size = Number(create[2]);
      continue;
    }
    if (!line.startsWith('add ')) continue;
    const m = ADD_RE.exec(line);
    const name = line.split(' ')[1]!;
    const set = setOf(name);
    if (!m) {
      set.skipped++;
      continue;
    }
    const server = canonicalAddress(m[2]!);
    const peer = canonicalAddress(m[5]!);
    const port = Number(m[4]);
    const packets = /(?:^| )packets (\d+)/.exec(m[6] ?? '');
    // A count beyond 2^53 would lose precision (the nft reader skips those too).
    if (!server || !peer || port > 65535 || !packets || !Number.isSafeInteger(Number(packets[1]))) {
      set.skipped++;
      continue;
    }
    set.elements.push({
      proto: m[3] as 'tcp' | 'udp',
      server,
      serverPort: port,
      peer,
      peerPort: 0,
      packets: Number(packets[1]),
    });
  }
  return sets;
}
