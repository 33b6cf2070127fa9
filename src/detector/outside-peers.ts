// The outside clients that hypothetical replies are walked towards (prediction,
// attribution, the guard plan). No packet is ever sent to them.

/**
 * Public addresses outside the documentation ranges (homeproxy's reserved set and OpenClash's
 * localnetwork6 hold those, so a reply walked towards one returns early) and outside the usual
 * bypass lists (private, CN).
 */
export const PUBLIC_PEERS: Record<4 | 6, string[]> = {
  4: ['93.184.216.34', '151.101.1.69'],
  6: ['2606:2800:220:1:248:1893:25c8:1946', '2a04:4e42::485'],
};
/** An ephemeral client port: outside every "common ports" list. */
export const PEER_PORT = 40000;
