// Shared by the hub's pages: one way to send a cookie-authenticated JSON request to the hub, and the
// small helpers every page script draws with (loaded before them, `defer` keeps the order).
"use strict";

window.motcua = {
  // `template` with "{name}" replaced by values.name (unknown names stay as they are).
  fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
  },

  // A wait in seconds as the page's texts say it (none, under_a_minute, minutes_short).
  minutes(seconds, texts) {
    if (seconds === null || seconds === undefined) return texts.none;
    if (seconds <= 0) return window.motcua.fill(texts.minutes_short, { minutes: 0 });
    if (seconds < 60) return texts.under_a_minute;
    return window.motcua.fill(texts.minutes_short, { minutes: Math.round(seconds / 60) });
  },

  // A new element with a class and a text (both optional).
  element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  },

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
