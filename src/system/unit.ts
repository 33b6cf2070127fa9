// One part of the daemon (a sensor, the ruleset, the guard, an output): the
// daemon starts its parts in order, stops them in reverse, and reads each
// one's report when it builds status.json. Reading a report changes nothing.

export interface Unit<Report> {
  /** For the log ("probe: stop failed: …"). */
  readonly name: string;
  /** Resolves once started: a sensor after its first reading, where it takes one. */
  start(): Promise<void>;
  /** Ends its timers and children (and removes what it installed). */
  stop(): Promise<void>;
  /** Its part of status.json, as it is now: a copy, no side effects. */
  status(): Report;
}
