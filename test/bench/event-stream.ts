// A deterministic stream of realistic `conntrack -E -o extended,id,timestamp`
// lines for the benchmarks: NEW/UPDATE/DESTROY of many flows, IPv4 and IPv6,
// TCP/UDP/ICMP, with a hijacked reply (the incident's pattern) now and then.

export interface StreamOptions {
  events: number;
  flows: number;
  /** One hijack per this many events. */
  hijackEvery: number;
  seed?: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function eventLines(opts: StreamOptions): string[] {
  const rand = rng(opts.seed ?? 1);
  const lines: string[] = [];
  let ts = 1795560000;
  for (let i = 0; i < opts.events; i++) {
    ts += 0.00001;
    const t = `[${ts.toFixed(6)}]\t`;
    const flow = Math.floor(rand() * opts.flows);
    const id = 1000000 + flow;
    if (i % opts.hijackEvery === opts.hijackEvery - 1) {
      const port = 30000 + (i % 30000);
      lines.push(
        `${t}    [NEW] ipv4     2 tcp      6 300 ESTABLISHED src=192.168.1.10 dst=203.0.113.${flow % 250} sport=443 dport=${port} [UNREPLIED] src=192.168.1.2 dst=192.168.1.10 sport=7892 dport=443 id=${id}`,
      );
      continue;
    }
    const host = `192.168.1.${20 + (flow % 200)}`;
    const sport = 10000 + (flow % 50000);
    const v6 = flow % 5 === 0;
    const src = v6 ? `fd00::${(flow % 200).toString(16)}` : host;
    const dst = v6 ? `2001:db8::${(flow % 999).toString(16)}` : `198.51.100.${flow % 250}`;
    const fam = v6 ? 'ipv6     10' : 'ipv4     2';
    const kind = rand();
    const r = rand();
    if (r < 0.15) {
      lines.push(
        `${t}    [NEW] ${fam} udp      17 30 src=${src} dst=${dst} sport=${sport} dport=53 [UNREPLIED] src=${dst} dst=${src} sport=53 dport=${sport} id=${id}`,
      );
    } else if (r < 0.17) {
      lines.push(
        `${t}    [NEW] ${fam} ${v6 ? 'icmpv6   58' : 'icmp     1'} 30 src=${src} dst=${dst} type=8 code=0 id=${flow % 65535} [UNREPLIED] src=${dst} dst=${src} type=0 code=0 id=${flow % 65535} id=${id}`,
      );
    } else if (kind < 0.4) {
      lines.push(
        `${t}    [NEW] ${fam} tcp      6 120 SYN_SENT src=${src} dst=${dst} sport=${sport} dport=443 [UNREPLIED] src=${dst} dst=${src} sport=443 dport=${sport} id=${id}`,
      );
    } else if (kind < 0.7) {
      lines.push(
        `${t} [UPDATE] ${fam} tcp      6 432000 ESTABLISHED src=${src} dst=${dst} sport=${sport} dport=443 src=${dst} dst=${src} sport=443 dport=${sport} [ASSURED] id=${id}`,
      );
    } else {
      lines.push(
        `${t}[DESTROY] ${fam} tcp      6 TIME_WAIT src=${src} dst=${dst} sport=${sport} dport=443 src=${dst} dst=${src} sport=443 dport=${sport} [ASSURED] id=${id}`,
      );
    }
  }
  return lines;
}
