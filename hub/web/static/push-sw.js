// Web Push service worker: shows the hub's message about the citizen's ticket.
"use strict";
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data && event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.body || "", { tag: data.key, renotify: false }));
});
