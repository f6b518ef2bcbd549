// tests/e2e/harness.mjs: starts a real `parley serve` (port 0, temporary data dir, the built
// web client as web_root) and Debian's Chromium through playwright-core. Never downloads a
// browser. Used by the *.test.mjs files (node --test).
//
// Environment: PARLEY_BIN (required: the server binary), PARLEY_WEB_ROOT (default web/dist),
// CHROMIUM (default /usr/bin/chromium), E2E_SCREENSHOTS (default tests/e2e/screenshots).
//
// When a test fails (e2eTest below), every page still open gets a screenshot, its HTML and a
// log (console, page errors, failed or non-2xx requests, gateway frames) written under
// <E2E_SCREENSHOTS>/failures/<test>/, with the server's stderr; the directory is git-ignored.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
// playwright-core and axe-core are dev dependencies of the web client (web/package-lock.json).
const require = createRequire(join(repoRoot, 'web', 'package.json'));
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const screenshotDir = process.env.E2E_SCREENSHOTS ?? join(here, 'screenshots');

/** Starts `parley serve`; `extraArgs` are more command-line settings (e.g. file limits). */
export async function startServer(extraArgs = []) {
  const bin = process.env.PARLEY_BIN;
  if (!bin || !existsSync(bin)) throw new Error(`PARLEY_BIN must name the parley binary (got ${bin})`);
  const webRoot = resolve(process.env.PARLEY_WEB_ROOT ?? join(repoRoot, 'web', 'dist'));
  if (!existsSync(join(webRoot, 'index.html'))) throw new Error(`${webRoot}/index.html missing: run make web`);
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-e2e-'));
  const proc = spawn(bin, ['serve', '--http.port=0', `--store.data_dir=${dataDir}`, `--http.web_root=${webRoot}`,
                           '--auth.ip_attempts_per_minute=1000', '--auth.account_attempts_per_minute=1000',
                           '--log.level=warn', ...extraArgs],
                     { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); });
  const url = await new Promise((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`parley did not start in 15 s\n${stderr}`)), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); res(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); rej(new Error(`parley exited with ${code}\n${stderr}`)); });
  });
  proc.stdout.resume();
  return {
    url,
    stderr: () => stderr,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Runs axe-core in the page and returns the serious and critical violations. */
export async function axeViolations(page) {
  // page.evaluate runs through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export async function screenshot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`) });
}

export function uniq(prefix) {
  return `${prefix}${Math.random().toString(36).slice(2, 7)}`;
}

// --- failure artifacts

const kLogLines = 400;   // per page: enough for one test's traffic, bounded
const kFrameChars = 300; // gateway frames are cut to this length in the log
const watched = new Map(); // page -> { label, lines }

/** Records what happens in `page` so that a failing test can save it (see e2eTest). */
export function watchPage(page, label) {
  const entry = { label, lines: [] };
  const t0 = Date.now();
  const log = (kind, text) => {
    entry.lines.push(`${String(Date.now() - t0).padStart(6)} ms ${kind} ${text}`);
    if (entry.lines.length > kLogLines) entry.lines.shift();
  };
  watched.set(page, entry);
  page.on('close', () => watched.delete(page));
  page.on('console', (m) => log(`console.${m.type()}`, m.text()));
  page.on('pageerror', (e) => log('pageerror', String(e?.stack ?? e)));
  page.on('requestfailed', (r) => log('requestfailed', `${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    const req = r.request();
    if (r.status() >= 400 || (req.method() !== 'GET' && r.url().includes('/api/'))) {
      log('http', `${req.method()} ${r.url()} -> ${r.status()}`);
    }
  });
  page.on('websocket', (ws) => {
    log('ws', `open ${ws.url()}`);
    ws.on('framesent', (f) => log('ws>', String(f.payload).slice(0, kFrameChars)));
    ws.on('framereceived', (f) => log('ws<', String(f.payload).slice(0, kFrameChars)));
    ws.on('close', () => log('ws', 'closed'));
  });
  return page;
}

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);
}

/** Saves a screenshot, the HTML and the log of every watched page, plus the server's stderr. */
export async function saveFailure(name, error, server) {
  const dir = join(screenshotDir, 'failures', slug(name));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'error.txt'), `${error?.stack ?? error}\n`);
  if (server) writeFileSync(join(dir, 'server-stderr.log'), server.stderr());
  for (const [page, { label, lines }] of watched) {
    const base = join(dir, slug(label));
    writeFileSync(`${base}.log`, `${page.url()}\n${lines.join('\n')}\n`);
    try {
      await page.screenshot({ path: `${base}.png`, timeout: 5000 });
      writeFileSync(`${base}.html`, await page.content());
    } catch (e) {
      writeFileSync(`${base}.html`, `<!-- could not read the page: ${e} -->\n`);
    }
  }
  return dir;
}

/**
 * node:test's `test`, saving failure artifacts (saveFailure) before the failure is reported.
 * `getServer` returns the running server (its stderr is saved too).
 */
export function e2eTest(name, getServer, fn) {
  return test(name, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      const dir = await saveFailure(name, e, getServer()).catch((x) => `(not saved: ${x})`);
      t.diagnostic(`failure artifacts: ${dir}`);
      throw e;
    }
  });
}
