// Something that shows the daemon's status somewhere (MQTT, …). Outputs only
// show: they never decide what is broken.

import type { StatusEvent } from '../status/status-events';
import type { StatusDocument } from '../status/status-schema';

export interface StatusOutput {
  readonly name: string;
  start(): Promise<void>;
  /** Called on clean stop; must not throw and must finish within a few seconds. */
  stop(): Promise<void>;
  /** After every status write: the new document and the events since the previous one. */
  publish(doc: StatusDocument, events: readonly StatusEvent[]): void;
}
