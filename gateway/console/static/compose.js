// The compose page's preview, as the operator types: the server's figures (the same as
// `smsgw pdu info`), asked for once typing pauses. Without this script the form's Preview
// button shows the same text.
"use strict";
(function () {
  const form = document.querySelector("form.compose");
  if (!form) return;
  const body = form.querySelector("#body");
  const shown = {
    summary: document.getElementById("preview-summary"),
    smart_note: document.getElementById("preview-smart"),
    problem: document.getElementById("preview-problem"),
  };
  const DEBOUNCE_MS = 250;
  let timer = null;
  let asked = 0;

  async function refresh() {
    const ticket = ++asked;
    const data = new FormData();
    data.append("body", body.value);
    data.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    let answer;
    try {
      const reply = await fetch(form.dataset.preview, { method: "POST", body: data, credentials: "same-origin" });
      if (!reply.ok) return;
      answer = await reply.json();
    } catch (_) {
      return; // offline for a moment: the next keystroke asks again
    }
    if (ticket !== asked) return; // an older answer arriving late
    shown.summary.textContent = answer.summary;
    shown.smart_note.textContent = answer.smart_note;
    shown.problem.textContent = answer.problem || "";
    form.dataset.previewed = body.value; // for the tests: this text's figures are shown
  }

  body.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, DEBOUNCE_MS);
  });
})();
