// The port hints live with the proxies (src/proxies/registry.ts); the detector and the MQTT state read them here.

export type { NatChainCandidate } from '../proxies/proxy-module';
export { type ProxyHint, proxyHintForPort } from '../proxies/registry';
