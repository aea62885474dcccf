// `motcua demo`'s /demo page: follow the pictures the devices redraw, and touch the kiosk.
"use strict";

(() => {
  const config = window.motcua.config("demo-config");
  const POLL_MS = 1000;

  function fileUrl(file, version) {
    return `${config.files_url}${file}?v=${version}`;
  }

  function follow(screens) {
    for (const screen of screens) {
      const picture = document.querySelector(`img[data-file="${screen.file}"]`);
      if (picture === null) {
        location.reload(); // a device came up after the page was drawn
        return;
      }
      if (picture.dataset.version !== String(screen.version)) {
        picture.dataset.version = String(screen.version);
        picture.src = fileUrl(screen.file, screen.version);
      }
    }
  }

  function showTickets(tickets) {
    const list = document.getElementById("demo-tickets");
    const shown = Array.from(list.querySelectorAll("li[data-file]"), (item) => item.dataset.file);
    if (shown.join("\n") === tickets.map((ticket) => ticket.file).join("\n")) {
      return;
    }
    list.replaceChildren();
    for (const ticket of tickets) {
      const item = document.createElement("li");
      item.dataset.file = ticket.file;
      if (ticket.text !== undefined) {
        const text = document.createElement("pre");
        text.textContent = ticket.text;
        item.append(text);
      } else {
        const picture = document.createElement("img");
        picture.alt = ticket.file;
        picture.src = fileUrl(ticket.file, ticket.version);
        item.append(picture);
      }
      const label = document.createElement("span");
      label.textContent = `${ticket.printer} · ${ticket.file}`;
      item.append(label);
      list.append(item);
    }
    if (tickets.length === 0) {
      const item = document.createElement("li");
      item.className = "demo-none";
      item.textContent = config.none;
      list.append(item);
    }
  }

  async function poll() {
    try {
      const state = await window.motcua.getJson(config.state_url);
      if (state) {
        follow([...state.kiosks, ...state.displays, ...state.leds]);
        showTickets(state.tickets);
      }
    } catch (error) {
      // The demo stopped or restarts: try again at the next beat.
    }
    setTimeout(poll, POLL_MS);
  }

  for (const kiosk of document.querySelectorAll("img.demo-kiosk")) {
    kiosk.addEventListener("click", async (event) => {
      const box = kiosk.getBoundingClientRect();
      const point = { x: (event.clientX - box.left) / box.width, y: (event.clientY - box.top) / box.height };
      const note = kiosk.parentElement.querySelector(".demo-tap-error");
      try {
        await window.motcua.sendJson("POST", config.tap_url.replace("DEVICE", kiosk.dataset.device), point);
        note.textContent = "";
      } catch (error) {
        note.textContent = error.message;  // the hub's words, the HTTP status, or the network's
      }
    });
  }
  setTimeout(poll, POLL_MS);
})();
