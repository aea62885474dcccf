// Officer console: the buttons call the HTTP API, server-sent events wake the page up, and the page
// redraws itself from /api/v1/counters/{id}. Without JavaScript the same form posts and reloads.
"use strict";

(function () {
  const config = window.motcua.config("console-config");
  const texts = config.texts;
  const words = config.console.texts;
  // Priority group names; each view brings the live ones (the head may rename or add a group).
  let groups = config.console.groups;
  const form = document.getElementById("actions");
  const banner = document.getElementById("banner");
  const bannerText = document.getElementById("banner-text");
  const live = document.getElementById("live");
  const actions = window.motcua.oneAtATime(() => refresh());
  let lastNumber = document.getElementById("serving-number").textContent.trim();

  const { fill, element, submitButton } = window.motcua;
  const minutes = (seconds) => window.motcua.minutes(seconds, texts);

  function clock(iso) {
    return iso && iso.length >= 16 ? iso.slice(11, 16) : "—";
  }

  // Service names in the page's language (the view carries both).
  function serviceName(view, id, fallback) {
    const service = view.all_services.find((item) => item.id === id);
    if (!service) return fallback || id;
    return config.lang === "en" && service.name_en ? service.name_en : service.name;
  }

  // The answer to every action goes to one place whose height is reserved: nothing moves.
  function say(message, tone) {
    bannerText.textContent = message;
    banner.className = "banner " + tone + " console-feedback";
  }

  function showError(message) { say(message, "error"); }
  function showOk(message) { say(message, "ok"); }
  function showWarning(message) { say(message, "warn"); }

  function hideBanner() {
    say("", "idle");
  }

  document.getElementById("banner-close").addEventListener("click", hideBanner);
  // The return counter's panel (result_desk.js) answers through the same place.
  document.addEventListener("motcua:say", (event) => say(event.detail.message, event.detail.tone));

  function setButtons(view) {
    const serving = view.serving;
    const open = view.counter.open;
    for (const button of form.querySelectorAll("button[name=action]")) {
      const action = button.value;
      if (action === "call-next") button.disabled = actions.busy || !open;
      else if (action === "open" || action === "close") button.disabled = actions.busy;
      else if (action === "start") {
        // Shown or not without changing the layout (visibility, not display).
        button.toggleAttribute("data-off", !serving || serving.status !== "called");
        button.disabled = actions.busy || !serving || serving.status !== "called";
      } else if (action === "call-number") button.disabled = actions.busy || !open;
      else button.disabled = actions.busy || !serving;
    }
    document.getElementById("transfer-open").disabled = actions.busy || !serving;
    document.getElementById("pause-open").disabled = actions.busy || !open || Boolean(serving);
    const toggle = document.getElementById("open-close");
    toggle.value = open ? "close" : "open";
    toggle.textContent = open ? texts.close_counter : texts.open_counter;
  }

  function render(view) {
    if (view.groups) groups = view.groups;
    const serving = view.serving;
    const counter = view.counter;
    const number = document.getElementById("serving-number");
    const shown = serving ? serving.number : "—";
    number.textContent = shown;
    number.classList.toggle("empty", !serving);
    if (serving && shown !== lastNumber) {
      number.classList.remove("flash");
      void number.offsetWidth; // restart the animation
      number.classList.add("flash");
    }
    lastNumber = shown;

    let detail;
    if (serving) {
      const parts = [serviceName(view, serving.service_id, serving.service_name), config.statuses[serving.status] || serving.status,
        clock(serving.called_at)];
      if (serving.priority && serving.call_reason !== "priority") parts.push(groups[serving.priority_group] || words.priority);
      if (serving.original_service_id) parts.push(words.from + ": " + serviceName(view, serving.original_service_id));
      // Why this citizen was called out of issue order (the service's priority rule).
      if (serving.call_reason === "priority") {
        parts.push(fill(words.reason_priority, { group: groups[serving.priority_group] || words.priority }));
      } else if (serving.call_reason === "interleave") {
        const service = view.all_services.find((item) => item.id === serving.service_id);
        parts.push(fill(words.reason_interleave, { every: service && service.interleave_every ? service.interleave_every : "N" }));
      } else if (serving.call_reason === "number") parts.push(words.reason_number);
      detail = parts.join(" · ");
    } else if (counter.open) {
      detail = texts.no_one_called;
    } else {
      detail = counter.pause_reason ? fill(words.paused, { reason: counter.pause_reason }) : texts.counter_is_closed;
    }
    document.getElementById("serving-detail").textContent = detail;

    const state = document.getElementById("counter-state");
    state.textContent = counter.open ? texts.open : texts.closed;
    state.className = "pill " + (counter.open ? "open" : "closed");
    document.querySelector(".serving").classList.toggle("is-closed", !counter.open);
    setButtons(view);

    // Services of this counter whose numbers for the day ran out or are running out.
    if (Array.isArray(view.numbers)) {
      document.getElementById("numbers-warnings").replaceChildren(
        ...view.numbers.map((warning) => element("p", "banner " + warning.level, warning.text)));
    }

    const waiting = document.getElementById("waiting");
    waiting.replaceChildren(...view.waiting.map((row) => {
      const tr = element("tr");
      tr.append(element("td", "", serviceName(view, row.service_id, row.name)), element("td", "num", String(row.waiting)),
        element("td", "num", minutes(row.estimated_wait_s)));
      return tr;
    }));

    // The waiting list of this counter's services, in the order "call next" takes them.
    const queue = document.getElementById("queue");
    if (!view.queue || view.queue.length === 0) {
      const tr = element("tr");
      const td = element("td", "empty", texts.empty_list);
      td.colSpan = 5;
      tr.append(td);
      queue.replaceChildren(tr);
    } else queue.replaceChildren(...view.queue.map((ticket) => {
      const tr = element("tr");
      const group = ticket.priority ? (groups[ticket.priority_group] || words.priority) : words.ordinary;
      const call = submitButton("btn small", words.call, "call", ticket.number);
      call.disabled = actions.busy || !counter.open;
      const cell = element("td");
      cell.append(call);
      tr.append(element("td", "number", ticket.number), element("td", ticket.priority ? "group priority" : "group", group),
        element("td", "num", minutes(ticket.waited_s)),
        element("td", "", ticket.transferred_from ? serviceName(view, ticket.transferred_from) : "—"), cell);
      return tr;
    }));

    const held = document.getElementById("held");
    if (!view.held || view.held.length === 0) held.replaceChildren(element("li", "empty", texts.empty_list));
    else held.replaceChildren(...view.held.map((ticket) => {
      const li = element("li");
      const button = submitButton("btn small", words.resume, "resume", ticket.id);
      li.append(element("span", "number", ticket.number), element("span", "meta", serviceName(view, ticket.service_id, ticket.service_name)), button);
      return li;
    }));

    const skipped = document.getElementById("skipped");
    if (view.skipped.length === 0) skipped.replaceChildren(element("li", "empty", texts.empty_list));
    else skipped.replaceChildren(...view.skipped.map((ticket) => {
      const li = element("li");
      const button = submitButton("btn small", texts.reinstate, "reinstate", ticket.id);
      const call = submitButton("btn small", words.call, "call", ticket.number);
      li.append(element("span", "number", ticket.number), element("span", "meta", serviceName(view, ticket.service_id, ticket.service_name)), call, button);
      return li;
    }));

    const recent = document.getElementById("recent");
    if (view.recent.length === 0) recent.replaceChildren(element("li", "empty", texts.empty_list));
    else recent.replaceChildren(...view.recent.map((ticket) => {
      const li = element("li");
      const when = clock(ticket.completed_at || ticket.called_at);
      li.append(element("span", "number", ticket.number),
        element("span", "meta", (config.statuses[ticket.status] || ticket.status) + " · " + when));
      return li;
    }));
  }

  let current = null;

  async function refresh() {
    try {
      const response = await fetch(config.view_url, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (response.status === 401) {
        window.location.reload(); // the session ended: the server sends us to the login page
        return;
      }
      const body = await response.json();
      if (!response.ok) {
        showError(body.error ? body.error.message : texts.server_error);
        return;
      }
      current = body;
      render(body);
      // Panels of other parts (the return counter's result desk) follow the same view.
      document.dispatchEvent(new CustomEvent("motcua:counter-view", { detail: body }));
    } catch (error) {
      live.classList.add("offline");
    }
  }

  const scheduleRefresh = window.motcua.coalesce(refresh, 80);

  function doneText(action, reply, body) {
    const number = reply.ticket ? reply.ticket.number : "";
    if (action === "call-next" || action === "call-number") return fill(texts.done_called, { number });
    if (action === "transfer") {
      const service = current ? serviceName(current, body.to_service_id) : body.to_service_id;
      return fill(words.done_transfer, { number, service });
    }
    if (action === "pause") return fill(words.done_pause, { reason: body.reason });
    const key = "done_" + action;
    return key in words ? fill(words[key], { number }) : "OK";
  }

  function act(action, body) {
    // One at a time: a double press must not call two citizens.
    const start = () => current && setButtons(current);
    return actions.run(start, async () => {
      const url = config.action_url.replace("ACTION", action);
      const outcome = await window.motcua.postAction(url, body, texts.server_error, texts.offline);
      if (outcome.ok) showOk(doneText(action, outcome.reply, body));
      else showError(outcome.message);
    });
  }

  window.motcua.onSubmit(form, (submitter) => {
    if (submitter.name === "reinstate") {
      act("reinstate", { ticket_id: submitter.value });
      return;
    }
    if (submitter.name === "resume") {
      act("resume", { ticket_id: submitter.value });
      return;
    }
    if (submitter.name === "call") {
      act("call-number", { number: submitter.value });
      return;
    }
    const action = submitter.value;
    const body = {};
    if (action === "call-number") {
      const field = document.getElementById("call-number");
      const number = field.value.trim();
      if (!number) {
        field.focus();
        return;
      }
      body.number = number;
      field.value = "";
      field.blur();
    }
    act(action, body);
  });

  // "In phiếu tiếp nhận": the receipt of a dossier on this counter's printer (only where it has one).
  const receiptForm = document.getElementById("receipt-form");
  const receiptCode = document.getElementById("receipt-code");
  const receiptButton = document.getElementById("receipt-print");
  let printing = false;

  async function printReceipt() {
    const code = receiptCode.value.trim();
    if (!code) {
      showError(texts.receipt_code_missing);
      receiptCode.focus();
      return;
    }
    if (printing) return; // a double press or a double scan prints one receipt
    printing = true;
    receiptButton.disabled = true;
    try {
      const { response, reply } = await window.motcua.postJson(config.receipt_url, { code: code });
      if (!response.ok || !reply || reply.ok === false) {
        showError(reply && reply.error ? reply.error.message : texts.server_error);
        receiptCode.focus();
        receiptCode.select(); // the next scan replaces the wrong code
        return;
      }
      const values = { code: reply.dossier_code || code };
      if (reply.print === "unavailable") showWarning(fill(texts.receipt_waiting, values));
      else showOk(fill(texts.receipt_sent, values));
      receiptCode.value = "";
      receiptCode.blur(); // the big buttons' shortcuts work again at once
    } catch (error) {
      showError(texts.offline);
    } finally {
      printing = false;
      receiptButton.disabled = false;
    }
  }

  if (receiptForm && receiptCode && config.receipt_url) {
    receiptForm.addEventListener("submit", (event) => {
      event.preventDefault();
      printReceipt();
    });
  }

  // Transfer asks for the target every time: nothing is remembered from the last transfer.
  const transferDialog = document.getElementById("transfer-dialog");
  function openTransfer() {
    if (!current || !current.serving) return;
    const serving = current.serving;
    document.getElementById("transfer-title").textContent = fill(words.transfer_title, { number: serving.number });
    transferDialog.querySelector("input[value=front]").checked = true;
    for (const choice of transferDialog.querySelectorAll("[data-transfer-to]")) {
      choice.hidden = choice.dataset.transferTo === serving.service_id;
    }
    transferDialog.showModal();
  }
  document.getElementById("transfer-open").addEventListener("click", openTransfer);
  transferDialog.addEventListener("click", (event) => {
    const choice = event.target.closest("[data-transfer-to]");
    if (!choice) return;
    const position = transferDialog.querySelector("input[name=position]:checked").value;
    transferDialog.close();
    act("transfer", { to_service_id: choice.dataset.transferTo, position });
  });

  const pauseDialog = document.getElementById("pause-dialog");
  document.getElementById("pause-open").addEventListener("click", () => {
    document.getElementById("pause-other").value = "";
    pauseDialog.showModal();
  });
  function pause(reason) {
    if (!reason) return;
    pauseDialog.close();
    act("pause", { reason });
  }
  pauseDialog.addEventListener("click", (event) => {
    const choice = event.target.closest("[data-pause-reason]");
    if (choice) pause(choice.dataset.pauseReason);
  });
  document.getElementById("pause-other-go").addEventListener("click", () => pause(document.getElementById("pause-other").value.trim()));
  for (const closer of document.querySelectorAll("[data-close-dialog]")) {
    closer.addEventListener("click", () => closer.closest("dialog").close());
  }

  // Enter in the number field calls that number (never the form's first button, "call next").
  document.getElementById("call-number").addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    document.getElementById("call-number-go").click();
  });

  function shortcut(key) {
    if (transferDialog.open || pauseDialog.open) return;
    if (key === "s") {
      document.getElementById("call-number").focus();
      return;
    }
    const button = Array.from(document.querySelectorAll("button[data-key]")).find((item) => item.dataset.key === key);
    if (!button || button.disabled) return;
    button.click();
  }

  // Keyboard shortcuts for the big buttons (not while typing in a field). A keyboard-wedge scanner
  // "types" a whole code within milliseconds, often ending with Enter: keys pressed outside a field
  // wait SCAN_GAP_MS before acting, so a burst counts as a scan — the H of "000.00.16.H19-…" must
  // not complete the citizen's ticket — and goes to the receipt field instead.
  const SCAN_GAP_MS = 50;
  const MIN_SCAN_LENGTH = 4;
  let burst = "";
  let lastKeyAt = 0;
  let burstTimer = null;

  function settleBurst() {
    if (burstTimer !== null) window.clearTimeout(burstTimer);
    burstTimer = null;
    const typed = burst;
    burst = "";
    if (typed.length === 1) shortcut(typed.toLowerCase());
    else if (typed.length >= MIN_SCAN_LENGTH && receiptCode) {
      // A scanner set up without Enter at the end: the officer checks the code and presses the button.
      receiptCode.value = typed;
      receiptCode.focus();
    }
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.altKey || event.metaKey || event.repeat) return;
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA")) return;
    const key = event.key;
    const now = event.timeStamp;
    if (burst && now - lastKeyAt > SCAN_GAP_MS) settleBurst(); // a timer late under load
    if (key === "Escape") {
      burst = "";
      hideBanner();
      return;
    }
    if (key === "Enter" && burst.length >= MIN_SCAN_LENGTH) {
      event.preventDefault();
      window.clearTimeout(burstTimer);
      burstTimer = null;
      const scanned = burst;
      burst = "";
      if (receiptCode && config.receipt_url) {
        receiptCode.value = scanned;
        printReceipt();
      }
      return;
    }
    if (key.length !== 1 || key === " ") return; // Shift of a scanned capital, Tab, arrows, Space on a button
    event.preventDefault();
    burst += key;
    lastKeyAt = now;
    if (burstTimer !== null) window.clearTimeout(burstTimer);
    burstTimer = window.setTimeout(settleBurst, SCAN_GAP_MS);
  });

  function connect() {
    if (!window.EventSource) {
      window.setInterval(refresh, 5000);
      return;
    }
    const source = new EventSource(config.events_url);
    source.addEventListener("open", () => {
      live.hidden = false;
      live.classList.remove("offline");
      live.textContent = texts.live;
    });
    source.addEventListener("hello", scheduleRefresh); // also after a reconnect: catch up
    source.addEventListener("queue", scheduleRefresh);
    source.addEventListener("error", () => {
      live.hidden = false;
      live.classList.add("offline");
      live.textContent = texts.offline;
      if (source.readyState === EventSource.CLOSED) {
        // Refused for good (a 401 after the session ended, a 503 when busy): check the session —
        // refresh() goes to the login page on a 401 — and open a new stream a little later.
        refresh();
        window.setTimeout(connect, 5000);
      }
    });
  }

  refresh();
  connect();
})();
