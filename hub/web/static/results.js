// The hall TV's list of results ready: follows /results/events (the whole board on every change),
// turns pages every few seconds, keeps the clock. Without EventSource it polls the JSON.
"use strict";

(function () {
  const config = window.motcua.config("results-config");
  const texts = config.texts;
  const rows = document.getElementById("r-rows");
  const pageLabel = document.getElementById("r-page");
  const stale = document.getElementById("r-stale");
  const offline = document.getElementById("r-offline");
  const WEEKDAYS = config.lang === "en"
    ? ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    : ["Chủ Nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy"];
  let board = null;
  let page = 0;
  let perPage = config.rows;

  const { fill, element, dateTime } = window.motcua;
  const cell = (className, text) => element("td", className, text);

  function pages() {
    const count = board ? board.items.length : 0;
    return Math.max(1, Math.ceil(count / perPage));
  }

  // As many rows as the screen holds above the footer (rows have one height), at most config.rows.
  function fitRows() {
    const first = rows.querySelector("tr");
    const footer = document.querySelector(".results-foot");
    if (!first || !footer || first.classList.contains("empty")) return;
    const rowHeight = first.getBoundingClientRect().height + 6;
    const room = footer.getBoundingClientRect().top - rows.getBoundingClientRect().top - 8;
    const fits = Math.max(1, Math.min(config.rows, Math.floor(room / rowHeight)));
    if (fits !== perPage) {
      perPage = fits;
      render();
    }
  }

  function render() {
    if (!board) return;
    const total = pages();
    if (page >= total) page = 0;
    const shown = board.items.slice(page * perPage, (page + 1) * perPage);
    if (shown.length === 0) {
      const tr = element("tr", "empty");
      const td = cell("", board.fetched_at ? texts.results_empty : texts.results_loading);
      td.colSpan = 4;
      tr.append(td);
      rows.replaceChildren(tr);
    } else {
      rows.replaceChildren(...shown.map((item) => {
        const fresh = Boolean(board.new_since) && item.ready_since >= board.new_since;
        const tr = element("tr", (fresh ? "is-new " : "") + (item.overdue_collection ? "is-overdue" : ""));
        const code = cell("c-code", item.code);
        const procedure = cell("c-procedure");
        procedure.append(element("span", "clamp", item.procedure));
        const since = cell("c-since", dateTime(item.ready_since));
        if (fresh) {
          since.append(element("span", "badge-new", texts.results_new));
        } else if (item.overdue_collection) {
          since.append(element("span", "overdue", fill(texts.results_overdue, { days: item.uncollected_days })));
        }
        tr.append(code, procedure, cell("c-applicant", item.applicant_masked), since);
        return tr;
      }));
    }
    let label = board.items.length ? fill(texts.results_count, { count: board.items.length }) : "";
    if (total > 1) label += " · " + fill(texts.display_page, { page: page + 1, pages: total });
    pageLabel.textContent = label;
    stale.hidden = !(board.stale && board.fetched_at);
    stale.textContent = fill(texts.results_stale, { time: dateTime(board.fetched_at) });
  }

  function show(payload) {
    const first = board === null;
    board = payload;
    if (first) page = 0;
    render();
    fitRows();
  }

  // The site's time (Asia/Ho_Chi_Minh from the hub), whatever time zone the TV is set to.
  function tickClock() {
    const now = new Date(Date.now() + config.utc_offset_minutes * 60000);
    const pad = (n) => String(n).padStart(2, "0");
    document.getElementById("r-time").textContent = pad(now.getUTCHours()) + ":" + pad(now.getUTCMinutes());
    document.getElementById("r-date").textContent = WEEKDAYS[now.getUTCDay()] + ", " + pad(now.getUTCDate()) +
      "/" + pad(now.getUTCMonth() + 1) + "/" + now.getUTCFullYear();
  }

  async function poll() {
    try {
      const payload = await window.motcua.getJson(config.json_url);
      if (payload) {
        show(payload);
        offline.hidden = true;
        return;
      }
    } catch (error) {
      // shown below
    }
    offline.hidden = false;
  }

  function connect() {
    if (!window.EventSource) {
      poll();
      window.setInterval(poll, 30000);
      return;
    }
    const source = new EventSource(config.events_url);
    source.addEventListener("results", (event) => {
      offline.hidden = true;
      show(JSON.parse(event.data));
    });
    source.addEventListener("error", () => {
      offline.hidden = false;
      if (source.readyState === EventSource.CLOSED) window.setTimeout(connect, 5000);
    });
  }

  window.setInterval(() => {
    if (pages() > 1) {
      page = (page + 1) % pages();
      render();
    }
  }, config.page_s * 1000);
  tickClock();
  window.setInterval(tickClock, 5000);
  window.addEventListener("resize", fitRows);
  fitRows();
  connect();
})();
