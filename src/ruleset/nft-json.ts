// Pure loader: `nft -j list ruleset` → model tables. Never throws: what it
// cannot read becomes an "unknown" term (evaluated as maybe) plus an issue
// naming the rule and the expression.

import type {
  Chain,
  CmpOp,
  Expr,
  Hook,
  Key,
  LoadIssue,
  Match,
  NamedSet,
  Op,
  Rule,
  Table,
  Value,
  Verdict,
} from './model';
import { keyKind, scalarValue, typeKind, type ValueKind } from './symbols';

type J = unknown;
type Obj = Record<string, J>;

const SOURCE = 'nft -j';

export interface NftLoad {
  tables: Table[];
  issues: LoadIssue[];
}

function isObj(v: J): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The single key of a one-key object ({"meta": {...}} → ["meta", {...}]). */
function only(v: J): [string, J] | null {
  if (!isObj(v)) return null;
  const keys = Object.keys(v);
  return keys.length === 1 ? [keys[0]!, v[keys[0]!]] : null;
}

const HOOKS = new Set(['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress']);

export interface NftLoadOptions {
  /** "family name" of tables to leave out (iptables-nft tables that iptables-save shows whole). */
  skipTables?: Set<string>;
}

export function loadNftJson(text: string, opts: NftLoadOptions = {}): NftLoad {
  const issues: LoadIssue[] = [];
  const tables: Table[] = [];
  const issue = (message: string, severity: LoadIssue['severity'] = 'warning') =>
    issues.push({ severity, source: SOURCE, message });
  if (text.trim() === '') return { tables, issues };
  let doc: J;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    issue(`not JSON (${(err as Error).message}); is the dump truncated?`, 'error');
    return { tables, issues };
  }
  const items = isObj(doc) && Array.isArray(doc.nftables) ? doc.nftables : null;
  if (!items) {
    issue('not an `nft -j list ruleset` document (no "nftables" array)', 'error');
    return { tables, issues };
  }
  const byKey = new Map<string, Table>();
  const skipped = new Set<string>();
  const tableOf = (family: J, name: J): Table | null => {
    if (typeof family !== 'string' || typeof name !== 'string') return null;
    const key = `${family} ${name}`;
    if (opts.skipTables?.has(key)) {
      skipped.add(key);
      return null;
    }
    let t = byKey.get(key);
    if (!t) {
      t = { backend: 'nft', family, name, chains: [], sets: [] };
      byKey.set(key, t);
      tables.push(t);
    }
    return t;
  };
  const chainOf = (t: Table, name: string): Chain => {
    let c = t.chains.find((x) => x.name === name);
    if (!c) {
      c = { name, rules: [] };
      t.chains.push(c);
    }
    return c;
  };
  const loadItem = (item: J, index: number): void => {
    const kv = only(item);
    if (!kv || !isObj(kv[1])) {
      issue(`item ${index}: not an object with one key; skipped`);
      return;
    }
    const [kind, body] = kv as [string, Obj];
    if (kind === 'metainfo') return;
    if (kind === 'table') {
      tableOf(body.family, body.name);
      return;
    }
    const t = tableOf(body.family, body.table);
    if (!t && skipped.has(`${String(body.family)} ${String(body.table)}`)) return;
    if (!t) {
      if (['chain', 'rule', 'set', 'map'].includes(kind)) issue(`item ${index}: ${kind} without family/table; skipped`);
      return;
    }
    if (kind === 'chain') {
      if (typeof body.name !== 'string') {
        issue(`item ${index}: chain without a name; skipped`);
        return;
      }
      const c = chainOf(t, body.name);
      if (typeof body.hook === 'string' && HOOKS.has(body.hook)) {
        c.hook = body.hook as Hook;
        c.type = body.type === 'nat' || body.type === 'route' ? body.type : 'filter';
        // JSON allows numbers no priority has (1e309 reads as Infinity): such a chain is taken as priority 0.
        if (typeof body.prio === 'number' && !Number.isFinite(body.prio))
          issue(`item ${index}: chain ${body.name}: priority ${body.prio} is not a number nft writes; taken as 0`);
        c.priority = typeof body.prio === 'number' && Number.isFinite(body.prio) ? body.prio : 0;
        c.policy = body.policy === 'drop' ? 'drop' : 'accept';
      }
    } else if (kind === 'rule') {
      if (typeof body.chain !== 'string') {
        issue(`item ${index}: rule without a chain; skipped`);
        return;
      }
      const c = chainOf(t, body.chain);
      c.rules.push(loadRule(body, c.rules.length + 1, `${t.family} ${t.name}`, issue));
    } else if (kind === 'set' || kind === 'map') {
      const s = loadSet(body, kind === 'map', issue);
      if (s) t.sets.push(s);
    }
  };
  items.forEach((item, index) => {
    // The readers below recurse and print values with String(): an item nested deeper than nft ever
    // nests (a corrupt or hostile dump) would overflow the stack, and an object whose toString is not
    // a function makes String() throw. Either skips that item only, so the loader keeps its promise.
    if (nestedDeeper(item, MAX_DEPTH)) {
      issue(`item ${index}: nested deeper than ${MAX_DEPTH} levels; skipped`);
      return;
    }
    try {
      loadItem(item, index);
    } catch (err) {
      issue(`item ${index}: unreadable (${(err as Error).message}); skipped`);
    }
  });
  return { tables, issues };
}

/** nft -j nests an item about 10 levels deep at most (rule → expr → match → concat → range …). */
const MAX_DEPTH = 64;

/** Whether v has more than max levels of arrays/objects; iterative, so any depth is safe to ask about. */
function nestedDeeper(v: J, max: number): boolean {
  const stack: Array<[J, number]> = [[v, 0]];
  while (stack.length > 0) {
    const [x, depth] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(x) ? x : Object.values(x)) stack.push([child, depth + 1]);
  }
  return false;
}

// ---------------------------------------------------------------------------
// Keys and values

function loadKey(raw: J): Key | null {
  const kv = only(raw);
  if (!kv) return null;
  const [k, b] = kv;
  if (!isObj(b) && k !== 'concat' && !['&', '|', '^', '>>', '<<'].includes(k)) return null;
  switch (k) {
    case 'meta':
      return typeof (b as Obj).key === 'string' ? { kind: 'meta', key: (b as Obj).key as string } : null;
    case 'payload': {
      const p = b as Obj;
      if (typeof p.protocol === 'string' && typeof p.field === 'string')
        return { kind: 'payload', proto: p.protocol, field: p.field };
      return null; // raw payload (base/offset/len)
    }
    case 'ct': {
      const c = b as Obj;
      if (typeof c.key !== 'string') return null;
      return typeof c.dir === 'string' ? { kind: 'ct', key: c.key, dir: c.dir } : { kind: 'ct', key: c.key };
    }
    case 'socket':
      return typeof (b as Obj).key === 'string' ? { kind: 'socket', key: (b as Obj).key as string } : null;
    case 'fib': {
      const f = b as Obj;
      const flags = Array.isArray(f.flags) ? f.flags.filter((x): x is string => typeof x === 'string') : [];
      return typeof f.result === 'string' ? { kind: 'fib', result: f.result, flags } : null;
    }
    case 'concat': {
      if (!Array.isArray(b)) return null;
      const parts = b.map(loadKey);
      return parts.every((p): p is Key => p !== null) ? { kind: 'concat', parts } : null;
    }
    case '&':
    case '|':
    case '^':
    case '>>':
    case '<<': {
      if (!Array.isArray(b) || b.length !== 2) return null;
      const left = loadKey(b[0]);
      if (!left) return null;
      const kind = keyKind(left);
      const right = loadValue(b[1], Array.isArray(kind) ? 'num' : kind);
      return right ? { kind: 'binop', op: k, left, right } : null;
    }
    default:
      return null;
  }
}

export function loadValue(raw: J, kind: ValueKind | ValueKind[]): Value | null {
  if (typeof raw === 'string' && raw.startsWith('@')) return { kind: 'setref', name: raw.slice(1) };
  if (Array.isArray(kind)) {
    const kv = only(raw);
    if (kv && kv[0] === 'concat' && Array.isArray(kv[1])) {
      const parts = kv[1].map((p, i) => loadValue(p, kind[i] ?? 'num'));
      return parts.every((p): p is Value => p !== null) ? { kind: 'concat', parts } : null;
    }
    if (kv && kv[0] === 'set' && Array.isArray(kv[1])) {
      const elements = kv[1].map((e) => loadValue(e, kind));
      return elements.every((e): e is Value => e !== null) ? { kind: 'set', elements } : null;
    }
    if (kv && kv[0] === 'elem' && isObj(kv[1])) return loadValue(kv[1].val, kind);
    return null;
  }
  if (typeof raw === 'string' || typeof raw === 'number') return scalarValue(raw, kind);
  if (Array.isArray(raw)) {
    // A list of flags/states: OR of their bits.
    if (!raw.every((x) => typeof x === 'string' || typeof x === 'number')) return null;
    return scalarValue(raw.join(','), kind);
  }
  const kv = only(raw);
  if (!kv) return null;
  const [k, b] = kv;
  if (k === 'set' && Array.isArray(b)) {
    const elements = b.map((e) => loadValue(e, kind));
    return elements.every((e): e is Value => e !== null) ? { kind: 'set', elements } : null;
  }
  if (k === 'set' && (typeof b === 'string' || typeof b === 'number')) {
    const e = loadValue(b, kind);
    return e ? { kind: 'set', elements: [e] } : null;
  }
  if (k === 'prefix' && isObj(b) && typeof b.addr === 'string' && typeof b.len === 'number')
    return scalarValue(`${b.addr}/${b.len}`, 'addr');
  if (k === 'range' && Array.isArray(b) && b.length === 2) {
    const lo = loadValue(b[0], kind);
    const hi = loadValue(b[1], kind);
    return lo && hi ? { kind: 'range', lo, hi } : null;
  }
  if (k === 'elem' && isObj(b)) return loadValue(b.val, kind);
  return null;
}

// ---------------------------------------------------------------------------
// Rules

function loadRule(body: Obj, position: number, where: string, issue: (m: string) => void): Rule {
  const handle = typeof body.handle === 'number' ? body.handle : undefined;
  const matches: Match[] = [];
  const ops: Op[] = [];
  const exprs = Array.isArray(body.expr) ? body.expr : [];
  const textParts: string[] = [];
  const name = `rule ${handle ?? `#${position}`} in chain ${where} ${String(body.chain)}`;
  const unknown = (what: string, raw: J): string => {
    const text = renderExpr(raw);
    issue(`${name}: ${what} '${text}' → treated as maybe`);
    return text;
  };
  for (const e of exprs) {
    textParts.push(renderExpr(e));
    const kv = only(e);
    if (!kv) {
      const text = unknown('unreadable expression', e);
      matches.push({ kind: 'unknown', text, why: 'unreadable expression' });
      continue;
    }
    const [k, b] = kv;
    const bo: Obj = isObj(b) ? b : {};
    switch (k) {
      case 'match': {
        const key = loadKey(bo.left);
        const kind = key ? keyKind(key) : null;
        const value = key && kind ? loadValue(bo.right, kind) : null;
        const op = typeof bo.op === 'string' ? bo.op : '==';
        if (!key || !value || !['==', '!=', '<', '>', '<=', '>=', 'in'].includes(op)) {
          const what = !key ? 'unknown expression' : 'unreadable value in';
          const text = unknown(what, e);
          matches.push({ kind: 'unknown', text, why: `${what} ${text}` });
        } else {
          // nft -j says "in" for a bit test (`ct state new`, `tcp flags syn`) and "==" for equality.
          matches.push({ kind: 'cmp', key, op: op as CmpOp, value });
        }
        break;
      }
      case 'counter':
        ops.push({
          kind: 'counter',
          ...(typeof bo.packets === 'number' ? { packets: bo.packets } : {}),
          ...(typeof bo.bytes === 'number' ? { bytes: bo.bytes } : {}),
        });
        break;
      case 'log':
        ops.push({ kind: 'log', ...(typeof bo.prefix === 'string' ? { prefix: bo.prefix } : {}) });
        break;
      case 'mangle': {
        const target = loadKey(bo.key);
        const value = loadExpr(bo.value);
        if (target?.kind === 'meta' && target.key === 'mark' && value)
          ops.push({ kind: 'set-mark', target: 'meta', value });
        else if (target?.kind === 'ct' && target.key === 'mark' && value)
          ops.push({ kind: 'set-mark', target: 'ct', value });
        else {
          const text = renderExpr(e);
          ops.push({
            kind: 'unknown-statement',
            text,
            why: 'a statement replyguard does not model (no effect assumed)',
          });
        }
        break;
      }
      case 'accept':
      case 'drop':
      case 'return':
      case 'continue':
      case 'queue':
        ops.push({ kind: k });
        break;
      case 'reject':
        ops.push({ kind: 'reject' });
        break;
      case 'jump':
      case 'goto':
        if (typeof bo.target === 'string') ops.push({ kind: k, chain: bo.target });
        else ops.push({ kind: 'unknown', text: renderExpr(e), why: `${k} without a target` });
        break;
      case 'redirect':
        ops.push({ kind: 'redirect', ...(typeof bo.port === 'number' ? { port: bo.port } : {}) });
        break;
      case 'dnat':
      case 'snat':
        ops.push({
          kind: k,
          ...(typeof bo.addr === 'string' ? { addr: bo.addr } : {}),
          ...(typeof bo.port === 'number' ? { port: bo.port } : {}),
        });
        break;
      case 'masquerade':
        ops.push({ kind: 'masquerade' });
        break;
      case 'tproxy':
        ops.push({
          kind: 'tproxy',
          terminal: false,
          ...(typeof bo.addr === 'string' ? { addr: bo.addr } : {}),
          ...(typeof bo.port === 'number' ? { port: bo.port } : {}),
        });
        break;
      case 'vmap': {
        const key = loadKey(bo.key);
        const kind = key ? keyKind(key) : null;
        const map = key && kind !== null ? loadVmap(bo.data, kind) : null;
        if (key && map) ops.push({ kind: 'vmap', key, map });
        else ops.push({ kind: 'unknown', text: unknown('unreadable verdict map', e), why: 'unreadable verdict map' });
        break;
      }
      case 'xt': {
        // iptables-nft rules that nft cannot translate: the iptables-save dump has them readable.
        const text = unknown(`iptables extension (xt ${String(bo.type)})`, e);
        if (bo.type === 'target')
          ops.push({ kind: 'unknown', text, why: 'iptables target only iptables-save can show' });
        else matches.push({ kind: 'unknown', text, why: 'iptables match only iptables-save can show' });
        break;
      }
      case 'limit':
        // A rate limit passes the one packet a walk follows; `limit rate over` (inv) lets it through only
        // above the rate, so that rule is not taken. Neither is worth a warning on every fw4 ruleset.
        if (bo.inv === true) matches.push({ kind: 'unknown', text: renderExpr(e), why: 'only above a rate' });
        break;
      case 'set':
      case 'flow':
      case 'notrack':
      case 'ct helper':
      case 'ct timeout':
      case 'ct expectation':
      case 'quota':
        ops.push({
          kind: 'unknown-statement',
          text: renderExpr(e),
          why: 'not modelled (no effect on the path assumed)',
        });
        break;
      default: {
        const text = unknown('unknown expression', e);
        matches.push({ kind: 'unknown', text, why: `'${k}' is not modelled` });
      }
    }
  }
  const comment = typeof body.comment === 'string' ? body.comment : undefined;
  const text = textParts.join(' ') + (comment ? ` comment "${comment}"` : '');
  return {
    position,
    ...(handle !== undefined ? { handle } : {}),
    text,
    ...(comment ? { comment } : {}),
    matches,
    ops,
  };
}

function loadExpr(raw: J): Expr | null {
  if (typeof raw === 'number') return { kind: 'const', n: raw };
  if (typeof raw === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(raw)) return { kind: 'const', n: Number(raw) };
  const kv = only(raw);
  if (!kv) return null;
  const [k, b] = kv;
  if ((k === '&' || k === '|' || k === '^') && Array.isArray(b) && b.length === 2) {
    const left = loadExpr(b[0]);
    const right = loadExpr(b[1]);
    return left && right ? { kind: 'binop', op: k, left, right } : null;
  }
  const key = loadKey(raw);
  return key ? { kind: 'key', key } : null;
}

function loadVerdictValue(raw: J): Verdict | null {
  const kv = only(raw);
  if (!kv) return null;
  const [k, b] = kv;
  if (k === 'accept' || k === 'drop' || k === 'return' || k === 'continue' || k === 'reject') return { kind: k };
  if ((k === 'jump' || k === 'goto') && isObj(b) && typeof b.target === 'string') return { kind: k, chain: b.target };
  return null;
}

/** vmap data: "@name" or an anonymous {"set": [[key, verdict], …]}; stored as a set of concat(key, verdict-index). */
function loadVmap(raw: J, kind: ValueKind | ValueKind[]): Value | null {
  if (typeof raw === 'string' && raw.startsWith('@')) return { kind: 'setref', name: raw.slice(1) };
  const kv = only(raw);
  if (kv?.[0] !== 'set' || !Array.isArray(kv[1])) return null;
  const elements: Value[] = [];
  for (const pair of kv[1]) {
    if (!Array.isArray(pair) || pair.length !== 2) return null;
    const key = loadValue(pair[0], kind);
    const verdict = loadVerdictValue(pair[1]);
    if (!key || !verdict) return null;
    // The verdict travels as a string part: "accept", "jump:chain".
    elements.push({
      kind: 'concat',
      parts: [key, { kind: 'str', s: verdict.kind + ('chain' in verdict ? `:${verdict.chain}` : '') }],
    });
  }
  return { kind: 'set', elements };
}

// ---------------------------------------------------------------------------
// Sets and maps

function loadSet(body: Obj, isMap: boolean, issue: (m: string) => void): NamedSet | null {
  if (typeof body.name !== 'string') return null;
  const keyType = Array.isArray(body.type)
    ? body.type.filter((x): x is string => typeof x === 'string')
    : typeof body.type === 'string'
      ? [body.type]
      : [];
  const flags = Array.isArray(body.flags) ? body.flags.filter((x): x is string => typeof x === 'string') : [];
  const kinds = keyType.map(typeKind);
  const kind: ValueKind | ValueKind[] = kinds.length === 1 ? kinds[0]! : kinds;
  const elements: Value[] = [];
  const data: (Value | Verdict)[] = [];
  let bad = 0;
  for (const raw of Array.isArray(body.elem) ? body.elem : []) {
    if (isMap) {
      if (!Array.isArray(raw) || raw.length !== 2) {
        bad++;
        continue;
      }
      const k = loadValue(raw[0], kind);
      const d = body.map === 'verdict' ? loadVerdictValue(raw[1]) : loadValue(raw[1], 'num');
      if (!k || !d) {
        bad++;
        continue;
      }
      elements.push(k);
      data.push(d);
    } else {
      const v = loadValue(raw, kind);
      if (v) elements.push(v);
      else bad++;
    }
  }
  if (bad > 0) issue(`${isMap ? 'map' : 'set'} ${body.name}: ${bad} element(s) unreadable; lookups in it are maybe`);
  const set: NamedSet = { name: body.name, keyType, flags, elements };
  if (isMap) {
    set.isMap = true;
    set.data = data;
    if (body.map === 'verdict') set.keyType = [...keyType];
  }
  if (bad > 0) set.flags = [...flags, 'replyguard-incomplete'];
  return set;
}

// ---------------------------------------------------------------------------
// Text: nft's own syntax, close enough to `nft list` for a person to find the rule

const BARE_META = new Set(['iifname', 'oifname', 'iif', 'oif', 'mark', 'skgid', 'skuid']);

export function renderExpr(raw: J, hex = false): string {
  if (raw === null || raw === undefined) return '';
  if (typeof raw === 'string') return raw.startsWith('@') ? raw : /^[\w.:/-]+$/.test(raw) ? raw : JSON.stringify(raw);
  if (typeof raw === 'number') return hex ? hexOf(raw) : String(raw);
  if (typeof raw === 'boolean') return String(raw);
  if (Array.isArray(raw)) return raw.map((x) => renderExpr(x)).join(',');
  const kv = only(raw);
  if (!kv) return JSON.stringify(raw);
  const [k, b] = kv;
  const o: Obj = isObj(b) ? b : {};
  switch (k) {
    case 'match': {
      const op = o.op === '==' || o.op === 'in' || o.op === undefined ? '' : `${String(o.op)} `;
      const right = renderExpr(o.right);
      const left = renderExpr(o.left);
      const quoted =
        /ifname$/.test(left) && isObjOrString(o.right) && typeof o.right === 'string' && !o.right.startsWith('@');
      const shown = isMarkKey(o.left) && typeof o.right === 'number' ? hexOf(o.right) : right;
      return `${left} ${op}${quoted ? `"${String(o.right)}"` : shown}`;
    }
    case 'meta':
      return BARE_META.has(String(o.key)) && o.key !== 'mark' ? String(o.key) : `meta ${String(o.key)}`;
    case 'payload':
      return o.protocol
        ? `${String(o.protocol)} ${String(o.field)}`
        : `@${String(o.base)},${String(o.offset)},${String(o.len)}`;
    case 'ct':
      return `ct ${o.dir ? `${String(o.dir)} ` : ''}${String(o.key)}`;
    case 'socket':
      return `socket ${String(o.key)}`;
    case 'fib':
      return `fib ${(Array.isArray(o.flags) ? o.flags : []).map(String).join(' . ')} ${String(o.result)}`;
    case 'concat':
      return Array.isArray(b) ? b.map((x) => renderExpr(x)).join(' . ') : '';
    case '&':
    case '|':
    case '^':
    case '>>':
    case '<<':
      if (!Array.isArray(b)) return k;
      return `${renderExpr(b[0], hex)} ${k} ${Array.isArray(b[1]) ? `(${b[1].map((x) => renderExpr(x)).join('|')})` : typeof b[1] === 'number' && b[1] > 255 ? hexOf(b[1]) : renderExpr(b[1], hex)}`;
    case 'set':
      // The statement (`update @s { key }`, `add @s { key }`), not a set literal.
      if (isObj(b) && typeof b.op === 'string')
        return `${b.op} ${String(b.set)} { ${renderExpr(b.elem)}${b.stmt ? ` ${renderExpr(b.stmt)}` : ''} }`;
      return Array.isArray(b)
        ? `{ ${b.map((x) => (Array.isArray(x) ? `${renderExpr(x[0])} : ${renderExpr(x[1])}` : renderExpr(x))).join(', ')} }`
        : `{ ${renderExpr(b)} }`;
    case 'prefix':
      return `${String(o.addr)}/${String(o.len)}`;
    case 'range':
      return Array.isArray(b) ? `${renderExpr(b[0])}-${renderExpr(b[1])}` : '';
    case 'elem':
      return renderExpr(o.val);
    case 'counter':
      return 'counter';
    case 'limit':
      return `limit rate ${o.inv === true ? 'over ' : ''}${String(o.rate)}/${String(o.per)}${o.burst ? ` burst ${String(o.burst)} packets` : ''}`;
    case 'log':
      return o.prefix ? `log prefix "${String(o.prefix)}"` : 'log';
    case 'mangle':
      return `${renderExpr(o.key)} set ${renderExpr(o.value, isMarkKey(o.key))}`;
    case 'accept':
    case 'drop':
    case 'return':
    case 'continue':
    case 'reject':
    case 'queue':
    case 'masquerade':
    case 'notrack':
      return k;
    case 'jump':
    case 'goto':
      return `${k} ${String(o.target)}`;
    case 'redirect':
      return o.port !== undefined ? `redirect to :${String(o.port)}` : 'redirect';
    case 'dnat':
    case 'snat':
      return `${k} ${o.family ? `${String(o.family)} ` : ''}to ${o.addr !== undefined ? renderExpr(o.addr) : ''}${o.port !== undefined ? `:${String(o.port)}` : ''}`;
    case 'tproxy':
      return `tproxy ${o.family ? `${String(o.family)} ` : ''}to ${o.addr !== undefined ? String(o.addr) : ''}${o.port !== undefined ? `:${String(o.port)}` : ''}`;
    case 'vmap':
      return `${renderExpr(o.key)} vmap ${renderExpr(o.data)}`;
    case 'map':
      return `${renderExpr(o.key)} map ${renderExpr(o.data)}`;
    case 'xt':
      return `xt ${String(o.type)} "${String(o.name)}"`;
    default:
      return `${k} ${isObj(b) ? JSON.stringify(b) : renderExpr(b)}`.trim();
  }
}

function hexOf(n: number): string {
  return `0x${n.toString(16)}`;
}

function isMarkKey(v: J): boolean {
  const kv = only(v);
  return !!kv && (kv[0] === 'meta' || kv[0] === 'ct') && isObj(kv[1]) && kv[1].key === 'mark';
}

function isObjOrString(v: J): boolean {
  return typeof v === 'string' || isObj(v);
}
