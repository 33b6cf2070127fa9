// A small argument parser: flags with values, boolean flags, positionals.
// Unknown flags are errors, so a typo never silently changes behaviour.

import { parseAddress, splitEndpoint } from '../net/ip-address';

export class UsageError extends Error {}

export interface ParsedArgs {
  flags: Map<string, string | true>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], valued: readonly string[], booleans: readonly string[]): ParsedArgs {
  const flags = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (booleans.includes(name)) {
      if (eq > 0) throw new UsageError(`${name} takes no value`);
      flags.set(name, true);
    } else if (valued.includes(name)) {
      const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new UsageError(`${name} needs a value`);
      flags.set(name, value);
    } else {
      throw new UsageError(`unknown option ${name}`);
    }
  }
  return { flags, positionals };
}

export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** An IP:PORT flag (IPv6 as [addr]:port): an address and a port 1-65535, else a usage error naming the flag. */
export function endpointFlag(args: ParsedArgs, name: string): { ip: string; port: number } {
  const text = flagString(args, name);
  if (!text) throw new UsageError(`${name} IP:PORT is required`);
  const ep = splitEndpoint(text);
  if (!ep || !parseAddress(ep.ip))
    throw new UsageError(`${name} ${JSON.stringify(text)} is not IP:PORT (IPv6: [addr]:port)`);
  if (ep.port < 1 || ep.port > 65535) throw new UsageError(`${name}: port ${ep.port} out of range`);
  return ep;
}
