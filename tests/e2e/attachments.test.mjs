// tests/e2e/attachments.test.mjs: files in the web client end to end, in headless Chromium
// against a real `parley serve`: Alice uploads real images (drawn on a canvas in the browser,
// encoded as PNG and JPEG) into a DM with Bob by the attach button, by drag and drop and by
// paste, and watches the progress; Bob sees the thumbnails, opens the lightbox (keyboard
// included) and downloads the original byte for byte; a file of a refused type shows an error
// and sends nothing; an upload in progress is cancelled. The tests run in order and share users.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before } from 'node:test';
import { axeViolations, e2eTest, launchBrowser, screenshot, startServer, uniq, watchPage } from './harness.mjs';

const kPassword = 'correct horse battery';
const kDesktop = { viewport: { width: 1280, height: 800 } };
const kMobile = { viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

let server;
let browser;
const users = {};
const pageErrors = [];
const images = {};

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// node:test's test, saving screenshot, HTML and log of every open page when one fails.
const test = (name, fn) => e2eTest(name, () => server, fn);

let pages = 0;
async function newPage(opts = kDesktop) {
  const ctx = await browser.newContext({ ...opts, serviceWorkers: 'block', acceptDownloads: true });
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
  users[key] = { ctx, page, username, display };
  return users[key];
}

async function signIn(user, opts) {
  const { ctx, page } = await newPage(opts);
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(kPassword);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
  return { ctx, page };
}

const composer = (page) => page.getByRole('textbox', { name: /^Message / });
const sendButton = (page) => page.getByRole('button', { name: 'Send message' });
const chips = (page) => page.getByTestId('upload-chip');
const messages = (page) => page.locator('[data-testid=message]');
const messageItem = (page, text) =>
  page.locator('[data-testid=message]').filter({ has: page.locator('.msg-body').getByText(text, { exact: true }) });

/** Draws a picture on a canvas in the page and returns it encoded (PNG or JPEG) as a Buffer. */
async function drawImage(page, { width, height, type, hue, label }) {
  const b64 = await page.evaluate(async ({ width, height, type, hue, label }) => {
    const c = document.createElement('canvas');
    c.width = width;
    c.height = height;
    const g = c.getContext('2d');
    const sky = g.createLinearGradient(0, 0, 0, height);
    sky.addColorStop(0, `hsl(${hue} 70% 62%)`);
    sky.addColorStop(1, `hsl(${(hue + 40) % 360} 80% 86%)`);
    g.fillStyle = sky;
    g.fillRect(0, 0, width, height);
    g.fillStyle = `hsl(${(hue + 180) % 360} 90% 70%)`;
    g.beginPath();
    g.arc(width * 0.72, height * 0.3, Math.min(width, height) * 0.12, 0, Math.PI * 2);
    g.fill();
    for (let layer = 0; layer < 3; layer++) {
      g.fillStyle = `hsl(${(hue + 200) % 360} 35% ${38 - layer * 10}%)`;
      g.beginPath();
      g.moveTo(0, height);
      for (let x = 0; x <= width; x += width / 8) {
        const peak = height * (0.45 + layer * 0.12) + Math.sin(x / (70 + layer * 40) + layer) * height * 0.08;
        g.lineTo(x, peak);
      }
      g.lineTo(width, height);
      g.fill();
    }
    // Fine grain, so the file has some size (and the upload some duration when throttled).
    const px = g.getImageData(0, 0, width, height);
    let seed = hue * 7919 + 1;
    for (let i = 0; i < px.data.length; i += 4) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const n = (seed % 17) - 8;
      px.data[i] += n; px.data[i + 1] += n; px.data[i + 2] += n;
    }
    g.putImageData(px, 0, 0);
    g.fillStyle = 'rgb(255 255 255 / 90%)';
    g.font = `bold ${Math.round(height / 12)}px sans-serif`;
    g.fillText(label, width * 0.06, height * 0.16);
    const blob = await new Promise((r) => c.toBlob(r, type, 0.9));
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }, { width, height, type, hue, label });
  return Buffer.from(b64, 'base64');
}

/** Slows the page's uploads down (Chromium's network emulation), or back to full speed. */
async function throttleUploads(ctx, page, bytesPerSecond) {
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond ?? -1,
  });
  return cdp;
}

/** Every aria-valuenow a page's upload progress bars show, recorded as they change. */
async function recordProgress(page) {
  await page.evaluate(() => {
    window.__progress = [];
    const seen = () => {
      for (const bar of document.querySelectorAll('[data-testid=upload-chip] [role=progressbar]')) {
        window.__progress.push(Number(bar.getAttribute('aria-valuenow')));
      }
    };
    new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true,
                                                        attributeFilter: ['aria-valuenow'] });
  });
  return () => page.evaluate(() => window.__progress);
}

/** Drops files onto an element the way a drag from the desktop does (DataTransfer of Files). */
async function dropFiles(page, selector, files) {
  const payload = files.map((f) => ({ name: f.name, type: f.mimeType, b64: f.buffer.toString('base64') }));
  await page.evaluate(({ selector, payload }) => {
    const dt = new DataTransfer();
    for (const f of payload) {
      const bin = atob(f.b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      dt.items.add(new File([bytes], f.name, { type: f.type }));
    }
    const target = document.querySelector(selector);
    const opts = { bubbles: true, cancelable: true, dataTransfer: dt };
    target.dispatchEvent(new DragEvent('dragenter', opts));
    target.dispatchEvent(new DragEvent('dragover', opts));
    window.__dropTarget = document.querySelector('.conversation').classList.contains('drop-target');
    target.dispatchEvent(new DragEvent('drop', opts));
  }, { selector, payload });
  return page.evaluate(() => window.__dropTarget);
}

/** The size as the client shows it (decimal units, one decimal below 100). */
function sizeText(n) {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB'];
  let v = n;
  let i = -1;
  do { v /= 1000; i++; } while (v >= 999.5 && i < units.length - 1);
  return `${v >= 100 ? Math.round(v) : v.toFixed(1).replace(/\.0$/, '')} ${units[i]}`;
}

async function chooseFiles(page, files, scope = page.locator('.composer').first()) {
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'),
                                       scope.getByRole('button', { name: 'Attach files' }).click()]);
  assert.equal(chooser.isMultiple(), true);
  await chooser.setFiles(files);
}

test('Alice attaches an image by the button, watches it upload, and sends it with a caption', async () => {
  const alice = await signUp('alice', 'Alice Liddell');
  const bob = await signUp('bob', 'Bob Builder');
  images.lake = await drawImage(alice.page, { width: 1200, height: 800, type: 'image/png', hue: 200, label: 'Lake Bled' });
  images.peak = await drawImage(alice.page, { width: 600, height: 900, type: 'image/jpeg', hue: 20, label: 'Triglav' });
  images.fields = await drawImage(alice.page, { width: 900, height: 600, type: 'image/png', hue: 100, label: 'Fields' });
  assert.deepEqual([...images.lake.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  assert.equal(images.peak[0], 0xff);
  assert.equal(images.peak[1], 0xd8);       // JPEG SOI

  await alice.page.getByRole('button', { name: 'New conversation' }).click();
  await alice.page.getByRole('searchbox', { name: 'Find a person' }).fill(bob.username);
  await alice.page.getByRole('button', { name: /Bob Builder/ }).click();
  await alice.page.getByRole('heading', { level: 2, name: 'Bob Builder' }).waitFor();
  await composer(alice.page).fill('Photos from the trip');

  // Throttled (about 6 s for the file) so the progress can be seen, with room for a slow
  // machine between the checks below: the bar moves through values between 0 and 100,
  // and Send stays disabled until the upload is done.
  const cdp = await throttleUploads(alice.ctx, alice.page, Math.ceil(images.lake.length / 6));
  const progress = await recordProgress(alice.page);
  await chooseFiles(alice.page, [{ name: 'lake-bled.png', mimeType: 'image/png', buffer: images.lake }]);
  const chip = chips(alice.page).first();
  await chip.waitFor();
  assert.match(await chip.innerText(), /lake-bled\.png/);
  await alice.page.waitForFunction(() => window.__progress.some((v) => v > 0 && v < 100));
  assert.equal(await chip.getAttribute('data-state'), 'uploading');
  assert.equal(await sendButton(alice.page).isDisabled(), true);
  await composer(alice.page).press('Enter');                       // Enter does not send yet either
  assert.equal(await composer(alice.page).inputValue(), 'Photos from the trip');
  await alice.page.locator('[data-testid=upload-chip][data-state=done]').waitFor({ timeout: 20000 });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const values = await progress();
  assert.ok(values.some((v) => v > 0 && v < 100), `intermediate progress seen: ${values.join(',')}`);
  for (let i = 1; i < values.length; i++) assert.ok(values[i] >= values[i - 1] || values[i] === 0, `progress never goes back: ${values}`);
  assert.match(await chip.innerText(), new RegExp(`lake-bled\\.png\\s+${sizeText(images.lake.length).replace('.', '\\.')}$`));
  await sendButton(alice.page).waitFor({ state: 'visible' });
  assert.equal(await sendButton(alice.page).isDisabled(), false);
  await composer(alice.page).press('Enter');
  await chips(alice.page).first().waitFor({ state: 'detached' });   // the tray empties on send

  const mine = messageItem(alice.page, 'Photos from the trip');
  await mine.getByTestId('attachment-image').waitFor();
  // The thumbnail box keeps the image's 3:2 shape, and the picture loads.
  const box = await mine.getByTestId('attachment-image').boundingBox();
  assert.ok(Math.abs(box.width / box.height - 1.5) < 0.03, `3:2 box, got ${box.width}x${box.height}`);
  await alice.page.waitForFunction(() => {
    const img = document.querySelector('[data-testid=attachment-image] img');
    return img && img.complete && img.naturalWidth > 0;
  });
});

test('Bob sees the thumbnail at its size before it loads, opens the lightbox and downloads the original', async () => {
  const { bob } = users;
  await bob.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /^Alice Liddell/ }).click();
  const msg = messageItem(bob.page, 'Photos from the trip');
  const thumb = msg.getByTestId('attachment-image');
  await thumb.waitFor();
  // The box is reserved from the stored dimensions (width/height attributes), so nothing jumps
  // when the picture arrives.
  const img = thumb.locator('img');
  assert.equal(await img.getAttribute('width'), '360');
  assert.equal(await img.getAttribute('height'), '240');
  const before = await thumb.boundingBox();
  await bob.page.waitForFunction(() => {
    const i = document.querySelector('[data-testid=attachment-image] img');
    return i && i.complete && i.naturalWidth > 0;
  });
  const afterLoad = await thumb.boundingBox();
  assert.deepEqual([Math.round(afterLoad.width), Math.round(afterLoad.height)], [Math.round(before.width), Math.round(before.height)]);
  assert.equal(await img.getAttribute('alt'), 'lake-bled.png');

  await thumb.click();
  const dialog = bob.page.getByRole('dialog', { name: /lake-bled\.png/ });
  await dialog.waitFor();
  await bob.page.waitForFunction(() => {
    const i = document.querySelector('[data-testid=lightbox-image]');
    return i && i.complete && i.naturalWidth > 0;
  });
  // The preview is the server's rendition (WebP), at most 1280 px: the 1200×800 original fits.
  const natural = await bob.page.getByTestId('lightbox-image').evaluate((i) => [i.naturalWidth, i.naturalHeight]);
  assert.deepEqual(natural, [1200, 800]);
  assert.match(await dialog.innerText(), /1200 × 800/);
  assert.deepEqual(await axeViolations(bob.page), []);
  await screenshot(bob.page, 'desktop-lightbox');

  const [download] = await Promise.all([bob.page.waitForEvent('download'),
                                        dialog.getByRole('link', { name: 'Download lake-bled.png' }).click()]);
  assert.equal(download.suggestedFilename(), 'lake-bled.png');
  const got = readFileSync(await download.path());
  assert.equal(got.length, images.lake.length);
  assert.ok(got.equals(images.lake), 'the downloaded file is the original, byte for byte');

  await bob.page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  // Focus goes back to the thumbnail that opened it.
  assert.equal(await thumb.evaluate((el) => el === document.activeElement), true);
});

test('drag and drop of several images, one message; the lightbox goes between them by keyboard', async () => {
  const { alice, bob } = users;
  const zoneWasMarked = await dropFiles(alice.page, '.timeline', [
    { name: 'triglav.jpg', mimeType: 'image/jpeg', buffer: images.peak },
    { name: 'fields.png', mimeType: 'image/png', buffer: images.fields },
  ]);
  assert.equal(zoneWasMarked, true, 'the conversation shows the drop overlay while files are dragged over it');
  assert.equal(await alice.page.locator('.conversation.drop-target').count(), 0);
  await alice.page.locator('[data-testid=upload-chip][data-state=done]').nth(1).waitFor();
  assert.deepEqual(await chips(alice.page).locator('.chip-name').allInnerTexts(), ['triglav.jpg', 'fields.png']);
  // Local previews of the images show in the chips before anything is sent.
  assert.equal(await chips(alice.page).locator('.chip-thumb img').count(), 2);
  await composer(alice.page).fill('Two more');
  await composer(alice.page).press('Enter');

  const msg = messageItem(bob.page, 'Two more');
  await msg.getByTestId('attachment-image').nth(1).waitFor();
  assert.equal(await msg.getByTestId('attachment-image').count(), 2);
  await msg.getByTestId('attachment-image').first().click();
  const dialog = bob.page.getByRole('dialog');
  await bob.page.getByRole('dialog', { name: 'triglav.jpg, image 1 of 2' }).waitFor();
  await bob.page.keyboard.press('ArrowRight');
  await bob.page.getByRole('dialog', { name: 'fields.png, image 2 of 2' }).waitFor();
  await bob.page.keyboard.press('ArrowRight');                     // wraps around
  await bob.page.getByRole('dialog', { name: 'triglav.jpg, image 1 of 2' }).waitFor();
  await bob.page.keyboard.press('ArrowLeft');
  await bob.page.getByRole('dialog', { name: 'fields.png, image 2 of 2' }).waitFor();
  // Focus stays inside the dialog however far one tabs.
  for (let i = 0; i < 8; i++) {
    await bob.page.keyboard.press('Tab');
    assert.equal(await dialog.evaluate((d) => d.contains(document.activeElement)), true, `tab ${i}`);
  }
  // The JPEG's preview keeps its portrait shape (600×900).
  await bob.page.keyboard.press('ArrowLeft');
  await bob.page.waitForFunction(() => {
    const i = document.querySelector('[data-testid=lightbox-image]');
    return i && i.complete && i.naturalWidth === 600 && i.naturalHeight === 900;
  });
  await bob.page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
});

test('a reply in a thread carries an image too', async () => {
  const { alice, bob } = users;
  const root = messageItem(bob.page, 'Two more');
  await root.hover();
  await root.getByRole('button', { name: 'Thread', exact: true }).click();
  const panel = bob.page.getByRole('complementary', { name: 'Thread' });
  await panel.waitFor();
  await chooseFiles(bob.page, [{ name: 'reply.png', mimeType: 'image/png', buffer: images.fields }], panel);
  await panel.locator('[data-testid=upload-chip][data-state=done]').waitFor();
  await panel.getByRole('textbox', { name: 'Reply in thread' }).fill('the same, from me');
  await panel.getByRole('button', { name: 'Send reply' }).click();
  await panel.locator('[data-testid=thread-message] [data-testid=attachment-image] img[alt="reply.png"]').waitFor();
  assert.equal(await panel.getByTestId('upload-chip').count(), 0);
  // Alice sees the reply count on the root and the image inside the thread.
  const aliceRoot = messageItem(alice.page, 'Two more');
  await aliceRoot.getByRole('button', { name: /1 reply/ }).click();
  const alicePanel = alice.page.getByRole('complementary', { name: 'Thread' });
  await alicePanel.locator('[data-testid=thread-message] [data-testid=attachment-image] img[alt="reply.png"]').waitFor();
  await alice.page.waitForFunction(() => [...document.querySelectorAll('.thread-panel [data-testid=attachment-image] img')]
    .every((i) => i.complete && i.naturalWidth > 0));
  await screenshot(alice.page, 'desktop-thread-attachment');
  for (const p of [alice.page, bob.page]) {
    await p.getByRole('button', { name: 'Close thread' }).click();
    await p.getByRole('complementary', { name: 'Thread' }).waitFor({ state: 'detached' });
  }
});

test('files wait in their own room: switching rooms and back keeps them, the other room has none', async () => {
  const { alice, bob } = users;
  await alice.page.getByRole('button', { name: 'New conversation' }).click();
  await alice.page.getByRole('tab', { name: 'Group' }).click();
  await alice.page.getByLabel('Group name').fill('Trip planning');
  await alice.page.getByRole('searchbox', { name: 'Add people' }).fill(bob.username);
  await alice.page.getByRole('button', { name: /Bob Builder/ }).click();
  await alice.page.getByRole('button', { name: /^Create group with 1 / }).click();
  await alice.page.getByRole('heading', { level: 2, name: 'Trip planning' }).waitFor();
  await chooseFiles(alice.page, [{ name: 'route.png', mimeType: 'image/png', buffer: images.fields }]);
  await alice.page.locator('[data-testid=upload-chip][data-state=done]').waitFor();

  const rooms = alice.page.getByRole('navigation', { name: 'Rooms' });
  await rooms.getByRole('link', { name: /^Bob Builder/ }).click();
  await alice.page.getByRole('heading', { level: 2, name: 'Bob Builder' }).waitFor();
  assert.equal(await chips(alice.page).count(), 0, 'the DM has no files waiting');
  await rooms.getByRole('link', { name: /^Trip planning/ }).click();
  await alice.page.getByRole('heading', { level: 2, name: 'Trip planning' }).waitFor();
  assert.deepEqual(await chips(alice.page).locator('.chip-name').allInnerTexts(), ['route.png']);
  await composer(alice.page).fill('the route');
  await composer(alice.page).press('Enter');
  await messageItem(alice.page, 'the route').locator('img[alt="route.png"]').waitFor();
  await rooms.getByRole('link', { name: /^Bob Builder/ }).click();
  await alice.page.getByRole('heading', { level: 2, name: 'Bob Builder' }).waitFor();
});

test('a pasted image is attached with a readable name; a pasted text stays text', async () => {
  const { alice, bob } = users;
  const box = composer(alice.page);
  await box.click();
  const pasteImage = (withText) => alice.page.evaluate(async ({ b64, withText }) => {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
    if (withText) dt.setData('text/plain', 'A1\tB1');
    const ev = new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true });
    document.activeElement.dispatchEvent(ev);
    return ev.defaultPrevented;
  }, { b64: images.fields.toString('base64'), withText });
  assert.equal(await pasteImage(true), false, 'a paste that carries text is left to the browser');
  assert.equal(await chips(alice.page).count(), 0);
  assert.equal(await pasteImage(false), true);
  await alice.page.locator('[data-testid=upload-chip][data-state=done]').waitFor();
  assert.match(await chips(alice.page).locator('.chip-name').innerText(), /^Pasted image \d{4}-\d\d-\d\d \d\d\.\d\d\.\d\d\.png$/);
  // A message of only a file is allowed.
  await sendButton(alice.page).click();
  await bob.page.locator('[data-testid=attachment-image] img[alt^="Pasted image"]').waitFor();
  await bob.page.getByRole('navigation', { name: 'Rooms' }).getByText(/📎 Pasted image/).waitFor();
});

test('a file of a refused type shows why and sends nothing; other files get a card with a download', async () => {
  const { alice, bob } = users;
  const bobCount = await messages(bob.page).count();
  await chooseFiles(alice.page, [{ name: 'invoice.png', mimeType: 'image/png',
                                   buffer: Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>') }]);
  const chip = alice.page.locator('[data-testid=upload-chip][data-state=failed]');
  await chip.waitFor();
  assert.match(await chip.innerText(), /invoice\.png[\s\S]*This type of file can’t be shared\./);
  await composer(alice.page).fill('see attached');
  assert.equal(await sendButton(alice.page).isDisabled(), true);
  await composer(alice.page).press('Enter');
  assert.equal(await composer(alice.page).inputValue(), 'see attached');
  await screenshot(alice.page, 'desktop-upload-refused');
  await chip.getByRole('button', { name: 'Remove invoice.png' }).click();
  await chip.waitFor({ state: 'detached' });

  // A PDF goes through as a file card with name, size and type, and downloads intact.
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n' +
                          '2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
  await chooseFiles(alice.page, [{ name: 'Itinerary.pdf', mimeType: 'application/pdf', buffer: pdf }]);
  await alice.page.locator('[data-testid=upload-chip][data-state=done]').waitFor();
  await composer(alice.page).press('Enter');
  const card = messageItem(bob.page, 'see attached').getByTestId('attachment-file');
  await card.waitFor();
  assert.equal(await messages(bob.page).count(), bobCount + 1, 'the refused file sent nothing');
  assert.match(await card.innerText(), /Itinerary\.pdf[\s\S]*\d+ B · PDF/);
  const [download] = await Promise.all([bob.page.waitForEvent('download'), card.click()]);
  assert.ok(readFileSync(await download.path()).equals(pdf));
});

test('a video recorded in the browser plays in place, in a box reserved before it loads', async () => {
  const { alice, bob } = users;
  // 320×180 VP8 WebM from a canvas through MediaRecorder: a real video file.
  const b64 = await alice.page.evaluate(async () => {
    const c = document.createElement('canvas');
    c.width = 320;
    c.height = 180;
    const g = c.getContext('2d');
    const rec = new MediaRecorder(c.captureStream(25), { mimeType: 'video/webm;codecs=vp8' });
    const chunks = [];
    rec.ondataavailable = (e) => chunks.push(e.data);
    rec.start(100);
    for (let i = 0; i < 20; i++) {
      g.fillStyle = `hsl(${i * 18} 70% 50%)`;
      g.fillRect(0, 0, 320, 180);
      await new Promise((r) => setTimeout(r, 40));
    }
    await new Promise((r) => { rec.onstop = r; rec.stop(); });
    const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  });
  await chooseFiles(alice.page, [{ name: 'clip.webm', mimeType: 'video/webm', buffer: Buffer.from(b64, 'base64') }]);
  await alice.page.locator('[data-testid=upload-chip][data-state=done]').waitFor();
  await composer(alice.page).fill('a short clip');
  await composer(alice.page).press('Enter');
  const video = messageItem(bob.page, 'a short clip').locator('[data-testid=attachment-video] video');
  await video.waitFor();
  const box = await video.boundingBox();
  assert.ok(Math.abs(box.width / box.height - 16 / 9) < 0.03, `16:9 box, got ${box.width}x${box.height}`);
  await bob.page.waitForFunction(() => {
    const v = document.querySelector('[data-testid=attachment-video] video');
    return v && v.readyState >= 1 && v.videoWidth === 320 && v.videoHeight === 180;
  });
  const after = await video.boundingBox();
  assert.deepEqual([after.width, after.height], [box.width, box.height]);
  assert.match(await messageItem(bob.page, 'a short clip').innerText(), /clip\.webm/);
});

test('an upload in progress can be cancelled; nothing is sent', async () => {
  const { alice, bob } = users;
  const bobCount = await messages(bob.page).count();
  const big = Buffer.alloc(3_000_000, 'All work and no play makes Jack a dull boy.\n');
  const cdp = await throttleUploads(alice.ctx, alice.page, 200_000);
  const progress = await recordProgress(alice.page);
  await chooseFiles(alice.page, [{ name: 'big.txt', mimeType: 'text/plain', buffer: big }]);
  await alice.page.waitForFunction(() => window.__progress.some((v) => v > 0));
  const chip = chips(alice.page).first();
  assert.equal(await chip.getAttribute('data-state'), 'uploading');
  assert.match(await chip.innerText(), /of 3 MB/);
  await chip.getByRole('button', { name: 'Cancel upload of big.txt' }).click();
  await chip.waitFor({ state: 'detached' });
  const values = await progress();
  assert.ok(values.every((v) => v < 100), `cancelled before it finished: ${values.join(',')}`);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  // Nothing waits to be sent, and an empty composer cannot send.
  assert.equal(await sendButton(alice.page).isDisabled(), true);
  await composer(alice.page).fill('after the cancel');
  await composer(alice.page).press('Enter');
  const last = messageItem(bob.page, 'after the cancel');
  await last.waitFor();
  assert.equal(await last.getByTestId('attachments').count(), 0);
  assert.equal(await messages(bob.page).count(), bobCount + 1);
});

test('over the size limit or the quota: the chip says which, and the message waits', async () => {
  // A second server with small limits (1 MB a file, 1.5 MB a user).
  const small = await startServer(['--files.max_upload_bytes=1000000', '--files.quota_bytes=1500000']);
  const ctx = await browser.newContext({ ...kDesktop, serviceWorkers: 'block' });
  try {
    const api = async (method, path, body, token) => {
      const res = await fetch(`${small.url}/api/v1${path}`, {
        method, body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      });
      assert.ok(res.ok, `${method} ${path}: ${res.status}`);
      return res.json();
    };
    const names = [uniq('dora'), uniq('eli')];
    for (const [i, username] of names.entries()) {
      await api('POST', '/auth/register', { username, password: kPassword, display_name: i ? 'Eli Wallace' : 'Dora Maar' });
    }
    const dora = await api('POST', '/auth/login', { username: names[0], password: kPassword });
    const eli = await api('POST', '/auth/login', { username: names[1], password: kPassword });
    await api('POST', '/dms', { user_id: eli.user.id }, dora.token);

    const page = await ctx.newPage();
    page.setDefaultTimeout(10000);
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(small.url);
    await page.getByLabel('Username').fill(names[0]);
    await page.getByLabel('Password').fill(kPassword);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /^Eli Wallace/ }).click();

    const text = (n, ch) => Buffer.alloc(n, ch);
    await chooseFiles(page, [{ name: 'huge.txt', mimeType: 'text/plain', buffer: text(1_200_000, 'h\n') },
                             { name: 'first.txt', mimeType: 'text/plain', buffer: text(900_000, 'a\n') }]);
    const chip = (name) => page.getByTestId('upload-chip').filter({ hasText: name });
    await chip('huge.txt').and(page.locator('[data-state=failed]')).waitFor();
    assert.match(await chip('huge.txt').innerText(), /Too big to upload\./);
    await chip('first.txt').and(page.locator('[data-state=done]')).waitFor();
    // 900 kB stored (unsent uploads count): another 900 kB goes over the 1.5 MB quota.
    await chooseFiles(page, [{ name: 'second.txt', mimeType: 'text/plain', buffer: text(900_000, 'b\n') }]);
    await chip('second.txt').and(page.locator('[data-state=failed]')).waitFor();
    assert.match(await chip('second.txt').innerText(), /Your storage quota is full\./);
    // Neither refusal offers a retry that cannot succeed, and the message cannot go yet.
    assert.equal(await page.getByTestId('upload-chip').getByRole('button', { name: 'Retry' }).count(), 0);
    assert.equal(await sendButton(page).isDisabled(), true);
    await page.getByRole('button', { name: 'Remove huge.txt' }).click();
    await page.getByRole('button', { name: 'Remove second.txt' }).click();
    await sendButton(page).click();
    await page.locator('[data-testid=message] [data-testid=attachment-file]').filter({ hasText: 'first.txt' }).waitFor();
  } finally {
    await ctx.close();
    await small.stop();
  }
});

test('screenshots: a conversation with images on desktop and on a phone', async () => {
  const { alice, bob } = users;
  await messageItem(alice.page, 'Two more').getByTestId('attachment-image').first().scrollIntoViewIfNeeded();
  await alice.page.waitForFunction(() => [...document.querySelectorAll('[data-testid=attachment-image] img')]
    .every((i) => i.complete && i.naturalWidth > 0));
  await screenshot(alice.page, 'desktop-attachments');
  await messageItem(alice.page, 'after the cancel').scrollIntoViewIfNeeded();
  await alice.page.waitForFunction(() => document.querySelector('[data-testid=attachment-video] video')?.readyState >= 2);
  await screenshot(alice.page, 'desktop-attachments-files');
  assert.deepEqual(await axeViolations(alice.page), []);

  const phone = await signIn(bob, kMobile);
  await phone.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /^Alice Liddell/ }).click();
  const thumb = messageItem(phone.page, 'Two more').getByTestId('attachment-image').first();
  await thumb.scrollIntoViewIfNeeded();
  await phone.page.waitForFunction(() => [...document.querySelectorAll('[data-testid=attachment-image] img')]
    .every((i) => i.complete && i.naturalWidth > 0));
  const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(overflow, 0, 'nothing scrolls sideways');
  const single = await messageItem(phone.page, 'Photos from the trip').getByTestId('attachment-image').boundingBox();
  assert.ok(single.x + single.width <= 360, 'the image fits the phone screen');
  await screenshot(phone.page, 'mobile-attachments');
  await thumb.click();
  await phone.page.getByRole('dialog').waitFor();
  await phone.page.waitForFunction(() => document.querySelector('[data-testid=lightbox-image]')?.complete);
  await screenshot(phone.page, 'mobile-lightbox');
  await phone.ctx.close();
  assert.deepEqual(pageErrors, []);
});
