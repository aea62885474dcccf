// Public ticket page: the server pushes this ticket's view (and nothing else) as it changes.
"use strict";

(function () {
  const config = window.motcua.config("ticket-config");
  const texts = config.texts;
  const FINAL = ["completed", "cancelled"];

  const fill = window.motcua.fill;
  const minutes = (seconds) => window.motcua.minutes(seconds, texts);

  const shortName = window.motcua.counterShortName;

  function render(ticket) {
    const card = document.getElementById("ticket");
    card.className = "ticket-card status-" + ticket.status;
    document.getElementById("t-number").textContent = ticket.number;
    const serviceName = config.lang === "en" && ticket.service_name_en ? ticket.service_name_en : ticket.service_name;
    document.getElementById("t-service").textContent = serviceName;
    const called = ticket.status === "called" || ticket.status === "serving";
    const banner = document.getElementById("t-called");
    banner.hidden = !called;
    if (called) banner.textContent = fill(texts.your_turn, { counter: shortName(ticket.counter_name) });
    document.getElementById("t-facts").hidden = ticket.status !== "waiting";
    document.getElementById("t-ahead").textContent = String(ticket.ahead);
    document.getElementById("t-wait").textContent = minutes(ticket.estimated_wait_s);
    document.getElementById("t-status").textContent = config.statuses[ticket.status] || ticket.status;
    // Other parts of the page (notifications, the no-show advice) follow the same updates.
    document.dispatchEvent(new CustomEvent("ticket:update", { detail: ticket }));
  }

  let lastStatus = null;

  function update(ticket) {
    if (ticket.status !== lastStatus) {
      document.title = ticket.number + " · " + (config.statuses[ticket.status] || "");
      if (lastStatus === "waiting" && ticket.status === "called" && navigator.vibrate) {
        navigator.vibrate([300, 150, 300]); // a phone in a pocket: your turn
      }
      lastStatus = ticket.status;
    }
    render(ticket);
  }

  async function poll() {
    try {
      const ticket = await window.motcua.getJson(config.status_url);
      if (ticket) update(ticket);
    } catch (error) {
      // offline for a moment: the next poll tries again
    }
  }

  if (!window.EventSource) {
    window.setInterval(poll, 10000);
    return;
  }
  const source = new EventSource(config.events_url);
  const hint = document.getElementById("t-live");
  source.addEventListener("ticket", (event) => {
    const ticket = JSON.parse(event.data);
    update(ticket);
    hint.textContent = texts.ticket_ongoing;
    if (FINAL.includes(ticket.status)) source.close();
  });
  source.addEventListener("error", () => {
    hint.textContent = texts.offline;
    if (source.readyState === EventSource.CLOSED) {
      window.setInterval(poll, 10000); // the stream was refused (server busy): poll instead
    }
  });
})();
