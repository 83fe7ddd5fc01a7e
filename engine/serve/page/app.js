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
  try {
    const { body } = await getJSON(`/api/circuits/${encodeURIComponent(name)}/evaluate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs, explain: true }), // the trace gives the picture's edges their numbers
    });
    if (seq > state.applied && state.selected === name) {
      state.applied = seq;
      const answered = performance.now();
      requestAnimationFrame(() => {
        const started = performance.now();
        renderResult(body, state.detail);
        renumberPicture(body);
        // Style and layout happen now rather than after this callback (the frame does them either
        // way), so the user timings below include them; benchmarks/bench_page.py reads the timings.
        void $("circuit").offsetHeight;
        performance.measure("what-if applied", { start: started });
        performance.measure("what-if answered to applied", { start: answered });
      });
    }
  } finally {
    state.inFlight = false;
    drawLatest(seq); // after the numbers: drawing takes the server longer than evaluating
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
    if (!result || !detail.last_good) {
      tbody.replaceChildren();
      delete tbody.dataset.rows;
    }
    return;
  }
  if (!detail.stale) {
    $("problems").hidden = true;
  }
  circuit.dataset.value = String(result.value);
  $("output").textContent = `${result.output} = ${fmt(result.value)}`;
  $("grad-head").textContent = `∂${result.output}/∂wire`;
  const wires = Object.keys(result.values);
  const rowsKey = [detail.name, ...wires.map((w) => `${w}\t${detail.gates[w]?.op}\t${detail.docs[w]}`)].join("\n");
  if (tbody.dataset.rows === rowsKey) {
    renumberRows(tbody, result); // the same rows: only their numbers change
    renderChecks(result);
    return;
  }
  tbody.dataset.rows = rowsKey;
  const rows = wires.map((wire) => {
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

function renumberRows(tbody, result) {
  for (const row of tbody.rows) {
    const wire = row.dataset.wire;
    const grad = result.grads[wire];
    setText(row.cells[2], fmt(result.values[wire]));
    setText(row.cells[3], fmt(grad));
    setClass(row.cells[3], `num grad ${grad < 0 ? "neg" : grad > 0 ? "pos" : ""}`);
  }
}

// A number's text and class are only written when they change, and a text is changed in place:
// a frame then lays out only the numbers that moved.
function setText(element, text) {
  const node = element.firstChild;
  if (node && node.nodeType === Node.TEXT_NODE && !node.nextSibling) {
    if (node.data !== text) node.data = text;
  } else {
    element.textContent = text;
  }
}

function setClass(element, name) {
  if (element.getAttribute("class") !== name) element.setAttribute("class", name);
}

function setAttr(element, name, value) {
  if (element.getAttribute(name) !== value) element.setAttribute(name, value);
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
  const asked = performance.now();
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
    partsOf(svg); // found now, so that the next what-if's frame only writes numbers
    performance.measure("picture asked to shown", { start: asked });
  });
}

// The picture's numbers follow a what-if in the same frame as the table: every box's value and
// gradient, every edge's label, colour and width, written as the server writes them (engine/drawing/svg.py).
// Its layout, hover texts and data attributes are the server's: the fresh picture asked for once the
// numbers are in replaces this one when it comes.
function renumberPicture(result) {
  const svg = $("picture").querySelector("svg");
  if (!svg || broken(result)) return;
  const parts = partsOf(svg);
  for (const [wire, node, valueText, gradText] of parts.nodes) {
    if (!(wire in result.values)) continue;
    const [value, grad] = [result.values[wire], result.grads[wire]];
    if (valueText) setText(valueText, pyFull(value));
    if (gradText) {
      setText(gradText, pyFull(grad));
      setClass(gradText, `grad ${signOf(grad)}`);
    }
  }
  if (result.trace) renumberEdges(parts, result.trace);
}

// The elements a what-if renumbers, found once per picture.
const pictureParts = new WeakMap();
const edgeKey = (from, to, position) => `${from}\u0000${to}\u0000${position}`;
function partsOf(svg) {
  if (!pictureParts.has(svg)) {
    const key = (el) => edgeKey(el.dataset.from, el.dataset.to, el.dataset.position);
    pictureParts.set(svg, {
      nodes: [...svg.querySelectorAll("g.node[data-wire]")].map((g) => [g.dataset.wire, g, g.querySelector("text.value"), g.querySelector("text.grad")]),
      edges: new Map([...svg.querySelectorAll("g.edge")].map((g) => [key(g), [g, g.querySelector("path")]])),
      labels: new Map([...svg.querySelectorAll("text.label")].map((t) => [key(t), t])),
      colours: Object.fromEntries(["pos", "neg", "zero"].map((sign) => [sign, svg.querySelector(`#arrow-${sign} path`)?.getAttribute("fill")])),
    });
  }
  return pictureParts.get(svg);
}

function renumberEdges(parts, trace) {
  const scale = Math.max(0, ...trace.map((link) => Math.abs(link.contribution)));
  for (const link of trace) {
    const id = edgeKey(link.from, link.to, link.position);
    const [edge, label, c, sign] = [parts.edges.get(id), parts.labels.get(id), link.contribution, signOf(link.contribution)];
    if (edge) {
      const [group, path] = edge;
      setAttr(path, "stroke", parts.colours[sign]);
      setAttr(path, "stroke-width", (scale === 0 ? 1.25 : 1.25 + 3.75 * Math.sqrt(Math.abs(c) / scale)).toFixed(2));
      setAttr(path, "marker-end", `url(#arrow-${sign})`);
    }
    if (label) {
      setText(label, pyShort(c));
      setClass(label, `label ${sign}`);
    }
  }
}

const signOf = (x) => (!x ? "zero" : x > 0 ? "pos" : "neg");

// engine.result.fmt: Python's repr of a float (the shortest digits that read back as the same
// number; fixed notation for exponents −4 … 15, else d.ddde±XX) without a trailing ".0".
function pyFull(x) {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const [mantissa, power] = x.toExponential().split("e");
  return placed(mantissa, Number(power), -4, 16);
}

// Python's f"{x:.4g}": four significant digits, trailing zeros dropped.
function pyShort(x) {
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  let [mantissa, power] = x.toExponential(3).split("e");
  const [shortest, exactPower] = x.toExponential().split("e");
  const digits = shortest.replace("-", "").replace(".", "");
  if (digits.length === 5 && digits.endsWith("5") && Number(digits[3]) % 2 === 0 && isExact(x, digits, Number(exactPower) - 4)) {
    // exactly halfway: Python rounds to the even digit, toExponential away from zero
    [mantissa, power] = [`${x < 0 ? "-" : ""}${digits[0]}.${digits.slice(1, 4)}`, exactPower];
  }
  return placed(mantissa.replace(/\.?0+$/, ""), Number(power), -4, 4);
}

// Whether x is exactly the decimal digits × 10^power (not just its nearest double).
function isExact(x, digits, power) {
  const m = BigInt(digits);
  const size = Math.abs(x);
  if (power >= 0) return Number.isInteger(size) && BigInt(size) === m * 10n ** BigInt(power);
  const five = 5n ** BigInt(-power);
  const scaled = size * 2 ** -power; // exact: a power of two
  return m % five === 0n && Number.isInteger(scaled) && BigInt(scaled) === m / five;
}

// Digits "-d.ddd" times 10^power, fixed when low <= power < high, else with an exponent.
function placed(mantissa, power, low, high) {
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (power < low || power >= high) {
    const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${head}e${power < 0 ? "-" : "+"}${String(Math.abs(power)).padStart(2, "0")}`;
  }
  let text;
  if (power < 0) text = `0.${"0".repeat(-power - 1)}${digits}`;
  else if (digits.length > power + 1) text = `${digits.slice(0, power + 1)}.${digits.slice(power + 1)}`;
  else text = digits + "0".repeat(power + 1 - digits.length);
  return sign + text;
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
