// tests/e2e/pwa.test.mjs: the installable app (issue 5, "Mobile and accessibility"): the web
// app manifest and its icons as the server serves them, the service worker registering and
// controlling the page, and the app shell opening without a network (context.setOffline).
// Headless Chromium against a real `parley serve` with a temporary store.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { e2eTest, launchBrowser, startServer, watchPage } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const test = (name, fn) => e2eTest(name, () => server, fn);

/** Width and height from a PNG's IHDR chunk, or null when `buf` is not a PNG. */
function pngSize(buf) {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (buf.length < 24 || sig.some((b, i) => buf[i] !== b) || buf.toString('ascii', 12, 16) !== 'IHDR') return null;
  return `${buf.readUInt32BE(16)}x${buf.readUInt32BE(20)}`;
}

test('the manifest is valid and every icon it names is served', async () => {
  const res = await fetch(`${server.url}/manifest.webmanifest`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/manifest+json');
  const m = await res.json();
  assert.equal(m.name, 'Parley');
  assert.ok(m.short_name && m.short_name.length <= 12, `short_name ${m.short_name}`);
  assert.equal(m.display, 'standalone');
  assert.equal(m.start_url, '/');
  assert.equal(m.scope, '/');
  assert.match(m.theme_color, /^#[0-9a-f]{6}$/i);
  assert.match(m.background_color, /^#[0-9a-f]{6}$/i);
  // What browsers need to offer installation: PNG icons of 192 and 512 px, and a maskable one.
  const sizes = m.icons.filter((i) => i.type === 'image/png').map((i) => i.sizes);
  assert.ok(sizes.includes('192x192') && sizes.includes('512x512'), `PNG icons: ${sizes}`);
  assert.ok(m.icons.some((i) => i.purpose === 'maskable' && i.type === 'image/png'));
  for (const icon of m.icons) {
    const r = await fetch(new URL(icon.src, server.url));
    assert.equal(r.status, 200, icon.src);
    assert.equal(r.headers.get('content-type'), icon.type, icon.src);
    const body = Buffer.from(await r.arrayBuffer());
    if (icon.type === 'image/png') assert.equal(pngSize(body), icon.sizes, icon.src);
    else assert.match(body.toString('utf8'), /^<svg /, icon.src);
  }

  // The page links it; the worker script is JavaScript that is never cached by HTTP.
  const html = await (await fetch(server.url)).text();
  assert.match(html, /<link rel="manifest" href="\/manifest.webmanifest"/);
  const sw = await fetch(`${server.url}/sw.js`);
  assert.equal(sw.status, 200);
  assert.match(sw.headers.get('content-type'), /^text\/javascript/);
  assert.equal(sw.headers.get('cache-control'), 'no-cache');
  assert.match(sw.headers.get('content-security-policy'), /default-src 'self'/);
  const source = await sw.text();
  assert.doesNotMatch(source, /__PARLEY_(PRECACHE|VERSION)__/, 'the build filled in the precache list');
});

test('the service worker controls the page after a reload, and the app opens offline', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = watchPage(await ctx.newPage(), 'pwa');
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.url);
  await page.getByRole('tab', { name: 'Sign in' }).waitFor();
  const state = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state);
  assert.ok(state === 'activating' || state === 'activated', `worker ${state}`);
  await page.reload();
  await page.getByRole('tab', { name: 'Sign in' }).waitFor();
  const controller = await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null);
  assert.equal(controller, `${server.url}/sw.js`);

  await ctx.setOffline(true);
  await page.reload();
  // The app itself, not the browser's error page, says what is going on.
  await page.getByRole('status').getByText('You are offline.', { exact: false }).waitFor();
  assert.equal(await page.title(), 'Parley');
  await page.getByRole('img', { name: 'Parley' }).waitFor();
  // A room's address is the same app.
  await page.goto(`${server.url}/r/123`);
  await page.getByRole('status').getByText('You are offline.', { exact: false }).waitFor();
  // The API is never answered from a cache.
  const api = await page.evaluate(() => fetch('/api/v1/users/me').then((r) => r.status, () => 'network error'));
  assert.equal(api, 'network error');

  // Back online, the app connects by itself and shows the sign-in screen.
  await ctx.setOffline(false);
  await page.getByRole('tab', { name: 'Sign in' }).waitFor();
  assert.deepEqual(errors, []);
  await ctx.close();
});
