// Transparent proxies replyguard does not know by name (sing-box, xray, mihomo run by hand …): recognised by
// what their rules do (recognize-proxy.ts), with the TUN device names such setups commonly use. VPN devices
// (tailscale, wg) are listed too: a mark routed into them takes a reply just as a proxy's TUN does.

/** Regular-expression sources matched at the start of a device name, any case. */
export const GENERIC_TUN_DEVICES: readonly string[] = [
  'tun\\d*',
  'sing-?box',
  'meta',
  'mihomo',
  'tproxy',
  'xray',
  'tailscale',
  'wg',
];
