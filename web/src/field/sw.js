// The field page's service worker, hand-written (no Workbox): it keeps the
// page and its assets so that the page opens with no connection, and the
// last verifier bundle as a fallback. Events are not its business: the
// page queues them in IndexedDB and sends them itself when it is online
// (Background Sync is Chromium-only). MUSTER_PAGE_ASSETS and MUSTER_BUILD
// are defined by the build (web/internal/bundle).

/* global MUSTER_PAGE_ASSETS, MUSTER_BUILD */
const CACHE = `muster-field-${MUSTER_BUILD}`;
const PAGE = '/field';
const PRECACHE = [PAGE, ...MUSTER_PAGE_ASSETS];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('muster-field-') && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname === PAGE || url.pathname === PAGE + '/') {
    // The page: the network first (a new build), the kept copy offline.
    e.respondWith(fetch(e.request).then((r) => {
      if (r.ok) { const copy = r.clone(); caches.open(CACHE).then((c) => c.put(PAGE, copy)); }
      return r;
    }).catch(() => caches.match(PAGE)));
  } else if (url.pathname.startsWith('/assets/')) {
    // Named by a hash of their content: a kept copy is always right.
    e.respondWith(caches.match(e.request).then((hit) => hit || fetch(e.request)));
  } else if (url.pathname === '/api/bundle') {
    e.respondWith(fetch(e.request).then((r) => {
      if (r.ok) { const copy = r.clone(); caches.open(CACHE).then((c) => c.put('/api/bundle', copy)); }
      return r;
    }).catch(() => caches.match('/api/bundle').then((hit) => hit || Response.error())));
  }
});
