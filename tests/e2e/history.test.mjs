// tests/e2e/history.test.mjs: the virtualized message list in headless Chromium against a real
// `parley serve`: scrolling back through 320 messages loads every one exactly once, in order,
// without moving what the reader is looking at when older pages are prepended; a message that
// arrives while scrolled up leaves the view where it is and offers "1 new message"; the jump
// goes to the latest; the list keeps only the rows near the view in the DOM; keyboard moves
// between messages; the accessibility check passes on the feed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { axeViolations, launchBrowser, screenshot, startServer, uniq } from './harness.mjs';

const kPassword = 'correct horse battery';
const kCount = 320;

let server;
let browser;
let page;
let bob;
let roomId;
let aliceId;
const pageErrors = [];

async function api(method, path, body, token) {
  const res = await fetch(server.url + '/api/v1' + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

async function register(name, display) {
  const username = uniq(name);
  await api('POST', '/auth/register', { username, password: kPassword, display_name: display });
  const r = await api('POST', '/auth/login', { username, password: kPassword });
  return { username, token: r.token, id: r.user.id };
}

const label = (i) => `history message ${String(i).padStart(4, '0')}`;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const alice = await register('alice', 'Alice Liddell');
  bob = await register('bob', 'Bob Builder');
  aliceId = alice.id;
  ({ room: { id: roomId } } = await api('POST', '/dms', { user_id: alice.id }, bob.token));
  // Runs of three from each side so that sender grouping is exercised; one long message in
  // ten so that rows have different heights.
  for (let i = 1; i <= kCount; i++) {
    const token = Math.floor((i - 1) / 3) % 2 === 0 ? bob.token : alice.token;
    const body = i % 10 === 5 ? `${label(i)}\n\n${'A longer paragraph that wraps over several lines. '.repeat(8)}` : label(i);
    await api('POST', `/rooms/${roomId}/messages`, { client_txn_id: `seed-${i}`, body }, token);
  }
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
  page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(server.url);
  await page.getByLabel('Username').fill(alice.username);
  await page.getByLabel('Password').fill(kPassword);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /^Bob Builder/ }).click();
  await page.getByRole('heading', { level: 2, name: 'Bob Builder' }).waitFor();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** What the list shows now: rendered messages (seq and first line, in DOM order) and the top one. */
function snapshot() {
  return page.evaluate(() => {
    const sc = document.querySelector('.timeline');
    const box = sc.getBoundingClientRect();
    const rows = [...sc.querySelectorAll('[data-testid=message]')].map((el) => {
      const r = el.getBoundingClientRect();
      return { seq: Number(el.dataset.seq), text: el.querySelector('.msg-body')?.innerText.split('\n')[0] ?? '',
               top: r.top - box.top, bottom: r.bottom - box.top };
    });
    const top = rows.find((r) => r.bottom > 1);
    return { rows, top, scrollTop: sc.scrollTop, scrollHeight: sc.scrollHeight, clientHeight: sc.clientHeight,
             articles: sc.querySelectorAll('article').length,
             start: !!sc.querySelector('.timeline-start'), loading: !!sc.querySelector('.loading') };
  });
}

const frames = (n = 2) => page.evaluate((k) => new Promise((res) => {
  const step = (i) => (i === 0 ? res() : requestAnimationFrame(() => step(i - 1)));
  step(k);
}), n);

const atBottom = (s) => s.scrollHeight - s.scrollTop - s.clientHeight < 4;

test('opens at the latest message, with only the rows near the view in the DOM', async () => {
  await page.locator('[data-testid=message] .msg-body').getByText(label(kCount), { exact: true }).waitFor();
  await frames(3);
  const s = await snapshot();
  assert.ok(atBottom(s), `opened at the bottom (${s.scrollHeight - s.scrollTop - s.clientHeight}px from it)`);
  assert.equal(s.rows.at(-1).text, label(kCount));
  assert.equal(await page.getByRole('button', { name: /Jump to latest|new message/ }).count(), 0);
  assert.deepEqual(await axeViolations(page), []);
});

test('scrolling back through every message: each once, in order, and the view never jumps', async () => {
  const seen = new Map();   // seq → text
  let loads = 0;
  const countLoads = (req) => { if (/\/messages\?[^ ]*before=/.test(req.url())) loads++; };
  page.on('request', countLoads);
  for (let step = 0; step < 400; step++) {
    const before = await snapshot();
    for (const r of before.rows) {
      if (seen.has(r.seq)) assert.equal(seen.get(r.seq), r.text, `seq ${r.seq} changed text`);
      seen.set(r.seq, r.text);
    }
    // The DOM holds each message once, in seq order.
    const seqs = before.rows.map((r) => r.seq);
    assert.deepEqual(seqs, [...new Set(seqs)].sort((a, b) => a - b), 'rendered rows are unique and ordered');
    assert.ok(before.articles < 80, `only rows near the view are drawn (${before.articles})`);
    if (before.start && before.scrollTop === 0) break;

    // Steps smaller than the rows drawn above the view (overscan), so that what a step reveals
    // has been measured already: any movement other than the step is the list's doing.
    const delta = Math.min(150, before.scrollTop);
    const anchor = before.top;
    await page.evaluate((d) => { document.querySelector('.timeline').scrollTop -= d; }, delta);
    await frames(2);
    // A history page may be on its way: wait for it, then check the anchor once it has landed.
    await page.waitForFunction(() => !document.querySelector('.timeline .loading'), null, { timeout: 10000 });
    await frames(2);
    const after = await snapshot();
    const same = after.rows.find((r) => r.seq === anchor.seq);
    assert.ok(same, `the message at the top (seq ${anchor.seq}) is still drawn`);
    const moved = same.top - anchor.top;
    if (process.env.HISTORY_DEBUG && Math.abs(moved - delta) > 2) {
      console.log(JSON.stringify(before.rows.map((r) => [r.seq, Math.round(r.top), Math.round(r.bottom - r.top)])));
      console.log(JSON.stringify(after.rows.map((r) => [r.seq, Math.round(r.top), Math.round(r.bottom - r.top)])));
      console.log(before.scrollTop, after.scrollTop, before.scrollHeight, after.scrollHeight);
    }
    assert.ok(Math.abs(moved - delta) <= 2,
              `step ${step}: seq ${anchor.seq} moved ${moved}px for a ${delta}px scroll (older history prepended: ${after.scrollHeight - before.scrollHeight}px)`);
  }
  const all = [...seen.keys()].sort((a, b) => a - b);
  assert.equal(all.length, kCount, `saw ${all.length} distinct messages`);
  assert.deepEqual([...seen.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t),
                   Array.from({ length: kCount }, (_, i) => label(i + 1)));
  page.off('request', countLoads);
  assert.ok(loads >= 3, `older history was fetched while scrolling (${loads} pages)`);
  await page.locator('.timeline-start').getByText('This is the beginning of your conversation with Bob Builder.').waitFor();
  await screenshot(page, 'desktop-history-start');
});

test('a new message while scrolled up does not move the view; "1 new message" jumps to it', async () => {
  // Somewhere in the middle of the history.
  await page.evaluate(() => { const sc = document.querySelector('.timeline'); sc.scrollTop = sc.scrollHeight / 2; });
  await frames(4);
  const before = await snapshot();
  await api('POST', `/rooms/${roomId}/messages`, { client_txn_id: uniq('t'), body: 'arrived while you were reading' }, bob.token);
  const jump = page.getByRole('button', { name: /1 new message/ });
  await jump.waitFor();
  await frames(2);
  const after = await snapshot();
  const same = after.rows.find((r) => r.seq === before.top.seq);
  assert.ok(same, 'the message being read is still drawn');
  assert.ok(Math.abs(same.top - before.top.top) <= 1, `the view stayed put (moved ${same.top - before.top.top}px)`);
  // The polite live region announced it.
  assert.match(await page.locator('.sr-only[aria-live=polite]').innerText(), /arrived while you were reading/);
  await screenshot(page, 'desktop-history-new-message');

  await jump.click();
  await page.locator('[data-testid=message] .msg-body').getByText('arrived while you were reading', { exact: true }).waitFor();
  await page.waitForFunction(() => {
    const sc = document.querySelector('.timeline');
    return sc.scrollHeight - sc.scrollTop - sc.clientHeight < 4;
  });
  await jump.waitFor({ state: 'detached' });

  // At the bottom, the next message keeps the view at the bottom.
  await api('POST', `/rooms/${roomId}/messages`, { client_txn_id: uniq('t'), body: 'and one more' }, bob.token);
  await page.locator('[data-testid=message] .msg-body').getByText('and one more', { exact: true }).waitFor();
  await frames(3);
  const s = await snapshot();
  assert.ok(atBottom(s), `still at the bottom (${s.scrollHeight - s.scrollTop - s.clientHeight}px from it)`);
  assert.equal(s.rows.at(-1).text, 'and one more');
});

test('keyboard: arrows move between messages, Home and End to the ends of the loaded history', async () => {
  const last = page.locator('article').filter({ has: page.locator('.msg-body').getByText('and one more', { exact: true }) });
  await last.focus();
  await page.keyboard.press('ArrowUp');
  await frames(2);
  const focused = () => page.evaluate(() => document.activeElement?.querySelector('.msg-body')?.innerText.split('\n')[0]);
  assert.equal(await focused(), 'arrived while you were reading');
  await page.keyboard.press('Home');
  await page.waitForFunction(() => document.activeElement?.querySelector('.msg-body')?.textContent.startsWith('history message 0001'));
  await page.keyboard.press('End');
  await page.waitForFunction(() => document.activeElement?.querySelector('.msg-body')?.textContent === 'and one more');
  const s = await snapshot();
  assert.ok(atBottom(s));
  assert.deepEqual(pageErrors, []);
});

test('coming back to the room later opens it at the latest message again', async () => {
  const carol = await register('carol', 'Carol Danvers');
  const { room } = await api('POST', '/dms', { user_id: aliceId }, carol.token);
  await api('POST', `/rooms/${room.id}/messages`, { client_txn_id: 'carol-1', body: 'hi from carol' }, carol.token);
  const rooms = page.getByRole('navigation', { name: 'Rooms' });
  await rooms.getByRole('link', { name: /^Carol Danvers/ }).click();
  await page.locator('[data-testid=message] .msg-body').getByText('hi from carol', { exact: true }).waitFor();
  // Meanwhile in the first room (its 322 messages stay loaded in the client).
  await api('POST', `/rooms/${roomId}/messages`, { client_txn_id: 'while-away', body: 'while you were away' }, bob.token);
  await rooms.getByRole('link', { name: /^Bob Builder/ }).click();
  await page.locator('[data-testid=message] .msg-body').getByText('while you were away', { exact: true }).waitFor();
  await frames(3);
  const s = await snapshot();
  assert.ok(atBottom(s), `reopened at the bottom (${s.scrollHeight - s.scrollTop - s.clientHeight}px from it)`);
  assert.deepEqual(pageErrors, []);
});
