// The layout's promises, checked on the imports of every file under src/: no import cycle; a folder's
// name tells whether its files may do I/O; outputs only read (they import no sensor, unit or daemon).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const SRC = join(__dirname, '..', '..', 'src');

/** Folders whose files may spawn, read or write files, sockets or the process. Every other folder is pure. */
const IO_FOLDERS = new Set(['cli', 'daemon', 'sensors', 'outputs', 'system', 'actions']);
/** Folders that show the status somewhere: they read it and never reach back to what makes it. */
const OUTPUT_FOLDERS = new Set(['outputs', 'status', 'mqtt']);
const NOT_FOR_OUTPUTS = new Set(['sensors', 'daemon']);
/** Node modules that reach outside the process (files, processes, network, the host). */
const IO_MODULES =
  /^(node:)?(fs|fs\/promises|child_process|net|dgram|tls|http|https|http2|os|readline|worker_threads|cluster|dns)$|^mqtt$/;

interface Import {
  spec: string;
  typeOnly: boolean;
  /** `import('…')`: loaded on demand. */
  lazy?: true;
}

interface SourceFile {
  path: string;
  folder: string;
  imports: Import[];
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Static imports, re-exports and `import('…')` (loaded on demand); `import type` and `export type` are marked as erased at run time. */
function importsOf(text: string): Import[] {
  const out: Import[] = [];
  const re = /^(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)';/gms;
  for (const m of text.matchAll(re)) {
    const braces = /^import\s+\{([^}]*)\}\s+from/s.exec(m[0])?.[1];
    const names =
      braces
        ?.split(',')
        .map((n) => n.trim())
        .filter((n) => n !== '') ?? [];
    const typeOnly = m[2] !== undefined || (names.length > 0 && names.every((n) => n.startsWith('type ')));
    out.push({ spec: m[3] ?? '', typeOnly });
  }
  for (const m of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g))
    out.push({ spec: m[1] ?? '', typeOnly: false, lazy: true });
  return out;
}

function load(): Map<string, SourceFile> {
  const files = new Map<string, SourceFile>();
  for (const path of walk(SRC)) {
    const rel = relative(SRC, path);
    const folder = rel.includes('/') ? (rel.split('/')[0] ?? '') : '';
    files.set(path, { path, folder, imports: importsOf(readFileSync(path, 'utf8')) });
  }
  return files;
}

function resolveLocal(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  for (const cand of [`${base}.ts`, join(base, 'index.ts')]) {
    try {
      if (statSync(cand).isFile()) return cand;
    } catch {
      // not this one
    }
  }
  return undefined;
}

const files = load();
const name = (p: string) => relative(SRC, p);

describe('src/ layout', () => {
  it('reads every file and its imports (the checks below have something to check)', () => {
    assert.ok(files.size > 100, `only ${files.size} files under src/`);
    const withImports = [...files.values()].filter((f) => f.imports.length > 0).length;
    assert.ok(withImports > files.size * 0.8, `imports found in only ${withImports} of ${files.size} files`);
    assert.deepEqual(
      importsOf(
        "import type { A } from './a';\nimport { type B, type C } from './b';\nimport { D } from 'node:fs';\nconst e = await import('./e');\n",
      ),
      [
        { spec: './a', typeOnly: true },
        { spec: './b', typeOnly: true },
        { spec: 'node:fs', typeOnly: false },
        { spec: './e', typeOnly: false, lazy: true },
      ],
    );
  });

  it('has no import cycle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (path: string, stack: string[]): void => {
      if (state.get(path) === 'done') return;
      if (state.get(path) === 'open') {
        cycles.push([...stack.slice(stack.indexOf(path)), path].map(name).join(' → '));
        return;
      }
      state.set(path, 'open');
      for (const imp of files.get(path)?.imports ?? []) {
        const target = resolveLocal(path, imp.spec);
        if (target !== undefined) visit(target, [...stack, path]);
      }
      state.set(path, 'done');
    };
    for (const path of files.keys()) visit(path, []);
    assert.deepEqual(cycles, []);
  });

  it('keeps I/O out of the pure folders', () => {
    const wrong: string[] = [];
    for (const f of files.values()) {
      if (f.folder === '' || IO_FOLDERS.has(f.folder)) continue;
      for (const imp of f.imports) {
        if (IO_MODULES.test(imp.spec) && !imp.typeOnly) wrong.push(`${name(f.path)} imports ${imp.spec}`);
        const target = resolveLocal(f.path, imp.spec);
        const targetFolder = target === undefined ? '' : (name(target).split('/')[0] ?? '');
        if (target !== undefined && IO_FOLDERS.has(targetFolder) && !imp.typeOnly)
          wrong.push(`${name(f.path)} runs code of ${name(target)}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('keeps the capture reader (src/analyze/) out of reach of every module loaded on demand', () => {
    // The bundler puts whatever an import('…') reaches inside lazy initialisers, and the glance at every
    // line of a capture runs 15–17% slower reading its constants through one (see src/main.ts).
    const lazyRoots = [...files.values()].flatMap((f) =>
      f.imports.flatMap((imp) => (imp.lazy ? [resolveLocal(f.path, imp.spec) ?? imp.spec] : [])),
    );
    assert.ok(lazyRoots.length >= 6, `only ${lazyRoots.length} modules loaded on demand were found`);
    const reached = new Set<string>();
    const visit = (path: string): void => {
      if (reached.has(path)) return;
      reached.add(path);
      for (const imp of files.get(path)?.imports ?? []) {
        const target = imp.typeOnly ? undefined : resolveLocal(path, imp.spec);
        if (target !== undefined) visit(target);
      }
    };
    for (const root of lazyRoots) visit(root);
    const analyze = [...reached].map(name).filter((n) => n.startsWith('analyze/') || n === 'cli/cmd-analyze.ts');
    assert.deepEqual(analyze, []);
  });

  it('lets outputs read the status, never the sensors, units or daemon that make it', () => {
    const wrong: string[] = [];
    for (const f of files.values()) {
      if (!OUTPUT_FOLDERS.has(f.folder)) continue;
      for (const imp of f.imports) {
        const target = resolveLocal(f.path, imp.spec);
        const targetFolder = target === undefined ? '' : (name(target).split('/')[0] ?? '');
        if (NOT_FOR_OUTPUTS.has(targetFolder)) wrong.push(`${name(f.path)} imports ${name(target ?? '')}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('has only known folders, each either pure or allowed I/O', () => {
    const folders = new Set([...files.values()].map((f) => f.folder).filter((f) => f !== ''));
    const pure = [...folders].filter((f) => !IO_FOLDERS.has(f)).sort();
    assert.deepEqual(pure, [
      'analyze',
      'capture',
      'config',
      'conntrack',
      'detector',
      'guard',
      'mqtt',
      'net',
      'probe',
      'proxies',
      'ruleset',
      'status',
      'util',
    ]);
  });
});
