// A finding as status.json, the CLI and MQTT show it.

import type { ReplyPacket } from '../ruleset/packet';
import type { Fix } from './fix';

/** The rule that takes the replies, as status.json shows it. */
export interface RuleRef {
  /** nft | iptables | ip6tables | route */
  backend: string;
  /** "inet fw4", "ip nat" */
  table: string;
  chain: string;
  position: number | null;
  handle?: number;
  text: string;
}

export type FindingKind = 'reply_hijacked' | 'asymmetric_reply' | 'reply_at_risk';

export interface Finding {
  id: string;
  kind: FindingKind;
  severity: 'problem' | 'warning' | 'info';
  /** active: seen within problem_hold and not followed by healthy replies; resolved otherwise. */
  state: 'active' | 'resolved';
  proto: 'tcp' | 'udp';
  server: string;
  forward?: string;
  peers: string[];
  count: number;
  first_seen: string;
  last_seen: string;
  /** Where the replies went instead of the peer ("192.168.50.2:7892"). */
  diverted_to?: string;
  proxy_hint?: string;
  summary: string;
  evidence: string[];
  /** The detector's own fixes as text (without a ruleset), so `analyze` (offline) and the daemon agree. */
  fix: string[];
  /**
   * The fixes to show, typed and in the order of orderFixes (src/detector/fix.ts): the detector's, or with
   * the ruleset's attribution merged in. Absent in status files of older versions.
   */
  typed_fixes?: Fix[];
  /** The rule that takes (reply_hijacked, attributed) or would take (reply_at_risk) the replies. */
  rule?: RuleRef | null;
  /** The proxy owning that rule, e.g. "OpenClash (fw4)". */
  proxy?: string;
  /**
   * reply_hijacked, attributed: the proxy's own option / access-list entry and the guard for the exact
   * chain that took the replies. `fix` stays the detector's, so `analyze` (offline) and the daemon agree.
   */
  proxy_fix?: string[];
  /** reply_hijacked, attributed: the text of typed_fixes, for readers of older versions. */
  fixes?: string[];
  /** reply_at_risk: false when a match could not be decided ("possibly"). */
  certain?: boolean;
  /** reply_at_risk: the reply packet that breaks first. */
  packet?: ReplyPacket;
  /** "first seen 3 min after OpenClash (fw4)'s rules changed (chain openclash (inet fw4): +2 rules)". */
  since_change?: string;
}
