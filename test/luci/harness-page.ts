// The LuCI harness page (test/luci/harness) served on a local port and opened
// in headless Chromium: a view of luci-app-replyguard rendered with the files,
// uci data and rpc answers a test gives it.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';

const ROOT = join(__dirname, '..', '..');
const HTDOCS = join(ROOT, 'luci-app', 'htdocs');
const HARNESS = join(__dirname, 'harness');

/** Where the status view reads the daemon's status.json. */
export const STATUS_FILE = '/var/run/replyguard/status.json';

/** The rpc answer of a running service. */
export const RUNNING = { 'service.list': { replyguard: { instances: { replyguard: { running: true, pid: 1234 } } } } };

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

function serve(): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const rel = normalize(decodeURIComponent(url.pathname));
    let file: string | undefined;
    if (rel.startsWith('/harness/')) file = join(HARNESS, rel.slice('/harness/'.length));
    else if (rel.startsWith('/luci-static/')) file = join(HTDOCS, rel);
    if (!file || rel.includes('..')) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export interface HarnessInput {
  fs?: Record<string, string>;
  uci?: Record<string, Record<string, Record<string, unknown>>>;
  rpc?: Record<string, unknown>;
  TR?: Record<string, string> | null;
}

export interface Harness {
  /** The view loaded and rendered without an error (each page in a context of its own: close it). */
  open(view: string, input: HarnessInput): Promise<Page>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const server = await serve();
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  } catch (err) {
    await new Promise((r) => server.close(r));
    throw err;
  }
  const b = browser;
  return {
    async open(view, input) {
      const context = await b.newContext({ viewport: { width: 1100, height: 900 } });
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.addInitScript(`window.__harness = ${JSON.stringify(input)};`);
      await page.goto(`${base}/harness/index.html?view=${view}`);
      await page.waitForFunction('window.__ready || window.__error');
      const error = (await page.evaluate('window.__error')) as string | undefined;
      assert.equal(error, undefined, `the view failed: ${error}`);
      assert.deepEqual(errors, []);
      return page;
    },
    async close() {
      await b.close();
      await new Promise((r) => server.close(r));
    },
  };
}

/** The rendered text of the first match (Playwright's innerText: table cells tab-separated). */
export async function rendered(l: Locator): Promise<string> {
  return (await l.first().allInnerTexts())[0] ?? '';
}
