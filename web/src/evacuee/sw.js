// The evacuee page's service worker, hand-written like the field page's:
// it keeps the page (the same shell for every link) and its assets, so
// that the page opens with no connection. The household's instruction is
// not its business: the page keeps the last one it read, under its own
// link, in the Cache API, and shows it offline with its age (main.js).
// MUSTER_PAGE_ASSETS and MUSTER_BUILD are defined by the build.

/* global MUSTER_PAGE_ASSETS, MUSTER_BUILD */
const CACHE = `muster-me-${MUSTER_BUILD}`;
// The shell is the same at every /me/ path (the page reads its link from
// the address): kept once, under a path that is nobody's link.
const SHELL = '/me/page';

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll([SHELL, ...MUSTER_PAGE_ASSETS])).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('muster-me-') && k !== CACHE && k !== 'muster-me-data').map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (e.request.mode === 'navigate' && url.pathname.startsWith('/me/')) {
    // The page: the network first (a new build), the kept shell offline.
    // Kept without the link: the shell holds nothing of anyone's.
    e.respondWith(fetch(e.request).then((r) => {
      if (r.ok) { const copy = r.clone(); caches.open(CACHE).then((c) => c.put(SHELL, copy)); }
      return r;
    }).catch(() => caches.match(SHELL).then((hit) => hit || Response.error())));
  } else if (url.pathname.startsWith('/assets/')) {
    // Named by a hash of their content: a kept copy is always right.
    e.respondWith(caches.match(e.request).then((hit) => hit || fetch(e.request)));
  }
});
