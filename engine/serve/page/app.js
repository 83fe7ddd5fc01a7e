// The live page of `circuit serve`: the circuits of the folder, one circuit's picture, wires, checks and
// issues; sliders that ask the API what-if questions; Server-Sent Events that follow every save.
// Every text from a circuit goes through textContent (never innerHTML), and the picture is parsed as
// SVG with scripts and event attributes removed, so no circuit text can run in the page.
"use strict";

const state = {
  circuits: new Map(), // name → summary
  selected: null, // name of the chosen circuit
  detail: null, // its GET /api/circuits/{name} body (kept up to date by events)
  whatIf: new Map(), // name → Map(input → value the user chose)
  sent: 0, // sequence number of the last what-if request
  applied: 0, // sequence number of the last response shown
  inFlight: false,
  pending: false,
  drawing: false, // a picture request is in flight
  drawAgain: 0, // the newest what-if asked for meanwhile, to draw when it returns
  pictured: 0, // sequence number of the last picture shown
};

const $ = (id) => document.getElementById(id);
const DEBOUNCE_MS = 30;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function fmt(x) {
  if (x === null || x === undefined) return "-";
  if (!Number.isFinite(x)) return String(x);
  const text = Number(x.toPrecision(10)).toString();
  return text === "-0" ? "0" : text;
}

function location_(issue, path) {
  const parts = [path || "<string>"];
  if (issue.line !== null && issue.line !== undefined) {
    parts.push(issue.line);
    if (issue.column !== null && issue.column !== undefined) parts.push(issue.column);
  }
  return parts.join(":");
}

function issueItem(issue, path, severity) {
  const item = el("li", null, severity);
  item.append(el("code", `${location_(issue, path)}: ${severity}[${issue.code}] ${issue.message}`));
  if (issue.hint) item.append(el("div", `help: ${issue.hint}`, "hint"));
  return item;
}

async function getJSON(url, options) {
  const response = await fetch(url, options);
  const body = await response.json();
  return { status: response.status, body };
}

// ---- the list of circuits ----

async function loadList() {
  const { body } = await getJSON("/api/circuits");
  state.circuits = new Map(body.map((c) => [c.name, c]));
  renderList();
  const wanted = decodeURIComponent(location.hash.slice(1));
  if (!state.selected && wanted && state.circuits.has(wanted)) choose(wanted);
  else if (state.selected && state.circuits.has(state.selected)) refreshDetail();
}

function badgeOf(summary) {
  if (summary.stale) return ["stale", "broken"];
  return [summary.status, summary.status];
}

function renderList() {
  const list = $("circuits");
  list.replaceChildren();
  const names = [...state.circuits.keys()].sort();
  $("empty").hidden = names.length > 0;
  for (const name of names) {
    const summary = state.circuits.get(name);
    const button = el("button", null, "circuit-button");
    button.type = "button";
    button.dataset.name = name;
    if (name === state.selected) button.setAttribute("aria-current", "true");
    const [css, label] = badgeOf(summary);
    button.append(el("span", name, "name"), el("span", label, `badge ${css}`));
    const value = summary.value === null ? "" : `${summary.output} = ${fmt(summary.value)}`;
    button.append(el("span", value, "value"));
    button.addEventListener("click", () => choose(name));
    const item = el("li");
    item.append(button);
    list.append(item);
  }
}

// ---- one circuit ----

async function choose(name) {
  state.selected = name;
  history.replaceState(null, "", `#${encodeURIComponent(name)}`);
  renderList();
  await refreshDetail();
}

async function refreshDetail() {
  const name = state.selected;
  const { status, body } = await getJSON(`/api/circuits/${encodeURIComponent(name)}`);
  if (name !== state.selected) return;
  if (status !== 200) {
    state.detail = null;
    $("circuit").hidden = true;
    $("welcome").hidden = false;
    return;
  }
  showDetail(body);
}

function showDetail(detail) {
  state.detail = detail;
  $("welcome").hidden = true;
  $("circuit").hidden = false;
  const chosen = whatIfOf(detail.name);
  for (const input of [...chosen.keys()]) if (!(input in detail.inputs)) chosen.delete(input);
  if ($("picture").dataset.circuit !== detail.name) {
    $("picture").replaceChildren();
    $("picture").dataset.circuit = detail.name;
  }
  buildInputs(detail);
  renderHeader(detail);
  if (chosen.size > 0 && !broken(shown(detail))) {
    schedule(); // the user's what-if values for the inputs that still exist, asked of the new version
    return;
  }
  const seq = ++state.sent;
  state.applied = seq;
  renderResult(shown(detail), detail);
  drawLatest(seq);
}

function whatIfOf(name) {
  if (!state.whatIf.has(name)) state.whatIf.set(name, new Map());
  return state.whatIf.get(name);
}

const broken = (result) => result.status === "invalid" || result.status === "error";
const shown = (detail) => (detail.stale ? detail.last_good : detail);

function renderHeader(detail) {
  const result = shown(detail);
  $("title").textContent = detail.circuit;
  const [css, label] = detail.stale ? ["stale", "broken"] : [detail.status, detail.status];
  $("status").className = `badge ${css}`;
  $("status").textContent = label;
  $("description").textContent = detail.description || "";
  $("path").textContent = detail.path;
  const problems = detail.errors;
  $("problems").hidden = problems.length === 0;
  $("problems-title").textContent = detail.stale
    ? "The file is broken: showing the last good result"
    : "The circuit cannot be evaluated";
  $("errors").replaceChildren(...problems.map((issue) => issueItem(issue, detail.path, "error")));
  $("circuit").classList.toggle("is-stale", detail.stale);
  $("output").textContent = result && !broken(result) ? `${result.output} = ${fmt(result.value)}` : "";
}

function buildInputs(detail) {
  const box = $("inputs");
  const names = Object.keys(detail.inputs);
  const existing = [...box.querySelectorAll(".input")].map((row) => row.dataset.input);
  $("no-inputs").hidden = names.length > 0;
  const chosen = whatIfOf(detail.name);
  if (existing.join("\n") !== names.join("\n") || box.dataset.circuit !== detail.name) {
    box.replaceChildren(...names.map((name) => inputRow(name)));
    box.dataset.circuit = detail.name;
  }
  for (const name of names) setInput(name, chosen.has(name) ? chosen.get(name) : detail.inputs[name], detail.inputs[name]);
  $("reset").disabled = chosen.size === 0;
}

function inputRow(name) {
  const row = el("div", null, "input");
  row.dataset.input = name;
  const id = `input-${name}`;
  const label = el("label", name, "input-name");
  label.htmlFor = id;
  const slider = el("input");
  slider.type = "range";
  slider.id = id;
  slider.setAttribute("aria-label", `${name} slider`);
  const number = el("input");
  number.type = "number";
  number.step = "any";
  number.setAttribute("aria-label", `${name} value`);
  number.className = "number";
  const note = el("span", "", "file-value muted");
  slider.addEventListener("input", () => {
    number.value = slider.value;
    chose(name, Number(slider.value));
  });
  number.addEventListener("input", () => {
    const value = Number(number.value);
    if (number.value.trim() === "" || !Number.isFinite(value)) return;
    widen(slider, value);
    slider.value = String(value);
    chose(name, value);
  });
  row.append(label, slider, number, note);
  return row;
}

function setInput(name, value, fileValue) {
  const row = $("inputs").querySelector(`.input[data-input="${CSS.escape(name)}"]`);
  const [slider, number, note] = [row.querySelector("input[type=range]"), row.querySelector(".number"), row.querySelector(".file-value")];
  const span = Math.max(1, Math.abs(fileValue)) * 2;
  slider.min = String(fileValue - span);
  slider.max = String(fileValue + span);
  slider.step = String(span / 200);
  widen(slider, value);
  slider.value = String(value);
  if (document.activeElement !== number) number.value = String(value);
  note.textContent = `file: ${fmt(fileValue)}`;
}

function widen(slider, value) {
  if (value < Number(slider.min)) slider.min = String(value);
  if (value > Number(slider.max)) slider.max = String(value);
}

function chose(name, value) {
  whatIfOf(state.selected).set(name, value);
  $("reset").disabled = false;
  schedule();
}

let timer = null;
function schedule() {
  clearTimeout(timer);
  timer = setTimeout(ask, DEBOUNCE_MS);
}

// One what-if request in flight at a time; moves made meanwhile are sent together when it returns,
// and a response older than one already shown is dropped. The picture follows on its own (it takes
// longer to draw than the numbers take to compute), under the same rules.
async function ask() {
  if (state.inFlight) {
    state.pending = true;
    return;
  }
  const detail = state.detail;
  if (!detail) return;
  const name = detail.name;
  const inputs = Object.fromEntries(whatIfOf(name));
  const seq = ++state.sent;
  state.inFlight = true;
  drawLatest(seq);
  try {
    const { body } = await getJSON(`/api/circuits/${encodeURIComponent(name)}/evaluate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs }),
    });
    if (seq > state.applied && state.selected === name) {
      state.applied = seq;
      requestAnimationFrame(() => renderResult(body, state.detail));
    }
  } finally {
    state.inFlight = false;
    if (state.pending) {
      state.pending = false;
      ask();
    }
  }
}

async function drawLatest(seq) {
  if (state.drawing) {
    state.drawAgain = Math.max(state.drawAgain, seq);
    return;
  }
  state.drawing = true;
  try {
    await refreshPicture(seq);
  } finally {
    state.drawing = false;
    if (state.drawAgain > seq) drawLatest(state.drawAgain);
  }
}

function renderResult(result, detail) {
  if (!detail) return;
  const tbody = $("wires").querySelector("tbody");
  const circuit = $("circuit");
  if (!result || broken(result)) {
    if (result && result !== detail) {
      $("problems").hidden = false;
      $("problems-title").textContent = "These inputs cannot be evaluated";
      $("errors").replaceChildren(...result.errors.map((issue) => issueItem(issue, result.path, "error")));
    }
    if (!result || !detail.last_good) tbody.replaceChildren();
    return;
  }
  if (!detail.stale) {
    $("problems").hidden = true;
  }
  circuit.dataset.value = String(result.value);
  $("output").textContent = `${result.output} = ${fmt(result.value)}`;
  $("grad-head").textContent = `∂${result.output}/∂wire`;
  const rows = Object.keys(result.values).map((wire) => {
    const row = el("tr");
    row.dataset.wire = wire;
    const gate = detail.gates[wire];
    row.append(
      el("th", wire),
      el("td", gate ? gate.op : "input", "op"),
      el("td", fmt(result.values[wire]), "num value"),
      el("td", fmt(result.grads[wire]), `num grad ${result.grads[wire] < 0 ? "neg" : result.grads[wire] > 0 ? "pos" : ""}`),
      el("td", detail.docs[wire] || "", "doc"),
    );
    row.querySelector("th").scope = "row";
    if (wire === result.output) row.className = "is-output";
    return row;
  });
  tbody.replaceChildren(...rows);
  renderChecks(result);
}

function renderChecks(result) {
  const checks = result.checks.map((check) => {
    const what = check.kind === "expect_grad" ? `∂${result.output}/∂${check.wire}` : check.kind === "grad_check" ? `gradient check ${check.wire}` : check.wire;
    if (check.skipped) {  // a what-if: the file's expectations describe the file's own inputs
      return el("li", `– ${what} = ${fmt(check.actual)} (expected ${fmt(check.expected)} at the file's inputs)`, "skip");
    }
    return el("li", `${check.passed ? "✓" : "✗"} ${what} = ${fmt(check.actual)} (expected ${fmt(check.expected)})`, check.passed ? "pass" : "fail");
  });
  $("checks").replaceChildren(...checks);
  $("no-checks").hidden = checks.length > 0;
  const warnings = result.warnings.map((issue) => issueItem(issue, result.path, "warning"));
  $("warnings").replaceChildren(...warnings);
  $("no-warnings").hidden = warnings.length > 0;
}

// ---- the picture ----

async function refreshPicture(seq) {
  const detail = state.detail;
  if (!detail) return;
  const name = detail.name;
  const query = new URLSearchParams();
  for (const [input, value] of whatIfOf(name)) query.set(input, String(value));
  const response = await fetch(`/api/circuits/${encodeURIComponent(name)}/graph.svg?${query}`);
  const text = await response.text();
  if (state.selected !== name || seq < state.pictured) return;
  state.pictured = seq;
  const box = $("picture");
  if (!response.ok || !response.headers.get("content-type").startsWith("image/svg+xml")) {
    box.classList.add("is-greyed");
    return;
  }
  const svg = cleanSvg(text);
  if (!svg) return;
  requestAnimationFrame(() => {
    box.replaceChildren(svg);
    box.classList.toggle("is-greyed", Boolean(state.detail && state.detail.stale));
  });
}

function cleanSvg(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = doc.documentElement;
  if (root.nodeName !== "svg" || doc.querySelector("parsererror")) return null;
  for (const node of root.querySelectorAll("script, foreignObject")) node.remove();
  for (const node of [root, ...root.querySelectorAll("*")]) {
    for (const attr of [...node.attributes]) {
      if (attr.name.toLowerCase().startsWith("on") || /^\s*javascript:/i.test(attr.value)) node.removeAttribute(attr.name);
    }
  }
  return document.importNode(root, true);
}

// ---- live events ----

function follow() {
  const source = new EventSource("/api/events");
  source.addEventListener("open", () => {
    $("connection").textContent = "live";
    $("connection").className = "connection live";
    loadList();
  });
  source.addEventListener("error", () => {
    $("connection").textContent = "reconnecting…";
    $("connection").className = "connection lost";
  });
  for (const kind of ["initial", "changed", "added"]) {
    source.addEventListener(kind, (event) => {
      const detail = JSON.parse(event.data);
      state.circuits.set(detail.name, summaryOf(detail));
      renderList();
      if (detail.name === state.selected && kind !== "initial") showDetail(detail);
    });
  }
  source.addEventListener("removed", (event) => {
    const { name } = JSON.parse(event.data);
    state.circuits.delete(name);
    renderList();
    if (name === state.selected) {
      state.selected = null;
      state.detail = null;
      $("circuit").hidden = true;
      $("welcome").hidden = false;
    }
  });
}

function summaryOf(detail) {
  const result = shown(detail);
  return {
    name: detail.name,
    status: detail.status,
    stale: detail.stale,
    output: result ? result.output : null,
    value: result ? result.value : null,
  };
}

document.addEventListener("DOMContentLoaded", () => {
  $("reset").addEventListener("click", () => {
    whatIfOf(state.selected).clear();
    if (state.detail) showDetail(state.detail);
  });
  follow();
});
