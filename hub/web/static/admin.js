// The administration pages: forms and row buttons call /api/v1/admin/... with the session's CSRF
// token; the answer (or the refusal, in the hub's words) is shown in one fixed place.
"use strict";
(function () {
  const feedback = document.getElementById("admin-feedback");
  const texts = document.getElementById("admin-texts")?.dataset || {};
  const lang = document.documentElement.lang === "en" ? "en" : "vi";

  function show(message, tone) {
    feedback.textContent = message;
    feedback.className = "admin-feedback " + tone;
  }

  const stored = sessionStorage.getItem("admin-feedback");
  if (stored) {
    sessionStorage.removeItem("admin-feedback");
    const { message, tone } = JSON.parse(stored);
    show(message, tone);
  }

  // The hub answers in the page's language (a refusal is shown as it says it). The last answer goes
  // when a new request leaves: what the fixed place says next is this one's.
  async function send(method, url, body) {
    show("", "");
    return (await window.motcua.sendJson(method, url + "?lang=" + lang, body)) || {};
  }

  function done(message) {
    sessionStorage.setItem("admin-feedback", JSON.stringify({ message, tone: "ok" }));
    location.reload();
  }

  function passwordText(username, password) {
    return window.motcua.fill(texts.password || "{username}: {password}", { username, password });
  }

  // Ordered lists (a kiosk's services): each choice has a rank input; the list is the ranked ones.
  function ranked(form, name) {
    return [...form.querySelectorAll('input[data-rank][name="' + name + '"]')]
      .filter((input) => input.value.trim() !== "")
      .map((input) => [parseInt(input.value, 10), input.dataset.rank])
      .sort((a, b) => a[0] - b[0])
      .map((pair) => pair[1]);
  }

  function collect(form, editing) {
    const data = {};
    for (const element of form.elements) {
      if (!element.name) continue;
      if ("rank" in element.dataset) { data[element.name] = ranked(form, element.name); continue; }
      if (element.type === "checkbox" && "list" in element.dataset) {
        data[element.name] = data[element.name] || [];
        if (element.checked) data[element.name].push(element.value);
        continue;
      }
      if (element.type === "checkbox") { data[element.name] = element.checked; continue; }
      const value = element.value.trim();
      if (element.dataset.type === "int" || element.dataset.type === "float") {
        if (value === "") continue;
        data[element.name] = element.dataset.type === "int" ? parseInt(value, 10) : parseFloat(value);
      } else if ("optional" in element.dataset) {
        data[element.name] = value === "" ? null : value;
      } else {
        data[element.name] = value;
      }
    }
    if (editing) delete data[form.dataset.keyField];
    return data;
  }

  function fill(form, item) {
    for (const element of form.elements) {
      if (!element.name || !(element.name in item)) continue;
      const value = item[element.name];
      if ("rank" in element.dataset) {
        const at = Array.isArray(value) ? value.indexOf(element.dataset.rank) : -1;
        element.value = at < 0 ? "" : at + 1;
      } else if (element.type === "checkbox" && "list" in element.dataset) {
        element.checked = Array.isArray(value) && value.includes(element.value);
      } else if (element.type === "checkbox") {
        element.checked = Boolean(value);
      } else {
        element.value = value === null || value === undefined ? "" : value;
      }
    }
  }

  const form = document.getElementById("edit-form");
  if (form) {
    const title = form.closest("section").querySelector("h2");
    const keyInput = form.elements[form.dataset.keyField];
    form.addEventListener("reset", () => {
      delete form.dataset.editing;
      keyInput.readOnly = false;
      title.textContent = title.dataset.titleNew;
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const editing = form.dataset.editing;
      const url = form.dataset.url + (editing ? "/" + encodeURIComponent(editing) : "");
      try {
        const answer = await send(editing ? "PUT" : "POST", url, collect(form, Boolean(editing)));
        const key = editing || keyInput.value.trim();
        if (answer.password) {
          show(passwordText(key, answer.password), "ok");  // shown once; no reload that would lose it
          form.reset();
        } else {
          done(texts.saved || "OK");
        }
      } catch (error) {
        show(error.message, "error");
      }
    });
  }

  document.getElementById("items")?.addEventListener("click", async (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const row = button.closest("tr");
    const key = row.dataset.key;
    const item = JSON.parse(row.dataset.item);
    const base = form.dataset.url + "/" + encodeURIComponent(key);
    try {
      if ("edit" in button.dataset) {
        form.reset();
        fill(form, item);
        form.dataset.editing = key;
        form.elements[form.dataset.keyField].readOnly = true;
        const title = form.closest("section").querySelector("h2");
        title.textContent = title.dataset.titleEdit + ": " + key;
        form.scrollIntoView({ block: "start" });
        form.elements[1]?.focus();
      } else if ("delete" in button.dataset) {
        if (!confirm(window.motcua.fill(texts.confirmDelete || "{id}", { id: key }))) return;
        await send("DELETE", base);
        done(texts.saved || "OK");
      } else if ("reset" in button.dataset) {
        const answer = await send("POST", base + "/reset-password");
        show(passwordText(key, answer.password), "ok");
      } else if ("move" in button.dataset) {
        // Up or down one place: the order the kiosk offers them in.
        await send("PUT", base, { position: parseInt(row.dataset.position, 10) + parseInt(button.dataset.move, 10) });
        done(texts.saved || "OK");
      } else if ("toggleDisabled" in button.dataset) {
        await send("PUT", base, { disabled: button.dataset.toggleDisabled === "true" });
        done(texts.saved || "OK");
      }
    } catch (error) {
      show(error.message, "error");
    }
  });

  for (const settings of document.querySelectorAll("form.settings-form")) {
    settings.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await send("PUT", settings.dataset.url, collect(settings, false));
        done(texts.saved || "OK");
      } catch (error) {
        show(error.message, "error");
      }
    });
  }
})();
