// tests/e2e/search.test.mjs: message search in the web client, end to end, in headless Chromium
// against a real `parley serve` with a temporary store. Alice and Bob share a group; Carol is in
// no room with them. An old message is pushed out of the loaded history by 120 newer ones, then
// found, opened in context and highlighted; operators, a refused query, a non-member who finds
// nothing, mention badges, and the panel on a phone. The tests run in order and share users.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { axeViolations, e2eTest, launchBrowser, screenshot, startServer, uniq, watchPage } from './harness.mjs';

const kPassword = 'correct horse battery';
const kDesktop = { viewport: { width: 1280, height: 800 } };
const kMobile = { viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const kOld = 'The quokka migration plan is ready for review';
const kFillers = 120;

let server;
let browser;
const users = {};
const pageErrors = [];
let groupId;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the pages');
});

// node:test's test, saving screenshot, HTML and log of every open page when one fails.
const test = (name, fn) => e2eTest(name, () => server, fn);

let pages = 0;
async function newPage(opts = kDesktop) {
  const ctx = await browser.newContext({ ...opts, serviceWorkers: 'block' });
  const page = watchPage(await ctx.newPage(), `page-${++pages}`);
  page.setDefaultTimeout(10000);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(server.url);
  return { ctx, page };
}

async function signUp(key, display) {
  const { ctx, page } = await newPage();
  const username = uniq(key);
  await page.getByRole('tab', { name: 'Create account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Display name').fill(display);
  await page.getByLabel('Password').fill(kPassword);
  await page.getByRole('button', { name: 'Create account', exact: true }).click();
  await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
  const id = await page.evaluate(async () => (await (await fetch('/api/v1/users/me')).json()).user.id);
  users[key] = { ctx, page, username, display, id };
  return users[key];
}

/** A REST call from inside the page, with its session cookie (as the client makes them). */
async function api(page, method, path, body) {
  return page.evaluate(async ({ method, path, body }) => {
    const res = await fetch(`/api/v1${path}`, {
      method, headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }, { method, path, body });
}

async function post(page, room, body) {
  return api(page, 'POST', `/rooms/${room}/messages`, { client_txn_id: `e2e-${Math.random().toString(36).slice(2)}`, body });
}

function searchBox(page) { return page.getByRole('searchbox', { name: 'Search messages' }); }
function hits(page) { return page.getByTestId('search-hit'); }

async function search(page, q) {
  await searchBox(page).fill(q);
  await searchBox(page).press('Enter');
  // Settled: results, "no messages", or an error.
  await page.locator('[data-testid=search-hit], .search-empty, [data-testid=search-error]').first().waitFor();
  await page.waitForFunction(() => !document.querySelector('.search-results-wrap .loading'));
}

function messageItem(page, text) {
  return page.locator('[data-testid=message]').filter({ has: page.locator('.msg-body').getByText(text, { exact: true }) });
}

/** Whether the element is inside the visible part of the message timeline. */
async function inView(page, locator) {
  return locator.evaluate((el) => {
    const box = el.getBoundingClientRect();
    const view = el.closest('.timeline').getBoundingClientRect();
    return box.top >= view.top - 1 && box.bottom <= view.bottom + 1;
  });
}

test('an old message is found, opened in context and highlighted; scrolling continues both ways', async () => {
  const alice = await signUp('alice', 'Alice Liddell');
  const bob = await signUp('bob', 'Bob Builder');
  await signUp('carol', 'Carol Danvers');
  groupId = (await api(alice.page, 'POST', '/rooms', { name: 'Launch', member_ids: [bob.id] })).room.id;
  await post(alice.page, groupId, 'Kickoff notes are in the wiki');
  await post(alice.page, groupId, kOld);
  // One after another (inside the page, so each is one fetch), so that their order is their number.
  await alice.page.evaluate(async ({ room, n }) => {
    for (let i = 1; i <= n; i++) {
      const res = await fetch(`/api/v1/rooms/${room}/messages`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ client_txn_id: `filler-${i}`, body: `filler number ${i}` }),
      });
      if (res.status !== 201) throw new Error(`filler ${i}: ${res.status}`);
    }
  }, { room: groupId, n: kFillers });

  // Bob opens the room: the latest page is loaded, the old message is not.
  await bob.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /^Launch/ }).click();
  await bob.page.getByRole('heading', { level: 2, name: 'Launch' }).waitFor();
  await messageItem(bob.page, 'filler number 120').waitFor();
  assert.equal(await messageItem(bob.page, kOld).count(), 0);

  // "/" (not typing) opens search with the cursor in the box.
  await bob.page.locator('.timeline').focus();
  await bob.page.keyboard.press('/');
  await searchBox(bob.page).waitFor();
  assert.equal(await searchBox(bob.page).evaluate((el) => el === document.activeElement), true);
  await search(bob.page, 'quokka');
  assert.equal(await hits(bob.page).count(), 1);
  const hit = hits(bob.page).first();
  assert.equal(await hit.locator('mark').innerText(), 'quokka');
  assert.match(await hit.innerText(), /Alice Liddell/);
  assert.match(await hit.innerText(), /#Launch/);
  assert.match(await hit.locator('.hit-snippet').innerText(), /The quokka migration plan is ready for review/);
  await screenshot(bob.page, 'desktop-search');
  await bob.page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(bob.page, 'desktop-search-dark');
  await bob.page.emulateMedia({ colorScheme: 'light' });

  await hit.click();
  const target = messageItem(bob.page, kOld);
  await target.waitFor();
  await bob.page.waitForFunction(() => document.querySelector('.msg.flash') !== null);
  assert.match(await target.getAttribute('class'), /\bflash\b/);
  assert.equal(await inView(bob.page, target), true, 'the message is scrolled into view');
  // In context: its neighbours are loaded, the live end is not.
  await messageItem(bob.page, 'Kickoff notes are in the wiki').waitFor();
  await messageItem(bob.page, 'filler number 1').waitFor();
  assert.equal(await messageItem(bob.page, 'filler number 120').count(), 0);
  const jump = bob.page.getByRole('button', { name: /Jump to latest/ });
  await jump.waitFor();
  await screenshot(bob.page, 'desktop-search-jump');

  // A message sent meanwhile does not land in the middle of the past...
  await post(alice.page, groupId, 'live while bob reads history');
  // Bob's client has it (the room list previews it) but keeps it out of the past he reads.
  await bob.page.getByRole('navigation', { name: 'Rooms' }).getByText('live while bob reads history', { exact: false }).waitFor();
  assert.equal(await messageItem(bob.page, 'live while bob reads history').count(), 0);
  // ...scrolling down loads newer pages until the live end, the live message included: each
  // scroll to the bottom waits for the next page (a newer last message) or the live one.
  const lastSeq = () => bob.page.locator('[data-testid=message]').last().getAttribute('data-seq');
  for (let i = 0; i < 20 && await messageItem(bob.page, 'live while bob reads history').count() === 0; i++) {
    const before = await lastSeq();
    await bob.page.locator('.timeline').evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await bob.page.waitForFunction((seq) => {
      const all = document.querySelectorAll('[data-testid=message]');
      return all[all.length - 1]?.getAttribute('data-seq') !== seq;
    }, before);
  }
  await messageItem(bob.page, 'filler number 120').waitFor();
  await messageItem(bob.page, 'live while bob reads history').waitFor();
  const seqs = await bob.page.locator('[data-testid=message]').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in order');
  assert.equal(new Set(seqs).size, seqs.length, 'no duplicates');
  assert.equal(seqs[seqs.length - 1] - seqs[0] + 1, seqs.length, 'no gaps between the window and the live end');

  // Jump again, then "Jump to latest" returns to the live end, where new messages appear live.
  await hits(bob.page).first().click();
  await bob.page.waitForFunction(() => document.querySelector('.msg.flash') !== null);
  await jump.click();
  await messageItem(bob.page, 'filler number 120').waitFor();
  await post(alice.page, groupId, 'back at the live end');
  await messageItem(bob.page, 'back at the live end').waitFor();
  assert.equal(await inView(bob.page, messageItem(bob.page, 'back at the live end')), true);
});

test('operators: from:, in:, "exact phrase", sort, and "load more"', async () => {
  const { page } = users.bob;
  await search(page, 'from:@' + users.alice.username + ' "migration plan"');
  assert.equal(await hits(page).count(), 1);
  assert.equal((await hits(page).first().locator('mark').allInnerTexts()).join(' '), 'migration plan');
  await search(page, `from:@${users.bob.username} quokka`);
  assert.equal(await hits(page).count(), 0);
  await page.getByText('No messages found.').waitFor();
  await search(page, 'in:#Launch "plan is ready"');
  assert.equal(await hits(page).count(), 1);
  await search(page, '"ready quokka"');
  assert.equal(await hits(page).count(), 0);

  // 120 fillers: pages of 20, newest first with "Newest", "load more" by cursor.
  await search(page, 'filler');
  assert.equal(await hits(page).count(), 20);
  await page.getByRole('button', { name: 'Newest' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=search-hit]').length === 20
    && !document.querySelector('.search-results-wrap .loading'));
  assert.match(await hits(page).first().innerText(), /filler number 120/);
  await page.getByRole('button', { name: 'Load more results' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=search-hit]').length === 40);
  const texts = await page.locator('[data-testid=search-hit] .hit-snippet').allInnerTexts();
  assert.equal(new Set(texts).size, 40, 'pages do not repeat results');
  assert.equal(texts[20], 'filler number 100');

  // Scoped to a conversation: Bob's DM with Carol has no quokka.
  const dm = (await api(page, 'POST', '/dms', { user_id: users.carol.id })).room.id;
  await post(page, dm, 'hello carol, no rodents here');
  await page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /^Carol Danvers/ }).click();
  await page.getByRole('button', { name: 'Search in this conversation' }).click();
  await page.getByRole('button', { name: 'In Carol Danvers' }).waitFor();
  await search(page, 'quokka');
  assert.equal(await hits(page).count(), 0);
  await search(page, 'rodents');
  assert.equal(await hits(page).count(), 1);
  await page.getByRole('button', { name: 'Everywhere' }).click();
  await search(page, 'quokka');
  assert.equal(await hits(page).count(), 1);
});

test('a refused query shows the server\'s reason; the panel keeps working', async () => {
  const { page } = users.bob;
  await search(page, '"unbalanced quokka');
  const err = page.getByTestId('search-error');
  assert.match(await err.innerText(), /^q: unbalanced quote/);
  assert.equal(await err.getAttribute('role'), 'alert');
  await search(page, 'form:@alice quokka');
  assert.match(await err.innerText(), /^q: .*form/);
  await search(page, 'quokka');
  assert.equal(await page.getByTestId('search-error').count(), 0);
  assert.equal(await hits(page).count(), 1);
  // Arrow keys move from the box to the results and back; Escape closes the panel.
  await searchBox(page).press('ArrowDown');
  assert.equal(await hits(page).first().evaluate((el) => el === document.activeElement), true);
  await page.keyboard.press('ArrowUp');
  assert.equal(await searchBox(page).evaluate((el) => el === document.activeElement), true);
  await searchBox(page).press('Escape');
  await searchBox(page).waitFor({ state: 'detached' });
});

test('a user who is not in the room never finds its messages', async () => {
  const { page } = users.carol;
  await page.keyboard.press('Control+f');
  await search(page, 'quokka');
  assert.equal(await hits(page).count(), 0);
  await search(page, `in:#Launch filler`);
  assert.equal(await hits(page).count(), 0);
  // Her own DM is found.
  await search(page, 'rodents');
  assert.equal(await hits(page).count(), 1);
});

test('a hit in a thread opens the thread beside its root; the panel passes the accessibility check', async () => {
  const { page } = users.bob;
  const root = (await post(users.alice.page, groupId, 'Who owns the wombat budget?')).message;
  await api(users.alice.page, 'POST', `/rooms/${groupId}/messages`,
            { client_txn_id: 'thread-reply-1', body: 'Finance owns the platypus line item', thread_root: root.id });
  await page.keyboard.press('Control+f');
  await search(page, 'platypus');
  assert.equal(await hits(page).count(), 1);
  assert.match(await hits(page).first().innerText(), /thread/);
  const v = await axeViolations(page);
  assert.deepEqual(v, [], JSON.stringify(v, null, 1));
  await hits(page).first().click();
  const thread = page.getByRole('complementary', { name: 'Thread' });
  const reply = thread.getByTestId('thread-message').filter({ hasText: 'Finance owns the platypus line item' });
  await reply.waitFor();
  await page.waitForFunction(() => document.querySelector('.thread-panel .msg.flash') !== null);
  assert.match(await reply.getAttribute('class'), /\bflash\b/);
  await messageItem(page, 'Who owns the wombat budget?').waitFor();
  await thread.getByRole('button', { name: 'Close thread' }).click();
});

test('mentions: an @ badge in the room list and the tab title, cleared when read', async () => {
  const { page } = users.bob;
  await page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /^Carol Danvers/ }).click();
  await post(users.alice.page, groupId, `@${users.bob.username} can you check the plan?`);
  const room = page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /^Launch/ });
  await room.locator('.badge.mention').waitFor();
  await page.waitForFunction(() => document.title.startsWith('@1 '));
  await room.click();
  await room.locator('.badge.mention').waitFor({ state: 'detached' });
  await page.waitForFunction(() => document.title === 'Parley');
  // The mention is rendered by the server and shown as a mention.
  await page.locator('.msg-body .mention', { hasText: `@${users.bob.username}` }).waitFor();
});

test('mobile: the search pane, a result opens the conversation at the message', async () => {
  const { ctx, page } = await newPage(kMobile);
  await page.getByLabel('Username').fill(users.bob.username);
  await page.getByLabel('Password').fill(kPassword);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
  await page.getByRole('button', { name: 'Search messages' }).click();
  await search(page, 'quokka');
  assert.equal(await page.getByRole('navigation', { name: 'Rooms' }).isVisible(), false, 'one pane at a time');
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), true, 'nothing scrolls sideways');
  await screenshot(page, 'mobile-search');
  await hits(page).first().click();
  const target = messageItem(page, kOld);
  await target.waitFor();
  assert.equal(await searchBox(page).count(), 0, 'the search pane gave way to the conversation');
  assert.equal(await inView(page, target), true);
  await screenshot(page, 'mobile-search-jump');
  await ctx.close();
});
