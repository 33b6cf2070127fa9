import { relative } from 'node:path';

// A second test reporter: the failed tests, listed once the run is over. `make test` prints the list after the
// TAP stream, so the last lines of a long run name what failed instead of only counting it. JavaScript, not
// TypeScript: node loads reporters before the --import hooks that would compile them.

const MAX_MESSAGE = 400;

/** @typedef {{ where: string; path: string; message: string }} Failure */

/** @param {unknown} error */
function messageOf(error) {
  // node:test wraps what a test threw; the cause holds the assertion's own text.
  const inner = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const text = inner instanceof Error ? inner.message : String(inner);
  const oneLine = text.trim().replace(/\s*\n\s*/g, ' ⏎ ');
  return oneLine.length > MAX_MESSAGE ? `${oneLine.slice(0, MAX_MESSAGE)}…` : oneLine;
}

/** @param {AsyncIterable<import('node:test/reporters').TestEvent>} source */
export default async function* failureSummary(source) {
  // Names of the tests still open at each nesting level, per file, to print a failed test with its suites.
  /** @type {Map<string, string[]>} */
  const open = new Map();
  /** @type {Failure[]} */
  const failures = [];
  for await (const event of source) {
    if (event.type === 'test:start') {
      const stack = open.get(event.data.file ?? '') ?? [];
      stack.length = event.data.nesting;
      stack.push(event.data.name);
      open.set(event.data.file ?? '', stack);
    } else if (event.type === 'test:fail' && event.data.details.type !== 'suite') {
      const file = event.data.file ?? '';
      const suites = (open.get(file) ?? []).slice(0, event.data.nesting);
      failures.push({
        // Not the line: run in its own process, every test of a file reports the file's first line.
        where: file === '' ? '?' : relative(process.cwd(), file),
        path: [...suites, event.data.name].join(' › '),
        message: messageOf(event.data.details.error),
      });
    }
  }
  if (failures.length === 0) return;
  yield `\n# failed: ${failures.length}\n`;
  for (const f of failures) yield `# ✗ ${f.where}  ${f.path}\n#     ${f.message}\n`;
}
