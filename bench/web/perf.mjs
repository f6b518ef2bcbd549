// bench/web/perf.mjs: web client performance figures for docs/benchmarks.md.
//  1. Initial JavaScript, gzipped: every script index.html loads (level 9), lazy chunks excluded.
//  2. Incoming message → DOM: a real `parley` and headless Chromium (Debian's); another user
//     sends N messages over REST, and the page records, for each, the time its WebSocket
//     `message` event fired and the time its text appeared in the DOM (MutationObserver).
//
//   make web && PARLEY_BIN=build/src/app/parley node bench/web/perf.mjs [N=50]
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { launchBrowser, startServer, uniq } from '../../tests/e2e/harness.mjs';
import { api, kPassword, user } from './lib.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = join(root, 'web', 'dist');
const n = Number(process.argv[2] ?? 50);

function initialJs() {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const srcs = [...html.matchAll(/<script[^>]+src="([^"]+)"|<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g)]
    .map((m) => m[1] ?? m[2]);
  let raw = 0;
  let gz = 0;
  for (const s of srcs) {
    const buf = readFileSync(join(dist, s.replace(/^\//, '')));
    raw += buf.length;
    gz += gzipSync(buf, { level: 9 }).length;
  }
  return { files: srcs.length, raw, gz };
}

const js = initialJs();
console.log(`initial JS: ${js.files} file(s), ${(js.raw / 1024).toFixed(1)} KB raw, ${(js.gz / 1024).toFixed(1)} KB gzipped`);

const server = await startServer();
const browser = await launchBrowser();
try {
  const alice = await user(server.url, 'alice');
  const bob = await user(server.url, 'bob');
  const { room } = await api(server.url, 'POST', '/dms', { user_id: alice.id }, bob.token);
  await api(server.url, 'POST', `/rooms/${room.id}/messages`, { client_txn_id: uniq('t'), body: 'hello' }, bob.token);

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
  await ctx.addInitScript(() => {
    const t = (window.__perf = { ws: new Map(), dom: new Map() });
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...a) {
        super(...a);
        // Capture phase on the socket itself runs before the app's onmessage handler.
        this.addEventListener('message', (ev) => {
          const m = /"body":"(perf-\d+)"/.exec(ev.data);
          if (m && !t.ws.has(m[1])) t.ws.set(m[1], performance.now());
        });
      }
    };
    new MutationObserver((records) => {
      const now = performance.now();
      for (const r of records) for (const node of r.addedNodes) {
        const text = node.textContent ?? '';
        for (const m of text.matchAll(/perf-\d+/g)) if (!t.dom.has(m[0])) t.dom.set(m[0], now);
      }
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  const page = await ctx.newPage();
  await page.goto(server.url);
  await page.getByLabel('Username').fill(alice.username);
  await page.getByLabel('Password').fill(kPassword);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /^bob/ }).click();
  await page.locator('.msg-body', { hasText: 'hello' }).waitFor();
  await page.locator('.conn-connected').waitFor();

  for (let i = 0; i < n; i++) {
    await api(server.url, 'POST', `/rooms/${room.id}/messages`, { client_txn_id: uniq('t'), body: `perf-${i}` }, bob.token);
    await page.locator('.msg-body', { hasText: new RegExp(`^perf-${i}$`) }).waitFor();
    await new Promise((r) => setTimeout(r, 50));
  }
  const deltas = await page.evaluate(() => {
    const t = window.__perf;
    return [...t.ws.entries()].filter(([k]) => t.dom.has(k)).map(([k, at]) => t.dom.get(k) - at);
  });
  deltas.sort((a, b) => a - b);
  const q = (p) => deltas[Math.min(deltas.length - 1, Math.floor(p * deltas.length))];
  console.log(`incoming message → DOM over ${deltas.length} messages: p50 ${q(0.5).toFixed(1)} ms, ` +
              `p95 ${q(0.95).toFixed(1)} ms, max ${deltas[deltas.length - 1].toFixed(1)} ms (one frame at 60 Hz: 16.7 ms)`);
  await ctx.close();
} finally {
  await browser.close();
  await server.stop();
}
