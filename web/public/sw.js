// Parley service worker: caches the app shell (index.html, hashed assets, icons) so the app
// opens without a network; the API and the gateway are never cached. Hashed assets are
// immutable, so cache-first is safe for them; the HTML is network-first so a new build is
// picked up on the next load. (Push handling comes with the alerts issue.)
const kCache = 'parley-shell-v1';
const kShell = ['/', '/icon.svg', '/manifest.webmanifest'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(kCache).then((c) => c.addAll(kShell)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== kCache).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.startsWith('/api/') || ['/metrics', '/livez', '/readyz'].includes(url.pathname)) return;
  if (url.pathname.startsWith('/assets/')) {
    e.respondWith(caches.open(kCache).then(async (c) => {
      const hit = await c.match(e.request);
      if (hit) return hit;
      const res = await fetch(e.request);
      if (res.ok) c.put(e.request, res.clone());
      return res;
    }));
    return;
  }
  if (e.request.mode === 'navigate') {
    e.respondWith(fetch(e.request).then((res) => {
      const copy = res.clone();
      if (res.ok) caches.open(kCache).then((c) => c.put('/', copy));
      return res;
    }).catch(() => caches.match('/').then((r) => r || Response.error())));
  }
});
