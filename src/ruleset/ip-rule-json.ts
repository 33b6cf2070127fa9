// Pure loader: `ip -j rule` (and `ip -6 -j rule`) → policy routing rules.

import { jsonArray } from '../util/json-array';
import type { IpRule, LoadIssue } from './model';

export interface IpRuleLoad {
  rules: IpRule[];
  issues: LoadIssue[];
}

/** The items of an `ip -j` dump; empty text is none, text that is no JSON array is an issue. */
export function parseJsonArray(text: string, source: string, issues: LoadIssue[]): unknown[] {
  if (text.trim() === '') return [];
  const data = jsonArray(text);
  if (typeof data !== 'string') return data;
  const hint = data.startsWith('not JSON') ? '; is the dump truncated?' : '';
  issues.push({ severity: 'error', source, message: `${data}${hint}` });
  return [];
}

function toNum(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v)) return Number(v);
  return undefined;
}

export function loadIpRuleJson(text: string, family: 4 | 6 = 4): IpRuleLoad {
  const issues: IpRuleLoad['issues'] = [];
  const source = family === 4 ? 'ip -j rule' : 'ip -6 -j rule';
  const rules: IpRule[] = [];
  for (const item of parseJsonArray(text, source, issues)) {
    if (typeof item !== 'object' || item === null) continue;
    const r = item as Record<string, unknown>;
    const priority = toNum(r.priority);
    if (priority === undefined) continue;
    // Not String() on an object: one whose toString is not a function ({"toString": 1}) makes it throw.
    const table = typeof r.table === 'object' || r.table === undefined ? '' : String(r.table);
    const rule: IpRule = { priority, table, family };
    if (r.not === true || r.not === null) rule.not = true;
    if (typeof r.src === 'string' && r.src !== 'all')
      rule.src = typeof r.srclen === 'number' ? `${r.src}/${r.srclen}` : r.src;
    if (typeof r.dst === 'string' && r.dst !== 'all')
      rule.dst = typeof r.dstlen === 'number' ? `${r.dst}/${r.dstlen}` : r.dst;
    if (typeof r.iif === 'string') rule.iif = r.iif;
    const mark = toNum(r.fwmark);
    if (mark !== undefined) rule.fwmark = mark;
    const mask = toNum(r.fwmask);
    if (mask !== undefined) rule.fwmask = mask;
    if (typeof r.action === 'string') rule.action = r.action;
    if (!r.table && !r.action && r.goto === undefined && typeof r.type === 'string') rule.action = r.type;
    rules.push(rule);
  }
  return { rules, issues };
}
