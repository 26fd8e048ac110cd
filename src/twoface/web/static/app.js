// twoface web: helpers every page uses (no build step, no dependencies).
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

async function api(path, options) {
  const res = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
  const text = await res.text();
  let body;
  try { body = text ? JSON.parse(text) : {}; } catch (e) { body = { error: text }; }
  if (!res.ok) throw new Error(body.error || body.detail || `${res.status} ${res.statusText}`);
  return body;
}

function fileUrl(path, download) {
  return `/api/file?path=${encodeURIComponent(path)}${download ? "&download=1" : ""}`;
}

async function upload(file, purpose) {
  const q = `name=${encodeURIComponent(file.name)}&purpose=${purpose || "media"}`;
  return api(`/api/uploads?${q}`, { method: "POST", body: file,
    headers: { "Content-Type": "application/octet-stream" } });
}

async function submit(kind, params) {
  return api("/api/jobs", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ kind, params }) });
}

// A job's live panel: progress bar, status line and log, fed by server-sent events.
// Resolves with the finished job row.
function watch(job, box, onUpdate) {
  const bar = el("div"), status = el("div", { class: "status", id: "job-status" });
  const log = el("pre", { class: "log", id: "job-log" });
  box.replaceChildren(el("div", { class: "panel" },
    el("div", {}, el("b", {}, `${job.kind} `), el("span", { class: "status" }, job.id)),
    el("div", { class: "bar" }, bar), status, el("details", {}, el("summary", {}, "log"), log)));
  return new Promise((resolve) => {
    const source = new EventSource(`/api/jobs/${job.id}/events`);
    source.addEventListener("log", (ev) => { log.append(JSON.parse(ev.data) + "\n"); });
    source.addEventListener("job", (ev) => {
      const row = JSON.parse(ev.data);
      bar.style.width = `${Math.round(100 * row.progress)}%`;
      status.textContent = `${row.status}: ${row.message || ""}`;
      if (row.error) status.replaceChildren(el("span", { class: "error" }, row.error));
      if (onUpdate) onUpdate(row);
      if (!["queued", "running"].includes(row.status)) { source.close(); resolve(row); }
    });
    source.addEventListener("gone", () => { source.close(); resolve(null); });
  });
}

// Drop zone + file input: upload the file, run `kind` on it, show the result with `render`.
function dropToJob(kind, params, render) {
  const drop = document.getElementById("drop"), input = document.getElementById("file");
  const jobBox = document.getElementById("job"), result = document.getElementById("result");
  async function go(file) {
    result.replaceChildren();
    jobBox.replaceChildren(el("div", { class: "status" }, `uploading ${file.name}…`));
    try {
      const up = await upload(file);
      const job = await submit(kind, Object.assign({ file: up.path }, params || {}));
      const done = await watch(job, jobBox);
      if (done && done.status === "done") render(done.result, result, done);
    } catch (err) {
      jobBox.replaceChildren(el("div", { class: "error", id: "job-error" }, err.message));
    }
  }
  onFileDrop(drop, input, go);
}

// Call `go(file)` with the file dropped on `drop` or chosen through its hidden `input`.
function onFileDrop(drop, input, go) {
  drop.addEventListener("click", () => input.click());
  input.addEventListener("change", () => { if (input.files.length) go(input.files[0]); });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault(); drop.classList.remove("over");
    if (e.dataTransfer.files.length) go(e.dataTransfer.files[0]);
  });
}

function kvTable(rows) {
  return el("table", { class: "kv" }, rows.filter((r) => r[1] !== undefined && r[1] !== null)
    .map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v))));
}

// A line chart: series [{points: [[x, y], ...], colour}], horizontal guides [{y, colour}].
function lineChart(series, opts) {
  const w = opts.width || 640, h = opts.height || 160, pad = 34;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const x0 = opts.xmin ?? Math.min(...xs, 0), x1 = opts.xmax ?? Math.max(...xs, 1e-6);
  const y0 = opts.ymin ?? Math.min(...ys), y1 = opts.ymax ?? Math.max(...ys, y0 + 1e-6);
  const X = (x) => pad + (w - 2 * pad) * (x - x0) / Math.max(x1 - x0, 1e-9);
  const Y = (y) => h - pad - (h - 2 * pad) * (y - y0) / Math.max(y1 - y0, 1e-9);
  const svg = svgEl("svg", { width: w, height: h, role: "img", "aria-label": opts.label || "chart",
    class: opts.cls || "chart" });
  svg.append(svgEl("rect", { x: pad, y: pad, width: w - 2 * pad, height: h - 2 * pad,
    fill: "#fafbfc", stroke: "#d9dee2" }));
  for (const g of opts.guides || []) {
    svg.append(svgEl("line", { x1: pad, x2: w - pad, y1: Y(g.y), y2: Y(g.y), stroke: g.colour,
      "stroke-dasharray": "4 3" }));
  }
  for (const s of series) {
    if (!s.points.length) continue;
    const d = s.points.map((p, i) => `${i ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`);
    svg.append(svgEl("path", { d: d.join(" "), fill: "none", stroke: s.colour, "stroke-width": 2 }));
    for (const p of s.points) {
      svg.append(svgEl("circle", { cx: X(p[0]), cy: Y(p[1]), r: 2.5, fill: s.colour }));
    }
  }
  const fmt = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(2));  // steps are whole
  svg.append(svgEl("text", { x: pad, y: h - 8 }, `${fmt(x0)} ${opts.xunit || ""}`));
  svg.append(svgEl("text", { x: w - pad - 60, y: h - 8 }, `${fmt(x1)} ${opts.xunit || ""}`));
  svg.append(svgEl("text", { x: 2, y: pad + 4 }, y1.toFixed(2)));
  svg.append(svgEl("text", { x: 2, y: h - pad }, y0.toFixed(2)));
  return svg;
}

function pct(p) { return p === null || p === undefined ? "n/a" : p.toFixed(3); }
