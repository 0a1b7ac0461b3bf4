// Live updates for every signed-in page: the server's events (/console/events, server-sent
// events) applied to what the page shows, without a reload. Everything a message says is set
// as text (textContent), never as markup: its body is a stranger's.
"use strict";
(function () {
  if (!window.EventSource) return;
  const source = new EventSource("/console/events");
  document.documentElement.dataset.live = "connecting";
  source.addEventListener("open", function () {
    document.documentElement.dataset.live = "open"; // for the tests: events will come
  });
  source.addEventListener("error", function () {
    document.documentElement.dataset.live = "closed";
  });

  function element(tag, className, text) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    if (text !== undefined && text !== null) made.textContent = text;
    return made;
  }

  function setStatus(span, status) {
    span.className = "status " + status;
    span.textContent = status;
  }

  function messagePage(m) {
    const sid = document.querySelector("h1 .sid");
    if (!sid || sid.textContent !== m.sid) return;
    const status = document.querySelector("dl.fields .status");
    if (status) setStatus(status, m.status);
    if (m.error_code !== null && !document.querySelector("dl.fields .problem")) {
      const row = element("div");
      row.append(element("dt", "", "Error"));
      row.append(element("dd", "problem", m.error_code + (m.error_text ? ": " + m.error_text : "")));
      document.querySelector("dl.fields").append(row);
    }
  }

  function bubble(m) {
    const item = element("li", "bubble " + (m.direction === "inbound" ? "inbound" : "outbound"));
    item.dataset.sid = m.sid;
    item.append(element("p", "body", m.body));
    const meta = element("p", "meta");
    const time = element("time", "", m.date.replace("T", " ").slice(0, 19));
    time.dateTime = m.date;
    meta.append(time, " ", element("span", "status " + m.status, m.status));
    item.append(meta);
    return item;
  }

  function conversation(m) {
    const thread = document.querySelector("ol.thread");
    if (!thread) return;
    const ours = thread.dataset.ours;
    const theirs = thread.dataset.theirs;
    const inbound = m.direction === "inbound";
    const mine = inbound ? m.to === ours && m.from === theirs : m.from === ours && m.to === theirs;
    if (!mine) return;
    const known = thread.querySelector('li[data-sid="' + CSS.escape(m.sid) + '"]');
    if (known) {
      setStatus(known.querySelector(".status"), m.status);
      return;
    }
    thread.append(bubble(m));
    const empty = document.getElementById("thread-empty");
    if (empty) empty.remove();
    thread.lastElementChild.scrollIntoView({ block: "end" });
  }

  // The overview's chart (an SVG the server draws): drawn again as messages come, at most
  // every few seconds, however many come.
  const CHART_EVERY_MS = 5000;
  let chartDue = null;
  function chart() {
    const image = document.getElementById("per-minute-chart");
    if (!image || chartDue) return;
    chartDue = setTimeout(function () {
      chartDue = null;
      image.src = "/console/chart.svg?at=" + Date.now();
    }, CHART_EVERY_MS);
  }

  source.addEventListener("message", function (e) {
    const m = JSON.parse(e.data);
    messagePage(m);
    conversation(m);
    chart();
  });

  source.addEventListener("queue", function (e) {
    const counts = JSON.parse(e.data);
    const list = document.getElementById("queue-counts");
    if (!list) return;
    list.replaceChildren();
    for (const [status, count] of Object.entries(counts)) {
      const row = element("div");
      row.append(element("dt", "", status), element("dd", "", String(count)));
      list.append(row);
    }
    const empty = document.getElementById("queue-empty");
    if (empty) empty.hidden = Object.keys(counts).length > 0;
  });

  function signal(cell, modem) {
    cell.replaceChildren();
    if (modem.bars === null) {
      cell.textContent = "unknown";
      return;
    }
    const bars = element("span", "bars");
    bars.setAttribute("role", "img");
    bars.setAttribute("aria-label", modem.bars + " of 4 bars");
    for (let bar = 0; bar < 4; bar++) {
      bars.append(element("span", "signal-bar b" + (bar + 1) + (bar < modem.bars ? " on" : "")));
    }
    cell.append(bars, " " + modem.dbm + " dBm");
  }

  source.addEventListener("modems", function (e) {
    for (const modem of JSON.parse(e.data)) {
      const card = document.querySelector('article.modem[data-modem="' + CSS.escape(modem.id) + '"]');
      if (!card) continue;
      const state = card.querySelector("h3 .state");
      state.className = "state " + (modem.state === "ready" ? "ok" : "bad");
      state.textContent = modem.state;
      const field = function (name) { return card.querySelector('[data-field="' + name + '"]'); };
      signal(field("signal"), modem);
      field("operator").textContent = modem.operator || "unknown";
      field("registration").textContent = modem.registration;
      field("storage").textContent = modem.storage || "unknown";
    }
  });
})();
