// twoface web: what each page does (the helpers are in app.js).
"use strict";

const COLOURS = { fake: "#c0392b", real: "#27ae60", uncertain: "#d68910" };

function renderDetect(r, box) {
  const v = r.verdict || "?";
  const label = r.certain ? "proven by provenance: made by twoface"
    : v === "no-face" ? "no face to judge" : "detector estimate, not proof";
  const parts = [
    el("p", { class: `verdict v-${v}${r.certain ? " certain" : ""}`, id: "verdict" },
      `${v.toUpperCase()} — p(fake) = ${pct(r.probability_fake)}`, el("small", {}, label)),
    el("p", {}, `${r.frames_scored} frame(s) scored, ${r.faces} face(s) in ${r.tracks.length} ` +
      `track(s), ${(r.seconds || 0).toFixed(1)} s; decided by ${r.decided_by}.`),
  ];
  const caveats = [...(r.notes || []), ...(r.caveats || [])];
  if (caveats.length) {
    parts.push(el("h2", {}, "Caveats"), el("div", { id: "caveats" },
      caveats.map((c) => el("div", { class: "caveat" }, c))));
  }
  const prov = r.provenance;
  parts.push(el("h2", {}, "Provenance (checked first)"), el("div", { id: "provenance" },
    prov ? kvTable([["status", prov.status], ["verdict", prov.verdict],
      ["manifest", prov.manifest && prov.manifest.state],
      ["watermark", prov.watermark && prov.watermark.detected ? "present" : "absent"]])
      : el("p", {}, "not checked")));
  if (r.tracks.length) {
    const thr = r.settings || {};
    const t1 = Math.max(...r.tracks.flatMap((t) => t.timeline.map((p) => p.time)), 0.01);
    parts.push(el("h2", {}, "Score timeline"), el("div", { id: "timeline" }, r.tracks.map((t) =>
      el("div", {}, el("div", { class: "status" }, `track ${t.track}: ${t.faces} face(s), ` +
        `p(fake) = ${pct(t.probability_fake)}${t.decides ? "" : " (too few faces to decide)"}`),
      lineChart([{ points: t.timeline.map((p) => [p.time, p.p]), colour: "#2d6cdf" }],
        { ymin: 0, ymax: 1, xmin: 0, xmax: t1, xunit: "s", label: `timeline of track ${t.track}`,
          guides: [{ y: thr.fake_threshold ?? 0.7, colour: COLOURS.fake },
            { y: thr.real_threshold ?? 0.3, colour: COLOURS.real }] })))));
  }
  if (r.top_faces && r.top_faces.length) {
    parts.push(el("h2", {}, "Most suspicious faces"), el("p", { class: "status" },
      "Left: the face the detector saw. Right: occlusion heat map (red: hiding this " +
      "region lowers the fake score most)."), el("div", { class: "faces", id: "faces" },
      r.top_faces.map((f) => el("figure", {}, el("img", { src: fileUrl(f.crop), alt: "face" }),
        el("img", { src: fileUrl(f.heat), alt: "heat map" }), el("figcaption", {},
          `frame ${f.frame} (${f.time.toFixed(2)} s), track ${f.track}, p = ${pct(f.probability_fake)}`)))));
  }
  parts.push(el("p", {}, el("a", { href: fileUrl(r.report_html), target: "_blank" }, "full report"),
    " · ", el("a", { href: fileUrl(r.report_json, true) }, "report.json")));
  box.replaceChildren(...parts);
}

function renderVerify(r, box) {
  const m = r.manifest || {}, w = r.watermark || {}, claims = m.claims || {};
  const p = w.payload || {};
  // 0: made by twoface (proof, a solid banner); 3: tampered; 1: no twoface provenance.
  const look = { 0: "v-fake certain", 1: "v-no-face", 3: "v-fake" }[r.exit_code] || "v-uncertain";
  box.replaceChildren(el("p", { class: `verdict ${look}`, id: "verdict" }, r.verdict),
  el("h2", {}, "Manifest"), kvTable([["state", m.state], ["reason", m.reason],
    ["generator", m.generator], ["made by twoface", m.made_by_twoface ? "yes (trusted key)" : "no"],
    ["method", claims.method], ["made", claims.created],
    ["consent record sha256", claims.consent_sha256], ["label", claims.label]]),
  el("h2", {}, "Watermark"), kvTable([["detected", w.detected ? "yes" : "no"],
    ["payload", w.detected ? `${p.tool} ${p.method}, model ${p.model}, ${p.date}` : null],
    ["confidence", w.confidence !== undefined ? Number(w.confidence).toFixed(2) : null],
    ["frames", w.frames]]));
}

// Red only for a confident edit finding; a weak one slate, context (traits of the source,
// the source match) grey, as in the HTML report.
function findingFill(f) {
  if (f.context) return "rgba(189,195,199,0.6)";
  return f.confidence >= 0.5 ? `rgba(192,57,43,${0.15 + 0.85 * f.confidence})`
    : `rgba(93,109,126,${0.2 + 0.6 * f.confidence})`;
}

function renderInspect(r, box) {
  const dur = Math.max(r.duration || 0, 0.01), w = 760, rowH = 18;
  const kinds = [...new Set(r.findings.map((f) => f.kind))];
  const svg = svgEl("svg", { width: w, height: 30 + rowH * Math.max(kinds.length, 1), id: "findings-timeline",
    role: "img", "aria-label": "findings on a timeline" });
  kinds.forEach((k, i) => {
    svg.append(svgEl("text", { x: 0, y: 24 + i * rowH }, k));
    for (const f of r.findings.filter((g) => g.kind === k)) {
      const x = 130 + (w - 140) * f.start / dur;
      const width = Math.max(3, (w - 140) * (f.end - f.start) / dur);
      svg.append(svgEl("rect", { x, y: 12 + i * rowH, width, height: rowH - 4,
        fill: findingFill(f) }));
    }
  });
  svg.append(svgEl("text", { x: 130, y: 10 }, "0 s"), svgEl("text", { x: w - 50, y: 10 }, `${dur.toFixed(2)} s`));
  const match = r.findings.find((f) => f.kind === "source_match");
  const edits = r.findings.filter((f) => !f.context).length;
  box.replaceChildren(el("p", { id: "summary" }, r.media === "image" ? "a still image, " :
    `${r.frames} frames, ${r.duration.toFixed(2)} s, `, `${edits} finding(s) of editing, ` +
    `${r.findings.length - edits} of context`),
  match ? el("p", { id: "source-match" }, `Compared with its source: ${match.evidence.note}`)
    : "",
  r.findings.length ? svg : el("p", {}, "No trace of editing found."),
  el("table", {}, el("tr", {}, ["kind", "start", "end", "confidence", "evidence"].map((h) => el("th", {}, h))),
    r.findings.map((f) => el("tr", {}, el("td", {}, f.kind), el("td", {}, f.start.toFixed(2)),
      el("td", {}, f.end.toFixed(2)), el("td", {}, f.confidence.toFixed(2)),
      el("td", {}, Object.entries(f.evidence).map(([k, v]) =>
        `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(", "))))),
  el("p", {}, el("a", { href: fileUrl(r.report_html), target: "_blank" }, "full report")));
}

// ---------------------------------------------------------------- Make
const FORMS = [
  ["extract", "Extract faces", [["files", "media", true]], [["size", 256], ["every", 1]]],
  ["train_swap", "Train swap", [["a", "facesets"], ["b", "facesets"]], [["steps", 200], ["minutes", 0], ["size", 64], ["batch", 4]]],
  ["train_motion", "Train motion", [["videos", "videos", true]], [["steps", 200], ["minutes", 0], ["size", 64], ["batch", 4]]],
  ["train_gan", "Train GAN", [["facesets", "facesets", true]], [["steps", 200], ["minutes", 0], ["size", 32], ["batch", 8]]],
  ["swap", "Run a swap", [["file", "media"], ["model", "swap_models"], ["consent", "consent"]], []],
  ["animate", "Animate a still", [["source", "images"], ["driving", "videos"], ["model", "motion_models"], ["consent", "consent"]], []],
  ["reenact", "Reenact a video", [["target", "videos"], ["driver", "videos"], ["model", "motion_models"], ["consent", "consent"]], [["expression_only", 0]]],
  ["swap_oneshot", "Swap from photos", [["target", "videos"], ["faces", "images", true], ["model", "motion_models"], ["consent", "consent"]], []],
  ["generate", "Generate faces", [["model", "gan_models"], ["consent", "consent"]], [["n", 8], ["seed", 0]]],
];

async function buildMake() {
  const c = await api("/api/choices");
  c.media = [...c.videos, ...c.images];
  const forms = document.getElementById("forms");
  const open = new Set([...forms.querySelectorAll("details[open]")].map((d) => d.dataset.kind));
  if (!forms.children.length) open.add("extract");
  forms.replaceChildren(el("h2", {}, "2. Choose a job"), ...FORMS.map(([kind, title, files, nums]) => {
    const inputs = {};
    const row = el("div", { class: "row" },
      files.map(([name, from, many]) => {
        const optional = name === "consent" || (name === "model" && ["reenact", "swap_oneshot"].includes(kind));
        const opts = (optional ? [""] : []).concat(c[from] || []);
        const none = name === "consent" ? "(no consent record)" : "(none: warp engine)";
        inputs[name] = el("select", { name, multiple: many || null, id: `${kind}-${name}` },
          opts.map((o) => el("option", { value: o }, o || none)));
        return el("label", {}, name, inputs[name]);
      }),
      nums.map(([name, dflt]) => {
        inputs[name] = el("input", { type: "number", value: dflt, name, id: `${kind}-${name}`, style: "width:6em" });
        return el("label", {}, name, inputs[name]);
      }),
      kind === "swap" ? el("label", {}, "direction", inputs.direction = el("select", {},
        el("option", {}, "a2b"), el("option", {}, "b2a"))) : null,
      ["reenact", "swap_oneshot"].includes(kind) ? el("label", {}, "engine", inputs.engine = el("select", { id: `${kind}-engine` },
        el("option", {}, "motion"), el("option", {}, "warp"))) : null,
      el("button", { id: `run-${kind}`, onclick: () => runMake(kind, inputs) }, title));
    return el("details", { open: open.has(kind) || null, "data-kind": kind }, el("summary", {}, title), row);
  }));
}

async function runMake(kind, inputs) {
  const params = {};
  for (const [name, input] of Object.entries(inputs)) {
    if (input.multiple) params[name] = [...input.selectedOptions].map((o) => o.value);
    else if (input.type === "number") params[name] = Number(input.value);
    else if (input.value) params[name] = input.value;
  }
  const box = document.getElementById("job"), live = document.getElementById("live");
  const result = document.getElementById("result");
  result.replaceChildren();
  try {
    const job = await submit(kind, params);
    let timer = null;
    if (kind.startsWith("train_")) timer = setInterval(() => showTraining(job.id, live), 2000);
    const done = await watch(job, box);
    if (timer) { clearInterval(timer); await showTraining(job.id, live); }
    if (done && done.status === "done") renderMade(done.result, result);
    buildMake();
  } catch (err) {
    box.replaceChildren(el("div", { class: "error", id: "job-error" }, err.message));
  }
}

async function showTraining(jobId, live) {
  const loss = await api(`/api/jobs/${jobId}/loss`);
  const chart = loss.step.length ? lineChart([{ points: loss.step.map((s, i) => [s, loss.loss[i]]),
    colour: "#2d6cdf" }], { xunit: "steps", label: "loss curve", width: 460, height: 220 })
    : el("p", { class: "status" }, "waiting for the first logged step…");
  live.replaceChildren(el("div", { class: "cols", id: "training" },
    el("div", {}, el("h2", {}, "Loss"), chart),
    el("div", {}, el("h2", {}, "Preview"), loss.preview
      ? el("img", { class: "preview", id: "preview", src: `${fileUrl(loss.preview)}&t=${Date.now()}` })
      : el("p", { class: "status" }, "no preview yet"))));
}

function renderMade(r, box) {
  const links = [];
  for (const key of ["output", "grid", "faceset", "model"]) {
    if (r[key]) links.push(el("li", {}, `${key}: `, el("a", { href: fileUrl(r[key], key === "output") }, r[key])));
  }
  const pics = [r.grid, ...(r.files || []).slice(0, 8)].filter(Boolean)
    .map((f) => el("img", { src: fileUrl(f), class: "preview", style: "max-width:200px" }));
  box.replaceChildren(el("div", { class: "panel", id: "made" }, el("h2", {}, "Result"),
    el("ul", {}, links), ...pics, el("pre", { class: "log" }, JSON.stringify(r, null, 1))));
}

function setupUploads() {
  const status = document.getElementById("upload-status");
  for (const [id, purpose] of [["media-file", "media"], ["consent-file", "consent"]]) {
    const input = document.getElementById(id);
    input.addEventListener("change", async () => {
      for (const f of input.files) {
        status.textContent = `uploading ${f.name}…`;
        try { const up = await upload(f, purpose); status.textContent = `uploaded ${up.path}`; }
        catch (err) { status.replaceChildren(el("span", { class: "error" }, err.message)); }
      }
      buildMake();
    });
  }
}

// ---------------------------------------------------------------- Jobs
async function buildJobs() {
  const { jobs } = await api("/api/jobs");
  const act = (label, fn, cls) => el("button", { class: cls || "quiet", onclick: async () => {
    try { await fn(); } catch (err) { alert(err.message); } buildJobs(); } }, label);
  document.getElementById("list").replaceChildren(jobs.length ? el("table", { id: "jobs-table" },
    el("tr", {}, ["job", "kind", "status", "progress", "message", "created", ""].map((h) => el("th", {}, h))),
    jobs.map((j) => el("tr", { "data-id": j.id },
      el("td", {}, j.id), el("td", {}, j.kind), el("td", { class: `st-${j.status}` }, j.status),
      el("td", {}, `${Math.round(100 * j.progress)}%`), el("td", {}, j.error || j.message),
      el("td", {}, j.created.replace("T", " ").slice(0, 19)),
      el("td", {}, ["queued", "running"].includes(j.status) ? act("cancel", () => api(`/api/jobs/${j.id}/cancel`, { method: "POST" })) : null,
        ["interrupted", "cancelled", "failed"].includes(j.status) ? act("resume", () => api(`/api/jobs/${j.id}/resume`, { method: "POST" }), "") : null,
        j.status !== "running" ? act("delete", () => api(`/api/jobs/${j.id}`, { method: "DELETE" })) : null,
        el("a", { href: `/api/jobs/${j.id}/log`, target: "_blank" }, " log")))))
    : el("p", {}, "No jobs yet."));
}

const PAGE = document.body.dataset.page;
if (PAGE === "detect") dropToJob("detect", {}, renderDetect);
if (PAGE === "verify") dropToJob("verify", {}, renderVerify);
if (PAGE === "inspect") {
  const params = {}, status = document.getElementById("source-status");
  onFileDrop(document.getElementById("drop-source"), document.getElementById("file-source"),
    async (file) => {
      status.textContent = `uploading ${file.name}…`;
      try {
        params.against = (await upload(file)).path;
        status.replaceChildren(`Source: ${file.name}. Now drop the clip made from it. `,
          el("a", { href: "#", id: "source-clear", onclick: (e) => {
            e.preventDefault(); delete params.against;
            status.textContent = "No source given: blind checks only.";
          } }, "forget the source"));
      } catch (err) {
        status.replaceChildren(el("span", { class: "error" }, err.message));
      }
    });
  dropToJob("inspect", params, renderInspect);
}
if (PAGE === "make") { setupUploads(); buildMake(); }
if (PAGE === "jobs") {
  buildJobs();
  document.getElementById("refresh").addEventListener("click", buildJobs);
  setInterval(buildJobs, 3000);
}
