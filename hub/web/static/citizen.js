// Ticket page, citizen's parts: the no-show advice follows the ticket; messages (SMS, Web Push).
"use strict";

(function () {
  function $(id) { return document.getElementById(id); }
  const noshow = $("c-noshow");
  const lang = document.documentElement.lang === "en" ? "en" : "vi";
  document.addEventListener("ticket:update", (event) => {
    const ticket = event.detail;
    if (!noshow) return;
    noshow.hidden = ticket.status !== "skipped";
    const counter = window.motcua.counterShortName(ticket.counter_name);
    noshow.textContent = window.motcua.fill(noshow.dataset[lang], { counter });
  });

  const box = $("c-notify");
  if (!box) return;
  const token = window.location.pathname.split("/").pop();
  const url = "/api/v1/tickets/" + encodeURIComponent(token) + "/notifications";
  const words = lang === "en"
    ? { on: "You will get a message when your turn is near.", off: "Notifications are off.", fail: "Could not turn on notifications." }
    : { on: "Bạn sẽ nhận tin khi sắp đến lượt.", off: "Đã tắt thông báo.", fail: "Chưa bật được thông báo." };

  function show(state) {
    $("c-state").textContent = state.subscribed ? words.on : "";
    $("c-off").hidden = !state.subscribed;
  }
  const send = (method, body) => window.motcua.sendJson(method, url, body, words.fail);
  fetch(url).then((r) => r.json()).then(show).catch(() => {});

  const form = $("c-phone-form");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try { show(await send("POST", { phone: $("c-phone").value })); } catch (e) { $("c-state").textContent = e.message; }
    });
  }
  $("c-off").addEventListener("click", async () => {
    try { await send("DELETE"); show({ subscribed: false }); $("c-state").textContent = words.off; } catch (e) { $("c-state").textContent = e.message; }
  });

  const pushButton = $("c-push");
  const vapid = box.dataset.vapid;
  if (pushButton && vapid && "serviceWorker" in navigator && "PushManager" in window) {
    pushButton.hidden = false;
    pushButton.addEventListener("click", async () => {
      try {
        const permission = await Notification.requestPermission();
        if (permission !== "granted") { $("c-state").textContent = words.fail; return; }
        const registration = await navigator.serviceWorker.register("/push-sw.js", { scope: "/" });
        const padded = vapid + "=".repeat((4 - (vapid.length % 4)) % 4);
        const raw = atob(padded.replace(/-/g, "+").replace(/_/g, "/"));
        const key = Uint8Array.from(raw, (c) => c.charCodeAt(0));
        const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
        show(await send("POST", { subscription: subscription.toJSON() }));
      } catch (e) { $("c-state").textContent = words.fail; }
    });
  }
})();
