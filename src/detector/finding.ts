// A finding as status.json, the CLI and (later) MQTT show it.

export type FindingKind = 'reply_hijacked' | 'asymmetric_reply';

export interface Finding {
  id: string;
  kind: FindingKind;
  severity: 'problem' | 'info';
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
  fix: string[];
}
