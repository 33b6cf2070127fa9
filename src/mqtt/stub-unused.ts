// Stands in, in the bundle only (esbuild --alias in package.json), for packages
// MQTT.js can use but replyguard never does: `ws` (ws:// brokers), `socks`
// (SOCKS proxies) and `worker-timers` (browser timers). They made up about a
// third of the bundle. config-build accepts only mqtt:// and mqtts:// URLs, so
// none of these paths can be reached; if one were, it fails loudly.

function unavailable(): never {
  throw new Error('not built into replyguard: only mqtt:// and mqtts:// brokers are supported');
}

export default unavailable;
/** socks */
export const SocksClient = { createConnection: unavailable };
/** ws */
export const WebSocket = unavailable;
export const createWebSocketStream = unavailable;
/** worker-timers: MQTT.js picks them only in a browser; Node's own timers do the same job. */
export const setInterval = globalThis.setInterval;
export const clearInterval = globalThis.clearInterval;
export const setTimeout = globalThis.setTimeout;
export const clearTimeout = globalThis.clearTimeout;
