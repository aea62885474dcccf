// The return counter's panel in the officer console: the served ticket's dossier, "Đã trả kết quả"
// and the results not collected in time. Redrawn from /api/v1/results/counter/{id} whenever the
// console redraws (console.js sends "motcua:counter-view"). Without JavaScript rd-form posts.
"use strict";

(function () {
  const config = window.motcua.config("result-desk-config");
  const texts = config.texts;
  const body = document.getElementById("rd-body");
  const overdue = document.getElementById("rd-overdue");
  const form = document.getElementById("rd-form");
  const actions = window.motcua.oneAtATime(() => refresh());

  const { fill, element, dateTime } = window.motcua;

  // The console's one feedback place says it (console.js listens): its look and height stay its own.
  function say(message, ok) {
    document.dispatchEvent(new CustomEvent("motcua:say", { detail: { message, tone: ok ? "ok" : "error" } }));
  }

  function button(value, label, className) {
    const node = window.motcua.submitButton(className, label, "rd_action", value);
    node.setAttribute("form", "rd-form");
    node.disabled = actions.busy;
    return node;
  }

  // The panel is redrawn only when its view changed: a press must not land on a button just replaced
  // by the same one (the console redraws on every event). `shown` is what it shows now.
  let shown = null;

  function render(view) {
    const showing = JSON.stringify(view) + actions.busy;
    if (showing === shown) return;
    shown = showing;
    const parts = [];
    if (!view.ticket) {
      parts.push(element("p", "hint", texts.result_no_ticket));
    } else if (!view.code) {
      parts.push(element("p", "note", fill(texts.result_not_linked, { number: view.ticket.number })));
      const row = element("div", "link-form");
      const input = element("input");
      input.name = "code";
      input.setAttribute("form", "rd-form");
      input.placeholder = texts.result_link_prompt;
      input.setAttribute("aria-label", texts.result_link_prompt);
      input.autocomplete = "off";
      row.append(input, button("link", texts.result_link_button, "btn"));
      parts.push(row);
    } else {
      const code = element("p", "code", view.code);
      code.id = "rd-code";
      parts.push(code);
      const dossier = view.dossier;
      if (dossier) {
        const list = element("dl");
        const facts = [
          [texts.results_procedure, dossier.procedure],
          [texts.results_applicant, dossier.applicant_name],
          [texts.result_applicant_id, dossier.applicant_id_no],
          [config.status_word || "", dossier.status_label],
          [texts.results_ready_since, dateTime(dossier.ready_since)],
        ];
        for (const [term, value] of facts) {
          if (!value) continue;
          list.append(element("dt", "", term), element("dd", "", value));
        }
        parts.push(list);
        if (view.stale) parts.push(element("p", "note", texts.result_stale));
        if (!dossier.ready && !view.returned) parts.push(element("p", "note", texts.result_not_ready));
      } else if (view.lookup_error) {
        parts.push(element("p", "note", view.lookup_error));
      }
      if (view.returned) {
        const done = element("p", "returned",
          fill(texts.result_returned_at, { time: dateTime(view.returned.returned_at), officer: view.returned.officer }));
        done.id = "rd-returned";
        parts.push(done);
      } else {
        const press = button("returned", texts.result_returned_button, "btn big ok wide");
        press.id = "rd-return";
        parts.push(press);
      }
    }
    body.replaceChildren(...parts);

    if (view.overdue.length === 0) overdue.replaceChildren(element("li", "empty", texts.result_overdue_none));
    else overdue.replaceChildren(...view.overdue.map((item) => {
      const li = element("li");
      li.append(element("span", "number", item.code),
        element("span", "days", fill(texts.results_days_waiting, { days: item.uncollected_days })),
        element("span", "meta", item.procedure + " · " + item.applicant_masked));
      return li;
    }));
  }

  async function refresh() {
    try {
      const view = await window.motcua.getJson(config.view_url);
      if (view) render(view);
    } catch (error) {
      // the console shows the connection state
    }
  }

  const scheduleRefresh = window.motcua.coalesce(refresh, 50);

  function post(url, payload) {
    // One at a time: a double press sends one request (the hub would answer the same anyway).
    const start = () => {
      shown = null;  // its buttons disabled here: the next view redraws them
      for (const node of document.querySelectorAll('button[form="rd-form"]')) node.disabled = true;
    };
    return actions.run(start, async () => {
      const outcome = await window.motcua.postAction(url, payload, texts.result_no_ticket, texts.display_offline);
      if (!outcome.ok) say(outcome.message, false);
      else if (outcome.reply.message) say(outcome.reply.message, true);
    });
  }

  window.motcua.onSubmit(form, (submitter) => {
    if (submitter.value === "link") {
      const input = document.querySelector('input[name="code"][form="rd-form"]');
      post(config.link_url, { code: input ? input.value : "" });
    } else {
      post(config.returned_url, {});
    }
  });

  document.addEventListener("motcua:counter-view", scheduleRefresh);
})();
