// Something that shows the daemon's status somewhere (MQTT, …). Outputs only
// show: they never decide what is broken. Like the daemon's other parts, an
// output starts, stops and reports its own state (status.json's outputs.<name>).

import type { StatusEvent } from '../status/status-events';
import type { OutputsStatus, StatusDocument } from '../status/status-schema';
import type { Unit } from '../system/unit';

export interface StatusOutput extends Unit<OutputsStatus[keyof OutputsStatus]> {
  readonly name: keyof OutputsStatus;
  /** Called on clean stop; must not throw and must finish within a few seconds. */
  stop(): Promise<void>;
  /** After every status write: the new document and the events since the previous one. */
  publish(doc: StatusDocument, events: readonly StatusEvent[]): void;
}
