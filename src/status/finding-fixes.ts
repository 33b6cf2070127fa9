// What the outputs (`replyguard status`, MQTT) show of a finding's fixes and
// proxy, read from a status document — also one written by an older version,
// which has the text alone. The order is the document's: orderFixes made it.

import type { Finding } from '../detector/finding';
import type { Fix } from '../detector/fix';
import { proxyHintForPort } from '../detector/proxy-hints';

/** A fix as a document shows it: typed, or (older documents) its text alone. */
export type ShownFix = Pick<Fix, 'text'> & Partial<Omit<Fix, 'text'>>;

/** The fixes to show, in order. */
export function findingFixes(f: Finding): ShownFix[] {
  if (Array.isArray(f.typed_fixes)) return f.typed_fixes;
  // Older documents: the attributed order when there is one, else the proxy's lines before the detector's.
  const lines = f.fixes ?? [...(f.proxy_fix ?? []), ...f.fix];
  return lines.map((text) => ({ text }));
}

/** The proxy a finding names: the one the ruleset's attribution found, else a hint, else the port's default owner. */
export function findingProxy(f: Finding): string | undefined {
  if (f.proxy) return f.proxy;
  if (f.proxy_hint) return f.proxy_hint;
  const port = Number(f.diverted_to?.match(/:(\d+)$/)?.[1]);
  return Number.isInteger(port) ? proxyHintForPort(port)?.proxy : undefined;
}
