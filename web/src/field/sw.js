// Placeholder: the field page's service worker is written on branch webpages (issue 14).
self.addEventListener('install', () => self.skipWaiting());
