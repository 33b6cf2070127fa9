// Decides, from successive readings of the probe's counters, which reply
// flows were swallowed by this router and which passed. Pure, bounded state.
//
// Per flow the probe counts reply packets where they enter (in) and where
// they leave towards the main router (out). A packet takes microseconds from
// one hook to the other, and a reading reads the in sets before the out sets,
// so a reply passing during a reading shows as out rather than in: the deficit
// D = max(0, in − out) of one reading is at most the packets swallowed so far
// (a reply would have to stay between the hooks for the whole reading to add
// one). Swallowed packets never come back, so the rule
//
//   lost(k) = max(lost(k−1), min(D(k−1), D(k)))
//
// counts a packet as swallowed only when it is missing in two readings in a
// row (the grace period, which covers even that unlikely straggler; the
// sensor takes the second reading soon after a deficit appears, see `pending`). Any lost packet makes the flow swallowed —
// TPROXY/TUN (3 in, 0 out) as well as nat REDIRECT (3 in, 2 out: the SYN-ACK
// passes, the next packet is redirected), so every proxy mode reads the same.
// A flow whose new packets all left is `passed` (asymmetric, healthy) — said
// one reading later, when nothing of it went missing in between: under nat
// REDIRECT the SYN-ACK passes and only the server's next packet is taken, and
// a reading may fall between the two.

import { flowKey, type ProbeSample } from '../probe/probe-sample';

export interface ProbeObservation {
  kind: 'swallowed' | 'passed';
  proto: 'tcp' | 'udp';
  server: string;
  serverPort: number;
  peer: string;
  peerPort: number;
  /** Packets of the flow counted in and out since it was first read. */
  packetsIn: number;
  packetsOut: number;
  /** Packets judged swallowed so far. */
  lost: number;
  /** From the first reading of the flow to this one. */
  windowMs: number;
  /** The first observation of this kind for this flow. */
  first: boolean;
}

interface FlowState {
  firstAt: number;
  in: number;
  out: number;
  /** Deficit of the previous reading. */
  deficit: number;
  lost: number;
  swallowedReported: boolean;
  passedReported: boolean;
  /** Replies left at the last reading; reported as passed if the next reading shows no loss. */
  passUnconfirmed: boolean;
  /** Counts at the first reading (the window starts there). */
  baseIn: number;
  baseOut: number;
}

export interface ProbeJudgement {
  observations: ProbeObservation[];
  /** A deficit not yet confirmed: read again soon rather than after a whole interval. */
  pending: boolean;
  /** Flows in the reading. */
  flows: number;
}

/**
 * Whether replies passing now count as passed for a flow that lost some before. A TCP connection
 * that lost a reply stays broken — its later packets (nat REDIRECT: the server's RST) prove
 * nothing. A UDP flow lives on (WireGuard keeps its ports): once its replies pass again, the
 * fix worked. A flow counted per peer address (the fw3 probe, peer port 0) holds several
 * connections: a few replies passing in one interval (a handshake) show a new one works.
 */
function canPassAgain(f: { proto: string; peerPort: number }, lost: number, passedNow: number): boolean {
  if (lost === 0 || f.proto === 'udp') return true;
  return f.peerPort === 0 && passedNow >= 3;
}

export class ProbeJudge {
  private readonly flows = new Map<string, FlowState>();
  private generation?: number;
  /** Flows dropped because the table was full. */
  evicted = 0;

  constructor(private readonly maxFlows: number) {}

  get size(): number {
    return this.flows.size;
  }

  judge(sample: ProbeSample): ProbeJudgement {
    if (sample.generation !== this.generation) {
      // A new install: its counters start from zero, nothing carries over.
      this.flows.clear();
      this.generation = sample.generation;
    }
    const observations: ProbeObservation[] = [];
    let pending = false;
    const seen = new Set<string>();
    for (const f of sample.flows) {
      const key = flowKey(f);
      seen.add(key);
      // A flow the full out set could not take would look swallowed.
      if (sample.outFull && f.out === 0) continue;
      const deficit = Math.max(0, f.in - f.out);
      let st = this.flows.get(key);
      if (!st) {
        if (this.flows.size >= this.maxFlows) {
          this.evicted++;
          continue;
        }
        st = {
          firstAt: sample.at,
          in: f.in,
          out: f.out,
          deficit,
          lost: 0,
          swallowedReported: false,
          passedReported: false,
          passUnconfirmed: deficit === 0 && f.out > 0,
          baseIn: 0,
          baseOut: 0,
        };
        this.flows.set(key, st);
        if (deficit > 0) pending = true;
        continue;
      }
      if (f.in < st.in || f.out < st.out) {
        // An element timed out and came back: its counter restarted. Start the flow over.
        Object.assign(st, { in: f.in, out: f.out, deficit, lost: deficit, baseIn: f.in, baseOut: f.out });
        st.firstAt = sample.at;
        continue;
      }
      const lost = Math.max(st.lost, Math.min(st.deficit, deficit));
      const passedNow = f.out - st.out;
      const newlyLost = lost > st.lost;
      st.lost = lost;
      st.deficit = deficit;
      st.in = f.in;
      st.out = f.out;
      const settled = !newlyLost && deficit === lost;
      if (newlyLost) observations.push(this.observe('swallowed', f, st, sample.at));
      else if (settled && st.passUnconfirmed) observations.push(this.observe('passed', f, st, sample.at));
      st.passUnconfirmed = settled && passedNow > 0 && canPassAgain(f, lost, passedNow);
      if (deficit > lost) pending = true;
    }
    // Flows gone from both sets timed out.
    for (const key of this.flows.keys()) if (!seen.has(key)) this.flows.delete(key);
    return { observations, pending, flows: sample.flows.length };
  }

  private observe(
    kind: ProbeObservation['kind'],
    f: ProbeSample['flows'][number],
    st: FlowState,
    at: number,
  ): ProbeObservation {
    const first = kind === 'swallowed' ? !st.swallowedReported : !st.passedReported;
    if (kind === 'swallowed') st.swallowedReported = true;
    else st.passedReported = true;
    return {
      kind,
      proto: f.proto,
      server: f.server,
      serverPort: f.serverPort,
      peer: f.peer,
      peerPort: f.peerPort,
      packetsIn: f.in - st.baseIn,
      packetsOut: f.out - st.baseOut,
      lost: st.lost,
      windowMs: at - st.firstAt,
      first,
    };
  }
}
