// LuCI least privilege: the rpcd ACL of luci-app-replyguard grants
// exactly what the views call — nothing more, nothing less. The calls are read
// from the view sources (fs.read/stat/list/write/remove/exec and their _direct
// forms, rpc.declare objects and methods, form.Map / uci.load / uci.set
// configs), resolving string constants (`var INIT_SCRIPT = '…'`), so that the
// test follows the views as they change. ipk.test.ts checks the packaged copy
// against a few fixed values; this one derives everything from the sources.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const LUCI = join(__dirname, '..', '..', 'luci-app');
const VIEW_DIR = join(LUCI, 'htdocs', 'luci-static', 'resources', 'view', 'replyguard');
const ACL_FILE = join(LUCI, 'root', 'usr', 'share', 'rpcd', 'acl.d', 'luci-app-replyguard.json');
const MENU_FILE = join(LUCI, 'root', 'usr', 'share', 'luci', 'menu.d', 'luci-app-replyguard.json');

/** LuCI modules a view may require, and whether this test knows every RPC they make on the view's behalf. */
const KNOWN_MODULES = new Set(['view', 'form', 'ui', 'fs', 'rpc', 'poll', 'uci', 'dom', 'baseclass', 'request']);

/** rpcd methods that change something: granted under write, every other method under read. */
const WRITE_METHOD =
  /^(exec|write|remove|set|add|delete|rename|order|commit|apply|confirm|rollback|init|signal|restart|reload|start|stop|upload)$/;

interface Needs {
  readFiles: Map<string, Set<string>>;
  writeFiles: Map<string, Set<string>>;
  readUbus: Map<string, Set<string>>;
  writeUbus: Map<string, Set<string>>;
  readUci: Set<string>;
  writeUci: Set<string>;
}

function add<K>(m: Map<K, Set<string>>, k: K, v: string): void {
  const s = m.get(k) ?? new Set<string>();
  s.add(v);
  m.set(k, s);
}

/** The code without comments: a call mentioned in a comment is no call. */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"\\])\/\/.*$/gm, '$1');
}

/** String constants of a view: `var NAME = '…';` (also let/const, double quotes). */
function constants(src: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of src.matchAll(
    /\b(?:var|let|const)\s+([A-Za-z_$][\w$]*)\s*=\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s*[;,]/g,
  ))
    out.set(m[1]!, m[2]!.slice(1, -1));
  return out;
}

/** A string expression: literals, known constants, joined with +; undefined when it is anything else. */
function resolve(expr: string, consts: Map<string, string>, where: string): string {
  const parts = expr.split('+').map((p) => p.trim());
  const values = parts.map((p) => {
    if (/^'(?:[^'\\]|\\.)*'$|^"(?:[^"\\]|\\.)*"$/.test(p)) return p.slice(1, -1);
    return consts.get(p);
  });
  assert.ok(
    values.every((v) => v !== undefined),
    `${where}: cannot tell what ${JSON.stringify(expr)} is; write it with string literals or var constants so that the ACL can be checked`,
  );
  return values.join('');
}

/** The arguments of the call whose '(' is at `open`, split at top-level commas. */
function callArgs(src: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let cur = '';
  let quote = '';
  for (let i = open + 1; i < src.length; i++) {
    const c = src[i]!;
    if (quote) {
      cur += c;
      if (c === '\\') cur += src[++i] ?? '';
      else if (c === quote) quote = '';
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) {
      if (depth === 0) {
        if (cur.trim() !== '') args.push(cur.trim());
        return args;
      }
      depth--;
    } else if (c === ',' && depth === 0) {
      args.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  throw new Error('unterminated call');
}

function viewNeeds(): { needs: Needs; files: string[] } {
  const needs: Needs = {
    readFiles: new Map(),
    writeFiles: new Map(),
    readUbus: new Map(),
    writeUbus: new Map(),
    readUci: new Set(),
    writeUci: new Set(),
  };
  const files = readdirSync(VIEW_DIR).filter((f) => f.endsWith('.js'));
  for (const f of files) {
    const src = stripComments(readFileSync(join(VIEW_DIR, f), 'utf8'));
    const consts = constants(src);
    for (const m of src.matchAll(/^'require ([\w.]+)';$/gm))
      assert.ok(
        KNOWN_MODULES.has(m[1]!),
        `${f} requires '${m[1]}', whose RPC calls this test does not know yet: add them here and to the ACL`,
      );
    for (const m of src.matchAll(/\bfs\.(\w+)\s*\(/g)) {
      const where = `${f}: fs.${m[1]}`;
      const args = callArgs(src, m.index! + m[0].length - 1);
      const path = resolve(args[0] ?? "''", consts, where);
      const direct = m[1]!.endsWith('_direct');
      const method = m[1]!.replace(/_direct$/, '');
      switch (method) {
        case 'read':
          add(needs.readFiles, path, 'read');
          break;
        case 'stat':
        case 'list':
          add(needs.readFiles, path, 'list');
          break;
        case 'write':
        case 'remove':
          add(needs.writeFiles, path, 'write');
          break;
        case 'exec': {
          // rpcd matches "command arg1 arg2 …" against the exec patterns.
          let argv: string[] = [];
          if (args[1] !== undefined && args[1] !== 'null') {
            const list = /^\[([\s\S]*)\]$/.exec(args[1]);
            assert.ok(list, `${where}: its arguments must be an array literal`);
            argv = list[1]!.trim() === '' ? [] : callArgs(`(${list[1]})`, 0).map((a) => resolve(a, consts, where));
          }
          add(needs.writeFiles, [path, ...argv].join(' '), 'exec');
          break;
        }
        default:
          assert.fail(`${where}: a LuCI fs call this test does not know`);
      }
      // fs.* calls go through ubus "file"; the _direct forms through cgi-io, which checks the file ACL only.
      if (!direct)
        add(
          method === 'read' || method === 'stat' || method === 'list' ? needs.readUbus : needs.writeUbus,
          'file',
          method,
        );
    }
    for (const m of src.matchAll(/\brpc\.declare\s*\(/g)) {
      const body = callArgs(src, m.index! + m[0].length - 1)[0] ?? '';
      const object = /\bobject\s*:\s*('[^']*'|"[^"]*"|[A-Za-z_$][\w$]*)/.exec(body)?.[1];
      const method = /\bmethod\s*:\s*('[^']*'|"[^"]*"|[A-Za-z_$][\w$]*)/.exec(body)?.[1];
      assert.ok(object && method, `${f}: rpc.declare without object/method: ${body}`);
      const o = resolve(object, consts, `${f}: rpc.declare`);
      const me = resolve(method, consts, `${f}: rpc.declare`);
      add(WRITE_METHOD.test(me) ? needs.writeUbus : needs.readUbus, o, me);
    }
    // form.Map loads and saves its config; uci.load reads; uci.set/add/remove/save write.
    for (const m of src.matchAll(/\bnew\s+form\.Map\s*\(/g)) {
      const cfg = resolve(callArgs(src, m.index! + m[0].length - 1)[0] ?? "''", consts, `${f}: form.Map`);
      needs.readUci.add(cfg);
      if (!/\.readonly\s*=\s*true/.test(src)) needs.writeUci.add(cfg);
    }
    for (const m of src.matchAll(/\buci\.(load|get|get_first|sections|set|add|remove|unset|save|apply)\s*\(/g)) {
      const first = callArgs(src, m.index! + m[0].length - 1)[0];
      if (first === undefined) continue; // uci.save() / uci.apply(): the configs touched above
      const cfg = resolve(first, consts, `${f}: uci.${m[1]}`);
      needs.readUci.add(cfg);
      if (['set', 'add', 'remove', 'unset'].includes(m[1]!)) needs.writeUci.add(cfg);
    }
  }
  return { needs, files };
}

type AclSection = { file?: Record<string, string[]>; ubus?: Record<string, string[]>; uci?: string[] };

const sortedFiles = (m: Map<string, Set<string>>) =>
  Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()]).sort(([a], [b]) => (a! < b! ? -1 : 1)));
const sortedRecord = (r: Record<string, string[]> | undefined) =>
  Object.fromEntries(
    Object.entries(r ?? {})
      .map(([k, v]) => [k, [...v].sort()])
      .sort(([a], [b]) => (a! < b! ? -1 : 1)),
  );

describe('LuCI ACL: exactly what the views call', () => {
  const acl = JSON.parse(readFileSync(ACL_FILE, 'utf8')) as Record<
    string,
    { description?: string; read?: AclSection; write?: AclSection }
  >;
  const { needs, files } = viewNeeds();
  const group = acl['luci-app-replyguard']!;

  it('reads the views and finds their calls', () => {
    assert.ok(files.includes('status.js') && files.includes('settings.js'), `views: ${files.join(', ')}`);
    assert.ok(needs.readFiles.size + needs.writeFiles.size + needs.readUbus.size > 0, 'found no call at all');
  });

  it('has one group, the one the menu depends on, with only read and write', () => {
    assert.deepEqual(Object.keys(acl), ['luci-app-replyguard']);
    const menu = JSON.parse(readFileSync(MENU_FILE, 'utf8')) as Record<
      string,
      { depends?: { acl?: string[]; uci?: Record<string, boolean> } }
    >;
    for (const [path, entry] of Object.entries(menu)) {
      if (entry.depends?.acl) assert.deepEqual(entry.depends.acl, ['luci-app-replyguard'], path);
      for (const cfg of Object.keys(entry.depends?.uci ?? {}))
        assert.ok(needs.readUci.has(cfg), `${path} depends on uci ${cfg}`);
    }
    assert.deepEqual(
      Object.keys(group)
        .filter((k) => k !== 'description')
        .sort(),
      ['read', 'write'].filter((k) => k in group),
    );
    for (const part of [group.read, group.write])
      for (const k of Object.keys(part ?? {}))
        assert.ok(['file', 'ubus', 'uci'].includes(k), `unexpected ACL key ${k}`);
  });

  it('read.file: exactly the files the views read or stat, with exactly those permissions', () => {
    assert.deepEqual(sortedRecord(group.read?.file), sortedFiles(needs.readFiles));
  });

  it('write.file: exactly the commands the views run (with their arguments) and the files they write', () => {
    assert.deepEqual(sortedRecord(group.write?.file), sortedFiles(needs.writeFiles));
    for (const pattern of Object.keys(group.write?.file ?? {}))
      assert.doesNotMatch(pattern, /\*/, `a wildcard grants more than the views run: ${pattern}`);
  });

  it('read.ubus / write.ubus: exactly the objects and methods the views call', () => {
    assert.deepEqual(sortedRecord(group.read?.ubus), sortedFiles(needs.readUbus));
    assert.deepEqual(sortedRecord(group.write?.ubus), sortedFiles(needs.writeUbus));
  });

  it('uci: exactly the configs the views load (read) and save (write)', () => {
    assert.deepEqual([...(group.read?.uci ?? [])].sort(), [...needs.readUci].sort());
    assert.deepEqual([...(group.write?.uci ?? [])].sort(), [...needs.writeUci].sort());
  });

  it('the call finder itself: constants, arguments and the rpc/uci forms', () => {
    const src = `var A = '/x/y'; var B = "b";\nfs.exec(A, [ 'one', B ]); fs.read_direct(A + '.json'); rpc.declare({ object: 'o', method: B });`;
    const c = constants(src);
    assert.equal(resolve("A + '.json'", c, 't'), '/x/y.json');
    assert.deepEqual(callArgs(src, src.indexOf('fs.exec(') + 7), ['A', "[ 'one', B ]"]);
    assert.throws(() => resolve('someVariable', c, 't'), /cannot tell/);
  });
});
