// Shared by the hub's pages: one way to send a cookie-authenticated JSON request to the hub, and the
// small helpers every page script draws with (loaded before them, `defer` keeps the order).
"use strict";

window.motcua = {
  // The JSON a page's template embedded for its script (<script type="application/json" id=…>).
  config(id) {
    return JSON.parse(document.getElementById(id).textContent);
  },

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

  // A time the hub sent (ISO, the site's local time) as the pages write it: "14:05 06/12/2026".
  dateTime(iso) {
    if (!iso || iso.length < 16) return "—";
    return iso.slice(11, 16) + " " + iso.slice(8, 10) + "/" + iso.slice(5, 7) + "/" + iso.slice(0, 4);
  },

  // "3" of "Quầy 3" (the sentence around it already says quầy/counter).
  counterShortName(name) {
    return (name || "").replace(/^(quầy|counter)\s+/i, "");
  },

  // A new element with a class and a text (both optional).
  element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  },

  // A submit button that sends name=value (a form's action for one row).
  submitButton(className, text, name, value) {
    const node = window.motcua.element("button", className, text);
    node.type = "submit";
    node.name = name;
    node.value = value;
    return node;
  },

  // `fn` wrapped so that a burst of calls runs it once, `ms` after the first.
  coalesce(fn, ms) {
    let timer = null;
    return () => {
      if (timer !== null) return;
      timer = window.setTimeout(() => {
        timer = null;
        fn();
      }, ms);
    };
  },

  // Send `payload` (if any) as JSON, with the page's CSRF token where it has one (an officer's
  // session); resolves to {response, reply}, where `reply` is the parsed JSON body or null (an HTML
  // error page, an empty body). Network errors reject.
  async request(method, url, payload) {
    const headers = { Accept: "application/json" };
    const csrf = document.querySelector('meta[name="csrf-token"]');
    if (csrf) headers["X-CSRF-Token"] = csrf.getAttribute("content");
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method,
      headers,
      body: payload === undefined ? undefined : JSON.stringify(payload),
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

  // The JSON at `url`, fresh: resolves to the parsed body when the hub answered OK, else null (the
  // next poll or event tries again); a network error rejects.
  async getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
    return response.ok ? response.json() : null;
  },

  postJson(url, payload) {
    return window.motcua.request("POST", url, payload);
  },

  // The same for a page that wants only the answer: resolves to the reply; rejects with an Error
  // whose message is the hub's (or `fallback`, or the HTTP status) when the hub refused.
  async sendJson(method, url, payload, fallback) {
    const { response, reply } = await window.motcua.request(method, url, payload);
    if (!response.ok) {
      throw new Error((reply && reply.error && reply.error.message) || fallback || "HTTP " + response.status);
    }
    return reply;
  },

  // One officer action at a time (a double press must not send two), the page redrawn by `refresh`
  // after each, whatever happened: run(start, send) marks the page busy (`start()` disables its
  // buttons), awaits `send()`, then redraws. `busy` says whether an action is under way.
  oneAtATime(refresh) {
    const actions = { busy: false };
    actions.run = async (start, send) => {
      if (actions.busy) return;
      actions.busy = true;
      start();
      try {
        await send();
      } finally {
        actions.busy = false;
        await refresh();
      }
    };
    return actions;
  },

  // Calls handler(button) when `form` is submitted by one of its buttons; the script sends it.
  onSubmit(form, handler) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (event.submitter) handler(event.submitter);
    });
  },

  // POST an officer's action; resolves to {ok, message, reply}: when the hub refused, `message` is
  // its message (or `refused` if it sent none); when the request did not get through, `offline`.
  async postAction(url, payload, refused, offline) {
    try {
      const { response, reply } = await window.motcua.postJson(url, payload);
      if (!response.ok || !reply || reply.ok === false) {
        return { ok: false, message: reply && reply.error ? reply.error.message : refused, reply };
      }
      return { ok: true, message: null, reply };
    } catch (error) {
      return { ok: false, message: offline, reply: null };
    }
  },
};
