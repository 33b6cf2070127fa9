// Owns `ip -j addr show`: reads the router's addresses at start and then
// periodically, so that a DHCP renewal or a new LAN prefix is noticed.

import type { Logger } from '../util/log';
import { runCommand } from '../util/run-command';
import { type InterfaceInfo, parseIpAddrJson } from './ip-addr-json';

export interface AddressSensorOptions {
  command: string;
  intervalMs: number;
  log: Logger;
  onInterfaces: (interfaces: InterfaceInfo[]) => void;
}

export class AddressSensor {
  private timer?: NodeJS.Timeout;
  private last = '';
  last_error?: string;

  constructor(private readonly opts: AddressSensorOptions) {}

  /** Reads once, then keeps polling; resolves after the first read. */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    const res = await runCommand([this.opts.command, '-j', 'addr', 'show'], { timeoutMs: 5000 });
    if (res.error || res.code !== 0) {
      const why = res.error ?? (res.stderr.trim() || `exit code ${res.code}`);
      if (why !== this.last_error) this.opts.log.warn(`address sensor: ip -j addr failed: ${why}`);
      this.last_error = why;
      return;
    }
    this.last_error = undefined;
    if (res.stdout === this.last) return;
    this.last = res.stdout;
    try {
      this.opts.onInterfaces(parseIpAddrJson(res.stdout));
    } catch (err) {
      this.opts.log.warn(`address sensor: ${(err as Error).message}`);
    }
  }
}
