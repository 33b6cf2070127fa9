// Every topic replyguard publishes or listens to, in one place, so that the
// output, the discovery payloads and the cleanup agree on them.

export type HaComponent = 'binary_sensor' | 'sensor' | 'event' | 'button' | 'switch';

export interface TopicRoots {
  discoveryPrefix: string;
  baseTopic: string;
  nodeId: string;
}

/** HA's rule for the node_id and object_id levels of a discovery topic. */
export const DISCOVERY_ID_RE = /^[a-zA-Z0-9_-]+$/;

export class Topics {
  /** `<base>/<node>`: everything replyguard publishes about this router lives below it. */
  readonly root: string;

  constructor(readonly roots: TopicRoots) {
    this.root = `${roots.baseTopic}/${roots.nodeId}`;
  }

  /** `online` / `offline`, retained; the will message. */
  get availability(): string {
    return `${this.root}/availability`;
  }
  /** Retained JSON summary the sensors read with value templates. */
  get state(): string {
    return `${this.root}/state`;
  }
  /** Retained plain `ON` / `OFF` for the problem binary_sensor. */
  get problem(): string {
    return `${this.root}/problem`;
  }
  /** Retained JSON attributes: the open findings. */
  get findings(): string {
    return `${this.root}/findings`;
  }
  /** Non-retained JSON events with `event_type`. */
  get event(): string {
    return `${this.root}/event`;
  }
  /** The "Re-check now" button's command topic. */
  get recheck(): string {
    return `${this.root}/recheck`;
  }
  /** Retained `ON` (guard = auto) / `OFF`: the Guard switch's state. */
  get guard(): string {
    return `${this.root}/guard`;
  }
  /** The Guard switch's command topic: `ON` / `OFF`. */
  get guardSet(): string {
    return `${this.root}/guard/set`;
  }
  /** Every state topic below root, for the cleanup when MQTT is switched off. */
  get rootWildcard(): string {
    return `${this.root}/#`;
  }
  forwardState(name: string): string {
    return `${this.root}/forward/${name}/state`;
  }

  /** HA's birth/will topic: `online` there means HA (re)started and wants discovery again. */
  get haStatus(): string {
    return `${this.roots.discoveryPrefix}/status`;
  }

  /** `<prefix>/<component>/<node>/<object>/config` (HA docs: MQTT discovery, "Discovery topic"). */
  discoveryConfig(component: HaComponent, objectId: string): string {
    return `${this.roots.discoveryPrefix}/${component}/${this.roots.nodeId}/${objectId}/config`;
  }

  /** Matches the discovery configs of this node for any component and object. */
  get discoveryWildcard(): string {
    return `${this.roots.discoveryPrefix}/+/${this.roots.nodeId}/+/config`;
  }

  /** True for a topic discoveryWildcard matches. */
  isOwnDiscoveryTopic(topic: string): boolean {
    const prefix = `${this.roots.discoveryPrefix}/`;
    if (!topic.startsWith(prefix) || !topic.endsWith('/config')) return false;
    const levels = topic.slice(prefix.length).split('/');
    return levels.length === 4 && levels[1] === this.roots.nodeId;
  }
}

/**
 * The object id of a forward's sensor. Forward names are `[A-Za-z0-9_-]` already
 * (config-build), which HA accepts in a discovery topic.
 */
export function forwardObjectId(name: string): string {
  return `forward_${name}`;
}
