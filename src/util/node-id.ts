import { hostname } from 'node:os';

/** A name for this router that is safe in MQTT topics and entity ids. */
export function defaultNodeId(host: string = hostname()): string {
  const id = host.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  return id === '' ? 'replyguard' : id;
}
