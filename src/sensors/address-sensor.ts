// Owns `ip -j addr show`: reads the router's addresses at start and then
// periodically, so that a DHCP renewal or a new LAN prefix is noticed.

import { type InterfaceInfo, parseIpAddrJson } from '../net/ip-addr-json';
import type { AddressSensorStatus } from '../status/status-schema';
import type { Logger } from '../system/log';
import { runCommand } from '../system/run-command';
import type { Unit } from '../system/unit';

export interface AddressSensorOptions {
  command: string;
  intervalMs: number;
  log: Logger;
  onInterfaces: (interfaces: InterfaceInfo[]) => void;
  /** The status changed (a reading failed, or worked again). */
  onStatus?: () => void;
}

export class AddressSensor implements Unit<AddressSensorStatus> {
  readonly name = 'addresses';
  private timer?: NodeJS.Timeout;
  private last = '';
  private readonly current: AddressSensorStatus = { state: 'starting' };

  constructor(private readonly opts: AddressSensorOptions) {}

  /** Reads once, then keeps polling; resolves after the first read. */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }

  status(): AddressSensorStatus {
    return { ...this.current };
  }

  private async poll(): Promise<void> {
    const res = await runCommand([this.opts.command, '-j', 'addr', 'show'], { timeoutMs: 5000 });
    if (res.error || res.code !== 0) {
      // BusyBox's ip prints its usage for -j and exits 1: say which ip it is, not the usage text.
      const usage = /BusyBox/.test(res.stderr + res.stdout) ? "BusyBox's ip has no -j (install ip-full)" : undefined;
      this.fail(
        `ip -j addr failed: ${usage ?? res.error ?? (res.stderr.trim().split('\n')[0] || `exit code ${res.code}`)}`,
      );
      return;
    }
    if (res.stdout === this.last) return this.ok();
    let list: InterfaceInfo[];
    try {
      list = parseIpAddrJson(res.stdout);
    } catch (err) {
      this.fail((err as Error).message);
      return;
    }
    this.last = res.stdout;
    this.ok();
    this.opts.onInterfaces(list);
  }

  private fail(why: string): void {
    const text = why.slice(0, 300);
    if (this.current.state === 'failed' && this.current.last_error === text) return;
    this.opts.log.warn(`address sensor: ${text}`);
    this.current.state = 'failed';
    this.current.last_error = text;
    this.current.since = new Date().toISOString();
    this.opts.onStatus?.();
  }

  private ok(): void {
    if (this.current.state === 'running') return;
    if (this.current.state === 'failed') this.opts.log.info('address sensor: reading again');
    this.current.state = 'running';
    delete this.current.last_error;
    this.current.since = new Date().toISOString();
    this.opts.onStatus?.();
  }
}
