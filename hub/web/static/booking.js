// Booking pages (/book and /b/{code}): plain fetch calls to the booking API, no framework.
"use strict";

(function () {
  function $(id) { return document.getElementById(id); }
  const { fill, sendJson: api } = window.motcua;
  function say(text, kind) {
    const box = $("b-message");
    box.textContent = text;
    box.className = "banner " + (kind || "error");
    box.hidden = !text;
  }

  const bookConfig = $("book-config");
  if (bookConfig) {
    const config = window.motcua.config("book-config");
    const texts = config.texts;
    let chosen = null;

    async function loadSlots() {
      const grid = $("b-slots");
      grid.textContent = "";
      chosen = null;
      const query = "service_id=" + encodeURIComponent($("b-service").value) + "&date=" + $("b-day").value;
      let slots = [];
      try { slots = await api("GET", "/api/v1/bookings/slots?" + query); } catch (e) { say(e.message); return; }
      if (!slots.length) { grid.textContent = texts.no_slots; return; }
      for (const slot of slots) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "slot";
        button.setAttribute("role", "radio");
        button.setAttribute("aria-checked", "false");
        button.disabled = slot.free <= 0;
        button.innerHTML = "";
        const time = document.createElement("strong");
        time.textContent = slot.slot;
        const free = document.createElement("small");
        free.textContent = slot.free > 0 ? fill(texts.free, { n: slot.free }) : texts.full;
        button.append(time, free);
        button.addEventListener("click", () => {
          for (const other of grid.children) other.setAttribute("aria-checked", "false");
          button.setAttribute("aria-checked", "true");
          chosen = slot.slot;
        });
        grid.append(button);
      }
    }

    function who() { return document.querySelector("input[name=who]:checked").value; }
    for (const radio of document.querySelectorAll("input[name=who]")) {
      radio.addEventListener("change", () => {
        $("b-phone-box").hidden = who() !== "phone";
        $("b-id-box").hidden = who() !== "id_no";
      });
    }
    $("b-service").addEventListener("change", loadSlots);
    $("b-day").addEventListener("change", loadSlots);
    const sendOtp = $("b-send-otp");
    if (sendOtp) {
      sendOtp.addEventListener("click", async () => {
        try {
          await api("POST", "/api/v1/bookings/otp", { phone: $("b-phone").value });
          say(texts.otp_sent, "ok");
          $("b-otp").focus();
        } catch (e) { say(e.message); }
      });
    }
    $("book-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { service_id: $("b-service").value, date: $("b-day").value, slot: chosen };
      if (who() === "phone") {
        body.phone = $("b-phone").value;
        if ($("b-otp")) body.otp = $("b-otp").value;
      } else {
        body.id_no = $("b-id-no").value;
      }
      try {
        const booking = await api("POST", "/api/v1/bookings?lang=" + config.lang, body);
        say("");
        $("book-form").hidden = true;
        $("b-code").textContent = booking.code_display;
        $("b-when").textContent = booking.service_name + " · " + booking.slot + " · " + booking.date.split("-").reverse().join("/");
        $("b-qr").src = booking.qr_url;
        $("b-link").href = booking.url;
        $("b-done").hidden = false;
      } catch (e) { say(e.message); }
    });
    loadSlots();
  }

  const bookingConfig = $("booking-config");
  if (bookingConfig) {
    const config = window.motcua.config("booking-config");
    const cancel = $("b-cancel");
    if (cancel) {
      cancel.addEventListener("click", async () => {
        try {
          await api("DELETE", "/api/v1/bookings/" + config.code + "?lang=" + config.lang);
          window.location.reload();
        } catch (e) { say(e.message); }
      });
    }
    const checkIn = $("b-check-in");
    if (checkIn) {
      checkIn.addEventListener("click", async () => {
        try {
          const result = await api("POST", "/api/v1/bookings/" + config.code + "/check-in?lang=" + config.lang, {});
          window.location.href = result.ticket.url;
        } catch (e) { say(e.message); }
      });
    }
  }
})();
