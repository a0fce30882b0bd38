// The dashboard's little JavaScript: table sorting and the playground's streamed chat.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function sortableTables() {
  document.querySelectorAll("table.sortable").forEach((table) => {
    table.querySelectorAll("th").forEach((th, column) => {
      th.addEventListener("click", () => {
        const ascending = !th.classList.contains("asc");
        table.querySelectorAll("th").forEach((h) => h.classList.remove("asc", "desc"));
        th.classList.add(ascending ? "asc" : "desc");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        const value = (row) => {
          const cell = row.cells[column];
          const raw = cell ? (cell.dataset.value || cell.textContent.trim()) : "";
          const number = parseFloat(raw);
          return Number.isNaN(number) || !/^[-+.\d]/.test(raw) ? raw.toLowerCase() : number;
        };
        rows.sort((a, b) => {
          const x = value(a), y = value(b);
          return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
        });
        rows.forEach((row) => body.appendChild(row));
      });
    });
  });
}

function describeAnswer(done) {
  const parts = [];
  if (done.usage) parts.push(`${done.usage.prompt_tokens} + ${done.usage.completion_tokens} tokens`);
  parts.push(`${done.seconds.toFixed(2)} s`);
  if (done.energy && done.energy.joules != null) {
    parts.push(`${done.energy.joules.toFixed(2)} J (${done.energy.method})`);
    if (done.energy.gco2e != null) parts.push(`${done.energy.gco2e.toPrecision(3)} gCO2e`);
  } else {
    parts.push("energy not measured");
  }
  return parts.join(" · ");
}

function playground() {
  const form = document.getElementById("chat-form");
  if (!form) return;
  const transcript = document.getElementById("transcript");
  const prompt = document.getElementById("prompt");
  const send = document.getElementById("send");
  const history = [];

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = prompt.value.trim();
    if (!text) return;
    history.push({ role: "user", content: text });
    const question = document.createElement("div");
    question.className = "msg user";
    question.textContent = text;
    const answer = document.createElement("div");
    answer.className = "msg assistant";
    const body = document.createElement("span");
    body.className = "answer-text";
    const meta = document.createElement("span");
    meta.className = "meta";
    answer.append(body, meta);
    transcript.append(question, answer);
    prompt.value = "";
    send.disabled = true;
    try {
      const response = await fetch("/ui/api/chat", {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": csrfToken() },
        body: JSON.stringify({
          model: document.getElementById("model").value,
          max_tokens: parseInt(document.getElementById("max-tokens").value, 10) || 128,
          messages: history,
        }),
      });
      if (!response.ok) {
        const problem = await response.json();
        meta.textContent = problem.error ? problem.error.message : `error ${response.status}`;
        meta.classList.add("error");
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const line = buffer.slice(0, cut).replace(/^data: /, "");
          buffer = buffer.slice(cut + 2);
          const event = JSON.parse(line);
          if (event.delta) body.textContent += event.delta;
          if (event.done) meta.textContent = describeAnswer(event);
          if (event.error) { meta.textContent = event.error.message; meta.classList.add("error"); }
        }
        transcript.scrollTop = transcript.scrollHeight;
      }
      history.push({ role: "assistant", content: body.textContent });
    } finally {
      send.disabled = false;
    }
  });
}

// The limits form shows the current limits of the tenant or key chosen.
function limitsForm() {
  const target = document.getElementById("limits-target");
  if (!target) return;
  const fill = () => {
    const option = target.options[target.selectedIndex];
    const current = option ? JSON.parse(option.dataset.limits || "{}") : {};
    document.querySelectorAll("#limits-form input.limit").forEach((input) => {
      const value = current[input.name];
      input.value = value === null || value === undefined ? "" : value;
    });
  };
  target.addEventListener("change", fill);
  fill();
}

document.addEventListener("DOMContentLoaded", () => {
  sortableTables();
  limitsForm();
  playground();
});
