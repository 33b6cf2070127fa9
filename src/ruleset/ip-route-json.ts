// Pure loader: `ip -j route show table all` (and -6) → routes per table.

import { parseJsonArray } from './ip-rule-json';
import type { LoadIssue, Route } from './model';

export interface IpRouteLoad {
  routes: Route[];
  issues: LoadIssue[];
}

export function loadIpRouteJson(text: string, family: 4 | 6 = 4): IpRouteLoad {
  const issues: LoadIssue[] = [];
  const source = family === 4 ? 'ip -j route' : 'ip -6 -j route';
  const routes: Route[] = [];
  for (const item of parseJsonArray(text, source, issues)) {
    if (typeof item !== 'object' || item === null) continue;
    const r = item as Record<string, unknown>;
    if (typeof r.dst !== 'string') continue;
    const fam: 4 | 6 = r.dst.includes(':') ? 6 : r.dst === 'default' ? family : 4;
    const route: Route = {
      table: typeof r.table === 'string' ? r.table : 'main',
      family: fam,
      type: typeof r.type === 'string' ? r.type : 'unicast',
      dst: r.dst,
    };
    if (typeof r.dev === 'string') route.dev = r.dev;
    if (typeof r.gateway === 'string') route.gateway = r.gateway;
    if (typeof r.metric === 'number') route.metric = r.metric;
    routes.push(route);
  }
  return { routes, issues };
}
