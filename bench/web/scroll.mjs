// bench/web/scroll.mjs: the virtualized message list with 10,000 loaded messages, in headless
// Debian Chromium against a real `parley` (temporary store), for docs/benchmarks.md.
//
//  1. Seed: two users, one DM, N messages (default 10,000) sent over REST, 16 in flight; one in
//     ten several lines long, one in twenty with markdown (code, bold, a link).
//  2. Load: the reader opens the room and scrolls to the top until the start of the
//     conversation shows: every message is loaded through the client's normal history pages.
//  3. Scroll: from the bottom to the top and back, a fixed number of px per animation frame
//     (default 400, faster than a flick), recording long tasks (PerformanceObserver 'longtask',
//     over 50 ms by definition) and the gaps between frames.
//  4. Size: DOM elements in the document and JS heap in use after a garbage collection (CDP).
//  5. Live: another user sends 30 messages while the reader is at the bottom; for each, the time
//     from the page's WebSocket `message` event to its text in the DOM (MutationObserver), and
//     the main thread's tasks meanwhile by thread time (trace).
//
//   make web && PARLEY_BIN=build/src/app/parley node bench/web/scroll.mjs [N=10000] [PX_PER_FRAME=400]
import { launchBrowser, startServer, uniq } from '../../tests/e2e/harness.mjs';
import { api, signInAndOpen, user } from './lib.mjs';

const n = Number(process.argv[2] ?? 10000);
const pxPerFrame = Number(process.argv[3] ?? 400);
const kLive = 30;

const quantile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

/** The renderer main thread's tasks in a Chromium trace: thread (CPU) and wall times, sorted. */
function mainThreadTasks(buffer) {
  const trace = JSON.parse(buffer.toString('utf8'));
  const events = trace.traceEvents ?? trace;
  const mainTid = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain' &&
                                      events.some((x) => x.pid === e.pid && x.name === 'RunTask' && x.tdur > 0))?.tid;
  const tasks = events.filter((e) => e.name === 'RunTask' && e.ph === 'X' && e.tid === mainTid);
  const cpu = tasks.map((e) => (e.tdur ?? 0) / 1000).sort((a, b) => a - b);
  const wall = tasks.map((e) => e.dur / 1000).sort((a, b) => a - b);
  const top = events.filter((e) => e.ph === 'X' && e.tid === mainTid && e.name !== 'RunTask' && e.tdur > 0)
    .reduce((m, e) => m.set(e.name, (m.get(e.name) ?? 0) + e.tdur / 1000), new Map());
  return { tasks, cpu, wall, top, cpuTotal: cpu.reduce((a, b) => a + b, 0) };
}

const server = await startServer();
const browser = await launchBrowser();
try {
  const alice = await user(server.url, 'alice');
  const bob = await user(server.url, 'bob');
  const { room } = await api(server.url, 'POST', '/dms', { user_id: alice.id }, bob.token);

  const t0 = performance.now();
  let next = 0;
  const sendOne = async () => {
    while (next < n) {
      const i = next++;
      const from = Math.floor(i / 4) % 2 === 0 ? bob : alice;
      const body = i % 10 === 5 ? `message ${i}\n\n${'A longer paragraph that wraps over several lines of the timeline. '.repeat(6)}`
        : i % 20 === 7 ? `message ${i} with **bold**, \`code\` and https://example.com/${i}`
        : `message ${i}`;
      await api(server.url, 'POST', `/rooms/${room.id}/messages`, { client_txn_id: `seed-${i}`, body }, from.token);
    }
  };
  await Promise.all(Array.from({ length: 16 }, sendOne));
  console.log(`seeded ${n} messages over REST in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
  await ctx.addInitScript(() => {
    const t = (window.__bench = { longtasks: [], ws: new Map(), dom: new Map() });
    new PerformanceObserver((list) => { for (const e of list.getEntries()) t.longtasks.push(e.duration); })
      .observe({ type: 'longtask', buffered: true });
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...a) {
        super(...a);
        this.addEventListener('message', (ev) => {
          const m = /"body":"(live-\d+)"/.exec(ev.data);
          if (m && !t.ws.has(m[1])) t.ws.set(m[1], performance.now());
        });
      }
    };
    new MutationObserver((records) => {
      const now = performance.now();
      for (const r of records) for (const node of r.addedNodes) {
        for (const m of (node.textContent ?? '').matchAll(/live-\d+/g)) if (!t.dom.has(m[0])) t.dom.set(m[0], now);
      }
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  const page = await ctx.newPage();
  page.setDefaultTimeout(60000);
  const cdp = await ctx.newCDPSession(page);
  await signInAndOpen(page, server.url, alice, 'bob');
  await page.locator('.msg-body').getByText(`message ${n - 1}`, { exact: true }).waitFor();
  await page.locator('.conn-connected').waitFor();

  // Load everything through the client's own history paging.
  const t1 = performance.now();
  await page.evaluate(async () => {
    const sc = document.querySelector('.timeline');
    const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
    while (!sc.querySelector('.timeline-start')) {
      sc.scrollTop = 0;
      await frame();
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  const loadS = (performance.now() - t1) / 1000;
  const loaded = await page.evaluate(() => document.querySelector('[role=feed] article')?.getAttribute('aria-setsize'));
  console.log(`history loaded by scrolling to the top: ${loaded} messages in ${loadS.toFixed(1)} s`);

  const metrics = async (label) => {
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = await cdp.send('Runtime.getHeapUsage');
    const dom = await page.evaluate(() => ({
      elements: document.getElementsByTagName('*').length,
      rows: document.querySelectorAll('.timeline-row').length,
    }));
    console.log(`${label}: ${dom.elements} DOM elements (${dom.rows} timeline rows drawn), JS heap used ${(heap.usedSize / 1048576).toFixed(1)} MB`);
  };
  await metrics('at the top, all loaded');

  // Back to the bottom first, settled; then top and bottom again, measured.
  const scroll = (px) => page.evaluate(async (step) => {
    const sc = document.querySelector('.timeline');
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    const gaps = [];
    let last = await frame();
    const run = async (dir) => {
      for (let guard = 0; guard < 100000; guard++) {
        const before = sc.scrollTop;
        sc.scrollTop = before + dir * step;
        const now = await frame();
        gaps.push(now - last);
        last = now;
        const atEnd = dir < 0 ? sc.scrollTop <= 0 : sc.scrollHeight - sc.scrollTop - sc.clientHeight < 2;
        if (atEnd && Math.abs(sc.scrollTop - before) < 1) break;
      }
    };
    window.__bench.longtasks.length = 0;
    await run(-1);
    await run(1);
    await new Promise((r) => setTimeout(r, 200));
    gaps.sort((a, b) => a - b);
    const q = (p) => gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))];
    return { frames: gaps.length, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: gaps[gaps.length - 1],
             longtasks: [...window.__bench.longtasks], height: sc.scrollHeight };
  }, px);
  await page.evaluate(() => { const sc = document.querySelector('.timeline'); sc.scrollTop = sc.scrollHeight; });
  await page.waitForTimeout(500);
  // A trace beside the long-task observer: on a shared machine a task's wall time includes time
  // the renderer waited for a CPU; the trace's thread time (tdur) is the work the page did.
  await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
  if (process.env.BENCH_PROFILE) { await cdp.send('Profiler.enable'); await cdp.send('Profiler.setSamplingInterval', { interval: 200 }); await cdp.send('Profiler.start'); }
  const r = await scroll(pxPerFrame);
  if (process.env.BENCH_PROFILE) {
    const { profile } = await cdp.send('Profiler.stop');
    const self = new Map();
    const dt = new Map();
    profile.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    for (const node of profile.nodes) {
      const k = `${node.callFrame.functionName || '(anon)'} ${node.callFrame.url.split('/').pop()}:${node.callFrame.lineNumber}:${node.callFrame.columnNumber}`;
      self.set(k, (self.get(k) ?? 0) + (dt.get(node.id) ?? 0) / 1000);
    }
    console.log([...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${v.toFixed(0)} ms ${k}`).join('\n'));
  }
  const { tasks, cpu, wall, top, cpuTotal } = mainThreadTasks(await browser.stopTracing());
  console.log(`scroll bottom → top → bottom over ${r.height} px at ${pxPerFrame} px/frame: ${r.frames} frames, ` +
              `frame gap p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms; ` +
              `long tasks (> 50 ms): ${r.longtasks.length}${r.longtasks.length ? ` (max ${Math.max(...r.longtasks).toFixed(0)} ms)` : ''}`);
  console.log(`  renderer main-thread tasks: ${tasks.length}, thread (CPU) time p50 ${quantile(cpu, 0.5).toFixed(1)} ms, ` +
              `p99 ${quantile(cpu, 0.99).toFixed(1)} ms, max ${cpu.at(-1).toFixed(1)} ms, over 50 ms: ${cpu.filter((x) => x > 50).length}; ` +
              `wall max ${wall.at(-1).toFixed(1)} ms; CPU total ${(cpuTotal / 1000).toFixed(2)} s`);
  console.log(`  main-thread CPU by event (ms, nested events overlap): ${[...top.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8)
    .map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
  await metrics('at the bottom after the scroll');

  await page.evaluate(() => { window.__bench.longtasks.length = 0; });
  await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
  for (let i = 0; i < kLive; i++) {
    await api(server.url, 'POST', `/rooms/${room.id}/messages`, { client_txn_id: uniq('t'), body: `live-${i}` }, bob.token);
    await page.locator('.msg-body').getByText(`live-${i}`, { exact: true }).waitFor();
    await new Promise((res) => setTimeout(res, 50));
  }
  const live = mainThreadTasks(await browser.stopTracing());
  const deltas = await page.evaluate(() => {
    const t = window.__bench;
    return [...t.ws.entries()].filter(([k]) => t.dom.has(k)).map(([k, at]) => t.dom.get(k) - at);
  });
  deltas.sort((a, b) => a - b);
  const q = (p) => deltas[Math.min(deltas.length - 1, Math.floor(p * deltas.length))];
  console.log(`incoming message → DOM with ${n} loaded, over ${deltas.length} messages: p50 ${q(0.5).toFixed(1)} ms, ` +
              `p95 ${q(0.95).toFixed(1)} ms, max ${deltas[deltas.length - 1].toFixed(1)} ms (one frame at 60 Hz: 16.7 ms)`);
  const lt = await page.evaluate(() => window.__bench.longtasks);
  console.log(`long tasks while receiving: ${lt.length}${lt.length ? ` (max ${Math.max(...lt).toFixed(0)} ms)` : ''}; ` +
              `main-thread tasks meanwhile by thread time: p99 ${quantile(live.cpu, 0.99).toFixed(1)} ms, max ${live.cpu.at(-1).toFixed(1)} ms of CPU`);
  await ctx.close();
} finally {
  await browser.close();
  await server.stop();
}
