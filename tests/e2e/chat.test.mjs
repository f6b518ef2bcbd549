// tests/e2e/chat.test.mjs: the web client end to end, in headless Chromium against a real
// `parley serve` with a temporary store. The tests run in order and share users:
// alice, bob and carol sign up in their own browser contexts.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { axeViolations, e2eTest, launchBrowser, screenshot, startServer, uniq, watchPage } from './harness.mjs';

const kPassword = 'correct horse battery';
const kDesktop = { viewport: { width: 1280, height: 800 } };
const kMobile = { viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

let server;
let browser;
const users = {};
const pageErrors = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const test = (name, fn) => e2eTest(name, () => server, fn);

async function newPage(opts = kDesktop, label = 'page') {
  const ctx = await browser.newContext({ ...opts, serviceWorkers: 'block' });
  const page = watchPage(await ctx.newPage(), label);
  page.setDefaultTimeout(10000);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(server.url);
  return { ctx, page };
}

async function signUp(key, display) {
  const { ctx, page } = await newPage(kDesktop, key);
  const username = uniq(key);
  await page.getByRole('tab', { name: 'Create account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Display name').fill(display);
  await page.getByLabel('Password').fill(kPassword);
  await page.getByRole('button', { name: 'Create account', exact: true }).click();
  await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
  users[key] = { ctx, page, username, display };
  return users[key];
}

async function signIn(user, opts) {
  const { ctx, page } = await newPage(opts, `${user.username}-signed-in`);
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(kPassword);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
  return { ctx, page };
}

function composer(page) {
  return page.getByRole('textbox', { name: /^Message / });
}

async function send(page, text) {
  const box = composer(page);
  await box.fill(text);
  await box.press('Enter');
}

function messageBody(page, text) {
  return page.locator('[data-testid=message] .msg-body').getByText(text, { exact: true });
}

/** The message item whose own body is `text` (not one quoting it in a reply). */
function messageItem(page, text) {
  return page.locator('[data-testid=message]').filter({ has: page.locator('.msg-body').getByText(text, { exact: true }) });
}

async function waitForMessage(page, text) {
  await messageBody(page, text).waitFor();
}

async function openRoom(page, title) {
  await page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: new RegExp(`^${title}`) }).click();
  await page.getByRole('heading', { level: 2, name: title }).waitFor();
}

async function connected(page) {
  await page.locator('.conn-connected').waitFor();
}

test('two users sign up and DM each other live, both ways', async () => {
  const alice = await signUp('alice', 'Alice Liddell');
  await screenshot(alice.page, 'desktop-empty');
  const bob = await signUp('bob', 'Bob Builder');
  await connected(alice.page);
  await connected(bob.page);

  await alice.page.getByRole('button', { name: 'New conversation' }).click();
  await alice.page.getByRole('searchbox', { name: 'Find a person' }).fill(bob.username);
  await alice.page.getByRole('button', { name: /Bob Builder/ }).click();
  await alice.page.getByRole('heading', { level: 2, name: 'Bob Builder' }).waitFor();
  await send(alice.page, 'Hi Bob, are you around?');
  await waitForMessage(alice.page, 'Hi Bob, are you around?');
  // Bob is online: a green dot in Alice's header.
  await alice.page.locator('.conv-head [data-presence=online]').waitFor();
  assert.equal(await alice.page.getByTestId('conv-status').innerText(), 'Online');

  // Bob's list gets the DM live with an unread badge and the preview.
  const room = bob.page.getByRole('link', { name: /^Alice Liddell.*1 unread$/ });
  await room.waitFor();
  assert.match(await room.innerText(), /Hi Bob, are you around\?/);
  // Bob's client holds the message without opening the room: Alice sees "Delivered", not "Read".
  const tick = messageItem(alice.page, 'Hi Bob, are you around?').locator('[data-tick]');
  await alice.page.waitForFunction(() => document.querySelector('[data-testid=message] [data-tick]')?.getAttribute('data-tick') === 'delivered');
  await room.click();
  await waitForMessage(bob.page, 'Hi Bob, are you around?');
  // Bob has read it: the tick turns to "Read" live.
  await messageItem(alice.page, 'Hi Bob, are you around?').locator('[data-tick=read]').waitFor();
  assert.equal(await tick.getAttribute('aria-label'), 'Read');
  // Bob types: Alice sees it in the header and above her composer; it stops when he sends.
  await composer(bob.page).pressSequentially('Yes!', { delay: 20 });
  await alice.page.getByTestId('conv-status').getByText('typing…').waitFor();
  await alice.page.locator('.typing-line').getByText('Bob Builder is typing…').waitFor();
  await screenshot(alice.page, 'desktop-dm-typing');
  await composer(bob.page).fill('');
  await send(bob.page, 'Yes! What’s up?');
  await waitForMessage(alice.page, 'Yes! What’s up?');
  // Multi-line with Shift+Enter stays one message.
  await composer(alice.page).fill('line one');
  await composer(alice.page).press('Shift+Enter');
  await composer(alice.page).pressSequentially('line two');
  await composer(alice.page).press('Enter');
  await bob.page.locator('.msg-body', { hasText: 'line one' }).filter({ hasText: 'line two' }).waitFor();
  assert.equal(await messageBody(bob.page, 'Hi Bob, are you around?').count(), 1);
});

test('a group of three with a reply, an edit and a delete', async () => {
  const { alice, bob } = users;
  const carol = await signUp('carol', 'Carol Danvers');
  await alice.page.getByRole('button', { name: 'New conversation' }).click();
  await alice.page.getByRole('tab', { name: 'Group' }).click();
  await alice.page.getByLabel('Group name').fill('Launch plan');
  for (const u of [bob, carol]) {
    await alice.page.getByRole('searchbox', { name: 'Add people' }).fill(u.username);
    await alice.page.getByRole('button', { name: new RegExp(u.display) }).click();
  }
  await alice.page.getByRole('button', { name: /^Create group with 2 people/ }).click();
  await alice.page.getByRole('heading', { level: 2, name: 'Launch plan' }).waitFor();
  await send(alice.page, 'Kickoff is Monday at 10.');

  await openRoom(bob.page, 'Launch plan');
  await waitForMessage(bob.page, 'Kickoff is Monday at 10.');
  const original = messageItem(bob.page, 'Kickoff is Monday at 10.');
  await original.hover();
  await original.getByRole('button', { name: 'Reply' }).click();
  await bob.page.getByText('Replying to').waitFor();
  await send(bob.page, 'Works for me.');

  await openRoom(carol.page, 'Launch plan');
  const reply = messageItem(carol.page, 'Works for me.');
  await reply.waitFor();
  assert.match(await reply.locator('.reply-quote').innerText(), /Alice Liddell[\s\S]*Kickoff is Monday at 10\./);
  await waitForMessage(alice.page, 'Works for me.');

  // Alice edits her message; everyone sees the new text marked as edited.
  const mine = messageItem(alice.page, 'Kickoff is Monday at 10.');
  await mine.hover();
  await mine.getByRole('button', { name: 'Edit' }).click();
  const edit = alice.page.getByRole('textbox', { name: 'Edit message' });
  await edit.fill('Kickoff is Monday at 11.');
  await edit.press('Enter');
  await waitForMessage(alice.page, 'Kickoff is Monday at 11.');
  await waitForMessage(carol.page, 'Kickoff is Monday at 11.');
  await messageItem(carol.page, 'Kickoff is Monday at 11.').getByText('(edited)').waitFor();

  // Carol writes something and deletes it; the others see a tombstone.
  await send(carol.page, 'oops, wrong room');
  await waitForMessage(bob.page, 'oops, wrong room');
  const oops = messageItem(carol.page, 'oops, wrong room');
  await oops.hover();
  await oops.getByRole('button', { name: 'Delete' }).click();
  await oops.getByRole('button', { name: 'Confirm delete' }).click();
  await bob.page.getByText('This message was deleted.').waitFor();
  assert.equal(await messageBody(bob.page, 'oops, wrong room').count(), 0);

  // Reactions: Bob and Carol react with 🎉 (Carol from the full picker), everyone sees 2;
  // Bob toggles his off and everyone sees 1.
  const kickoff = (page) => messageItem(page, 'Kickoff is Monday at 11.');
  await kickoff(bob.page).hover();
  await kickoff(bob.page).getByRole('button', { name: 'Add reaction' }).click();
  await bob.page.getByRole('button', { name: 'React with 🎉' }).click();
  await kickoff(carol.page).locator('[data-emoji="🎉"]').waitFor();
  await kickoff(carol.page).hover();
  await kickoff(carol.page).getByRole('button', { name: 'Add reaction' }).click();
  await carol.page.getByRole('button', { name: 'More emoji' }).click();
  await carol.page.getByRole('searchbox', { name: 'Search emoji' }).fill('tada');
  await carol.page.getByRole('option', { name: /party popper/ }).click();
  const chip = (page) => kickoff(page).locator('[data-emoji="🎉"]');
  await alice.page.waitForFunction(() => document.querySelector('[data-emoji="🎉"] .reaction-count')?.textContent === '2');
  assert.equal(await chip(carol.page).getAttribute('aria-pressed'), 'true');
  await screenshot(alice.page, 'desktop-group-reactions');
  await chip(bob.page).click();
  await carol.page.waitForFunction(() => document.querySelector('[data-emoji="🎉"] .reaction-count')?.textContent === '1');
  assert.equal(await chip(bob.page).getAttribute('aria-pressed'), 'false');

  // "Read by" on request in a group: Alice's message was read by Bob and Carol.
  await kickoff(alice.page).hover();
  await kickoff(alice.page).getByRole('button', { name: 'Read by' }).click();
  assert.match(await alice.page.getByTestId('read-by').innerText(), /Read by 2: (Bob Builder, Carol Danvers|Carol Danvers, Bob Builder)/);

  // A reply thread: Carol answers Bob's message in a thread; it stays out of the timeline and
  // the root shows "1 reply" live for Alice, who opens the panel and answers there too.
  const works = (page) => messageItem(page, 'Works for me.');
  await works(carol.page).hover();
  await works(carol.page).getByRole('button', { name: 'Thread', exact: true }).click();
  const carolThread = carol.page.getByRole('complementary', { name: 'Thread' });
  await carolThread.getByRole('textbox', { name: 'Reply in thread' }).fill('Can we share the agenda first?');
  await carolThread.getByRole('textbox', { name: 'Reply in thread' }).press('Enter');
  await carolThread.getByTestId('thread-message').filter({ hasText: 'Can we share the agenda first?' }).waitFor();
  await works(alice.page).getByRole('button', { name: /^1 reply/ }).click();
  const aliceThread = alice.page.getByRole('complementary', { name: 'Thread' });
  await aliceThread.getByTestId('thread-message').filter({ hasText: 'Can we share the agenda first?' }).waitFor();
  await aliceThread.getByRole('textbox', { name: 'Reply in thread' }).fill('Yes, I will post it today.');
  await aliceThread.getByRole('textbox', { name: 'Reply in thread' }).press('Enter');
  await carolThread.getByTestId('thread-message').filter({ hasText: 'Yes, I will post it today.' }).waitFor();
  await works(bob.page).getByRole('button', { name: /^2 replies/ }).waitFor();
  assert.equal(await messageBody(bob.page, 'Can we share the agenda first?').count(), 0);
  await screenshot(alice.page, 'desktop-thread');
  await aliceThread.getByRole('button', { name: 'Close thread' }).click();

  // Pins: Alice pins her kickoff message; Bob sees it marked live.
  await kickoff(alice.page).hover();
  await kickoff(alice.page).getByRole('button', { name: 'Pin', exact: true }).click();
  await kickoff(bob.page).getByTestId('pinned').waitFor();
  await kickoff(alice.page).getByTestId('pinned').waitFor();
  await carolThread.getByRole('button', { name: 'Close thread' }).click();
  await screenshot(bob.page, 'desktop-group');
});

test('reload keeps rooms and history', async () => {
  const { alice } = users;
  await alice.page.reload();
  await alice.page.getByRole('heading', { level: 2, name: 'Launch plan' }).waitFor(); // the URL names the room
  await waitForMessage(alice.page, 'Works for me.');
  await waitForMessage(alice.page, 'Kickoff is Monday at 11.');
  const list = alice.page.getByRole('navigation', { name: 'Rooms' });
  await list.getByRole('link', { name: /^Bob Builder/ }).waitFor();
  // Most recent activity first.
  const titles = await list.locator('.room-title').allInnerTexts();
  assert.deepEqual(titles, ['Launch plan', 'Bob Builder']);
  await openRoom(alice.page, 'Bob Builder');
  await waitForMessage(alice.page, 'Yes! What’s up?');
});

test('messages written offline are sent once each when the network returns', async () => {
  const { alice, bob } = users;
  await openRoom(bob.page, 'Launch plan');
  await openRoom(alice.page, 'Launch plan');
  await connected(bob.page);
  await bob.ctx.setOffline(true);
  await bob.page.locator('.conn-offline').waitFor();
  await send(bob.page, 'offline one');
  await send(bob.page, 'offline two');
  await bob.page.getByText('2 messages will be sent when you are back.').waitFor();
  assert.equal(await bob.page.locator('[data-testid=pending-message]').count(), 2);
  // The room goes on without Bob: Carol's message reaches Alice, Bob's queued ones do not.
  await send(users.carol.page, 'Carol here while Bob is away');
  await waitForMessage(alice.page, 'Carol here while Bob is away');
  assert.equal(await messageBody(alice.page, 'offline one').count(), 0);

  await bob.ctx.setOffline(false);
  await waitForMessage(alice.page, 'offline one');
  await waitForMessage(alice.page, 'offline two');
  await waitForMessage(bob.page, 'Carol here while Bob is away'); // missed while offline: resumed
  await bob.page.locator('[data-testid=pending-message]').first().waitFor({ state: 'detached' });
  // A message sent after them on the same connection: once it is shown, a duplicate of the
  // two (a resend the server did not recognise) would have been shown before it.
  await send(bob.page, 'back online');
  await waitForMessage(alice.page, 'back online');
  await waitForMessage(bob.page, 'back online');
  for (const page of [alice.page, bob.page]) {
    assert.equal(await messageBody(page, 'offline one').count(), 1);
    assert.equal(await messageBody(page, 'offline two').count(), 1);
  }
  // In order.
  const bodies = await alice.page.locator('[data-testid=message] .msg-body').allInnerTexts();
  assert.deepEqual(bodies.filter((b) => b.startsWith('offline ')), ['offline one', 'offline two']);
  await screenshot(alice.page, 'desktop-conversation');
});

test('mobile 360x640: one pane at a time, back navigation, nothing scrolls sideways', async () => {
  const { ctx, page } = await signIn(users.carol, kMobile);
  const noSideScroll = () => page.evaluate(() => document.scrollingElement.scrollWidth <= window.innerWidth);
  const sidebar = page.getByRole('complementary', { name: 'Conversations' });
  await sidebar.waitFor();
  assert.equal(await page.locator('.main-pane').isVisible(), false);
  assert.ok(await noSideScroll());
  await screenshot(page, 'mobile-list');

  await page.getByRole('link', { name: /^Launch plan/ }).tap();
  await page.getByRole('heading', { level: 2, name: 'Launch plan' }).waitFor();
  assert.equal(await sidebar.isVisible(), false);
  await waitForMessage(page, 'offline two');
  assert.ok(await noSideScroll());
  // Touch targets: send and back are at least 44 px.
  for (const name of ['Back to conversations', 'Send message']) {
    const box = await page.getByRole('button', { name }).boundingBox();
    assert.ok(box.width >= 44 && box.height >= 44, `${name} is ${box.width}x${box.height}`);
  }
  await send(page, 'Sent from my phone');
  await waitForMessage(users.alice.page, 'Sent from my phone');
  // The composer stays on screen (the page itself never scrolls; only the timeline does).
  const box = await composer(page).boundingBox();
  assert.ok(box.y >= 0 && box.y + box.height <= 640, `composer at ${box.y}+${box.height}`);
  assert.equal(await page.evaluate(() => document.scrollingElement.scrollTop), 0);
  await screenshot(page, 'mobile-conversation');
  const a11y = await axeViolations(page);
  assert.deepEqual(a11y, [], JSON.stringify(a11y, null, 1));

  await page.getByRole('button', { name: 'Back to conversations' }).tap();
  await sidebar.waitFor();
  assert.equal(await page.locator('.main-pane').isVisible(), false);
  assert.ok(await noSideScroll());
  await ctx.close();
});

test('Ctrl/Cmd-K switcher, the new messages divider, and settings: name, sessions, privacy', async () => {
  const { alice, bob } = users;
  await openRoom(bob.page, 'Launch plan');
  await openRoom(alice.page, 'Bob Builder');
  await send(alice.page, 'Are you free at 3?');
  await send(alice.page, 'Or at 4?');
  await bob.page.getByRole('link', { name: /^Alice Liddell.*2 unread$/ }).waitFor();

  // Bob jumps there with the keyboard; the divider sits above the first unread message.
  await bob.page.keyboard.press('Control+k');
  const sw = bob.page.getByRole('dialog', { name: 'Switch conversation' });
  await sw.getByRole('combobox').fill('ali');
  await sw.getByRole('combobox').press('Enter');
  await bob.page.getByRole('heading', { level: 2, name: 'Alice Liddell' }).waitFor();
  const divider = bob.page.getByRole('separator', { name: 'New messages' });
  await divider.waitFor();
  assert.equal(await divider.evaluate((el) => el.nextElementSibling?.querySelector('.msg-body')?.textContent), 'Are you free at 3?');
  await screenshot(bob.page, 'desktop-new-messages');

  // Settings: display name, then sessions: signing out another device ends it at once.
  const other = await signIn(bob);
  await bob.page.getByRole('button', { name: 'Settings' }).click();
  const dlg = bob.page.getByRole('dialog', { name: 'Settings' });
  await dlg.getByLabel('Display name').fill('Bob the Builder');
  await dlg.getByRole('button', { name: 'Save' }).click();
  await dlg.getByText('Display name saved.').waitFor();
  await bob.page.locator('.sidebar-foot').getByText('Bob the Builder').waitFor();
  await dlg.getByRole('tab', { name: 'Sessions' }).click();
  await dlg.getByTestId('session').nth(1).waitFor();
  assert.equal(await dlg.getByTestId('session').count(), 2);
  const v = await axeViolations(bob.page);
  assert.deepEqual(v, [], `settings: ${JSON.stringify(v, null, 1)}`);
  await screenshot(bob.page, 'desktop-settings');
  await dlg.getByRole('button', { name: /^Sign out / }).click();
  await other.page.getByRole('tab', { name: 'Sign in' }).waitFor();
  await other.ctx.close();
  // The list is read again after the revoke answers, which can be after the other tab is signed out.
  await dlg.getByTestId('session').nth(1).waitFor({ state: 'detached' });
  assert.equal(await dlg.getByTestId('session').count(), 1);

  // Privacy: with read receipts off, Alice's next message shows delivered, never read.
  await dlg.getByRole('tab', { name: 'Privacy' }).click();
  await dlg.getByRole('switch', { name: /Send read receipts/ }).uncheck();
  await dlg.getByText('Saved.').waitFor();
  await bob.page.keyboard.press('Escape');
  await send(alice.page, 'Receipts off now?');
  await waitForMessage(bob.page, 'Receipts off now?');
  const tick = messageItem(alice.page, 'Receipts off now?').locator('[data-tick]');
  await messageItem(alice.page, 'Receipts off now?').locator('[data-tick=delivered]').waitFor();
  // Bob has read it (the room is open) and answers: a read receipt would have reached Alice
  // before his answer, which his connection sends after the read.
  await send(bob.page, 'Yes, they are.');
  await waitForMessage(alice.page, 'Yes, they are.');
  assert.equal(await tick.getAttribute('data-tick'), 'delivered');
});

test('composer: @mention and :shortcode: completion by keyboard, and a markdown preview', async () => {
  const { alice, bob } = users;
  await openRoom(alice.page, 'Launch plan');
  await bob.page.getByRole('heading', { level: 2, name: 'Alice Liddell' }).waitFor(); // Bob is elsewhere
  const box = composer(alice.page);
  await box.click();
  await box.pressSequentially('**Agenda** is up, @bo');
  // A list of people opens as a listbox tied to the textbox; the first entry is highlighted.
  const people = alice.page.getByRole('listbox', { name: 'People' });
  const bobOption = people.getByRole('option', { name: new RegExp(`^Bob .*@${bob.username}$`) });
  await bobOption.waitFor();
  assert.equal(await bobOption.getAttribute('aria-selected'), 'true');
  assert.equal(await box.getAttribute('aria-activedescendant'), await bobOption.getAttribute('id'));
  await screenshot(alice.page, 'desktop-composer-mention');
  await box.press('Enter'); // picks Bob; Enter sends only when no list is open
  await people.waitFor({ state: 'detached' });
  assert.equal(await box.inputValue(), `**Agenda** is up, @${bob.username} `);
  assert.equal(await messageItem(alice.page, 'Agenda is up,').count(), 0);

  // :sm opens emoji; Escape closes the list and leaves the text alone.
  await box.pressSequentially('see :sm');
  const emoji = alice.page.getByRole('listbox', { name: 'Emoji' });
  await emoji.getByRole('option').first().waitFor();
  await box.press('Escape');
  await emoji.waitFor({ state: 'detached' });
  assert.equal(await box.inputValue(), `**Agenda** is up, @${bob.username} see :sm`);
  for (let i = 0; i < 3; i++) await box.press('Backspace');
  // :tada picks the party popper with the keyboard (Down to it, Tab to insert).
  await box.pressSequentially(':tada');
  const tada = emoji.getByRole('option', { name: /:tada:/ });
  await tada.waitFor();
  while (await tada.getAttribute('aria-selected') !== 'true') await box.press('ArrowDown');
  await box.press('Tab');
  await emoji.waitFor({ state: 'detached' });
  assert.equal(await box.inputValue(), `**Agenda** is up, @${bob.username} see 🎉 `);
  // A shortcode typed out in full becomes its emoji at once.
  await box.pressSequentially(':+1:');
  assert.equal(await box.inputValue(), `**Agenda** is up, @${bob.username} see 🎉 👍\uFE0F`); // as emojibase spells it

  // The preview shows the formatting as the message will show it.
  await alice.page.getByRole('button', { name: 'Preview' }).click();
  const preview = alice.page.getByRole('region', { name: 'Preview' });
  assert.equal(await preview.locator('strong').innerText(), 'Agenda');
  assert.doesNotMatch(await preview.innerText(), /\*\*/);
  await screenshot(alice.page, 'desktop-composer-preview');
  await alice.page.getByRole('button', { name: 'Preview' }).click();
  await preview.waitFor({ state: 'detached' });

  await box.press('Enter');
  const sent = alice.page.locator('[data-testid=message] .msg-body', { hasText: 'is up,' });
  await sent.locator('strong', { hasText: 'Agenda' }).waitFor();
  assert.match(await sent.innerText(), /see 🎉 👍/);
  // Bob, in another room, sees that the group mentions him.
  const room = bob.page.getByRole('link', { name: /^Launch plan/ });
  await room.locator('.badge.mention').waitFor();
  await openRoom(bob.page, 'Launch plan');
  await bob.page.locator('.msg-body .mention', { hasText: `@${bob.username}` }).waitFor();
});

test('accessibility: no serious or critical axe violations on the main screens', async () => {
  const { ctx, page } = await newPage(kDesktop, 'signed-out');
  await page.getByRole('tab', { name: 'Sign in' }).waitFor();
  await screenshot(page, 'desktop-sign-in');
  let v = await axeViolations(page);
  assert.deepEqual(v, [], `sign-in: ${JSON.stringify(v, null, 1)}`);
  await ctx.close();

  const { alice } = users;
  await openRoom(alice.page, 'Launch plan');
  v = await axeViolations(alice.page);
  assert.deepEqual(v, [], `conversation: ${JSON.stringify(v, null, 1)}`);
  await alice.page.getByRole('button', { name: 'New conversation' }).click();
  await alice.page.getByRole('dialog', { name: 'New conversation' }).waitFor();
  v = await axeViolations(alice.page);
  assert.deepEqual(v, [], `new conversation dialog: ${JSON.stringify(v, null, 1)}`);
  await alice.page.keyboard.press('Escape');

  // Dark theme follows the system.
  const dark = await signIn(users.bob, { ...kDesktop, colorScheme: 'dark' });
  await openRoom(dark.page, 'Launch plan');
  await waitForMessage(dark.page, 'Sent from my phone');
  v = await axeViolations(dark.page);
  assert.deepEqual(v, [], `dark conversation: ${JSON.stringify(v, null, 1)}`);
  await screenshot(dark.page, 'desktop-dark');
  await dark.ctx.close();
});

test('signing out returns to the sign-in screen and ends the session', async () => {
  const { alice } = users;
  await alice.page.getByRole('button', { name: 'Sign out' }).click();
  await alice.page.getByRole('tab', { name: 'Sign in' }).waitFor();
  const status = await alice.page.evaluate(async () => (await fetch('/api/v1/users/me')).status);
  assert.equal(status, 401);
  assert.deepEqual(pageErrors, []);
});
