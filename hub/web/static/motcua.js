// Shared by the officer pages: one way to send a cookie-authenticated JSON request to the hub.
"use strict";

window.motcua = {
  // POST `payload` as JSON with the page's CSRF token; resolves to {response, reply}, where `reply`
  // is the parsed JSON body or null (an HTML error page, an empty body). Network errors reject.
  async postJson(url, payload) {
    const csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(payload),
      cache: "no-store",
    });
    let reply = null;
    try {
      reply = await response.json();
    } catch (error) {
      reply = null;
    }
    return { response, reply };
  },
};
