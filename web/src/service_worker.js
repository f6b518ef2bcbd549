// service_worker.js: Parley's service worker, emitted as /sw.js by pwa_plugin.mjs, which fills
// in the build's precache list and version. It keeps the app shell so the app opens without a
// network; it never touches the API, the gateway or uploaded files (decision 0024).
//  - install: precache the shell (index.html as "/", every hashed asset, icons, manifest) into
//    parley-shell-<version>. No skipWaiting: a new worker takes over once the tabs running
//    the old build are gone, so an open tab never loses the lazy chunks of its own build.
//  - activate: delete every other parley-shell-* cache; claim clients (first install).
//  - fetch: /assets/* (hashed, immutable) cache-first; navigations to the app's routes (/ and
//    /r/<id>, the same page) network-first, falling back to the cached "/" offline, so a new
//    deploy wins whenever the server answers; the other shell files network-first too.
//    Everything else (/api/*, /api/v1/gateway, /files/*, /metrics, other origins, non-GET)
//    goes straight to the network, uncached.
/* eslint-env serviceworker */
const kVersion = self.__PARLEY_VERSION__;
const kPrecache = self.__PARLEY_PRECACHE__;
const kPrefix = 'parley-shell-';
const kCache = kPrefix + kVersion;
const kShell = new Set(kPrecache.filter((p) => !p.startsWith('/assets/')));
/** The client-side routes, all served as index.html (app/app.tsx). */
const kAppRoute = /^\/(?:index\.html|r\/\d{1,20}\/?)?$/;

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(kCache).then((c) => c.addAll(kPrecache.map((p) => new Request(p, { cache: 'reload' })))));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith(kPrefix) && k !== kCache).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

/** The network's answer, stored under `key` when it is a complete same-origin 200. */
async function networkFirst(request, key) {
  const cache = await caches.open(kCache);
  try {
    const res = await fetch(request);
    if (res.ok && res.type === 'basic' && !res.redirected) await cache.put(key, res.clone());
    return res;
  } catch (err) {
    const hit = await cache.match(key, { ignoreVary: true });
    if (hit) return hit;
    throw err;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(kCache);
  const hit = await cache.match(request, { ignoreVary: true });
  if (hit) return hit;
  const res = await fetch(request);
  if (res.ok && res.type === 'basic') await cache.put(request, res.clone());
  return res;
}

self.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/assets/')) {
    e.respondWith(cacheFirst(req));
  } else if (req.mode === 'navigate' && kAppRoute.test(url.pathname)) {
    e.respondWith(networkFirst(req, '/'));
  } else if (kShell.has(url.pathname) && url.search === '') {
    e.respondWith(networkFirst(req, url.pathname));
  }
  // Anything else: not handled, the browser fetches it as if there were no worker.
});

// Web Push: the alerts issue adds `push` (show the notification its payload describes) and
// `notificationclick` (focus a Parley tab or open the room) listeners here, with the
// subscription made from the page. Until then nothing subscribes, so no push arrives.
