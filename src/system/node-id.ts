// The router's host name as a node id: the one read of the host the MQTT settings need.

import { hostname } from 'node:os';
import { nodeIdFromHost } from '../mqtt/mqtt-settings';

export function defaultNodeId(): string {
  return nodeIdFromHost(hostname());
}
