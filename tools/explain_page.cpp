#include "tools/explain_page.h"

namespace chorus::cli {

namespace {

constexpr const char* kHead = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chorus explain</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px 32px; color: #1f2328; background: #fbfbfc; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.hint { color: #656d76; margin: 2px 0 8px; }
table { border-collapse: collapse; }
.meta td { padding: 1px 14px 1px 0; }
.meta td:first-child { color: #656d76; }
.mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre; }
.tokens { display: flex; flex-wrap: wrap; gap: 4px; }
.tok { border: 1px solid #afb8c1; border-radius: 4px; padding: 2px 6px; cursor: pointer; background: #fff; }
.tok small { color: #8c959f; margin-right: 4px; font-family: system-ui, sans-serif; }
.tok.sel { background: #0969da; color: #fff; border-color: #0969da; }
.tok.sel small { color: #dbeafe; }
.bars { display: grid; grid-template-columns: max-content 420px max-content; gap: 3px 10px; align-items: center; }
.bar { height: 14px; background: #2da44e; border-radius: 2px; }
.row { display: flex; gap: 24px; align-items: flex-start; flex-wrap: wrap; }
select { font: inherit; margin: 0 12px 8px 4px; }
canvas { border: 1px solid #d0d7de; background: #fff; cursor: crosshair; }
.grid td, .grid th { border: 1px solid #d0d7de; padding: 2px 6px; text-align: left; }
.grid th { background: #f0f2f4; font-weight: 600; }
.lens td { min-width: 64px; }
.scroll { overflow-x: auto; max-width: 100%; }
</style>
</head>
<body data-status="loading">
<h1>chorus explain</h1>
<table class="meta" id="meta"></table>
<h2>Prompt tokens</h2>
<p class="hint">Click a token (or a row of the heat map) to choose the position the panels below describe.</p>
<div class="tokens" id="tokens"></div>
<h2>Next token after position <span id="pos"></span></h2>
<p class="hint">The model's distribution (softmax of the logits), top <span id="topk"></span>.</p>
<div class="bars" id="next"></div>
<h2>Attention</h2>
<p class="hint">Rows are query positions, columns the positions they attend to; darker is more attention.</p>
<label>layer<select id="layer"></select></label><label>head<select id="head"></select></label>
<div class="row">
<canvas id="heat" width="10" height="10"></canvas>
<table class="grid" id="heads"></table>
</div>
<h2>Logit lens</h2>
<p class="hint">The final norm and classifier applied to each layer's output: the token each layer "would say" next, shaded by its probability (hover for the top list). The norm column is the residual stream's size at the chosen position.</p>
<div class="scroll"><table class="grid lens mono" id="lens"></table></div>
<script type="application/json" id="data">)html";

constexpr const char* kTail = R"html(</script>
<script>
"use strict";
window.addEventListener("error", (e) => { document.body.dataset.status = "error: " + e.message; });
const D = JSON.parse(document.getElementById("data").textContent);
const n = D.tokens.length;
let pos = n - 1;

function shown(piece) { return JSON.stringify(piece).slice(1, -1).replace(/ /g, "\u2423"); }
function el(tag, props, children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const c of children || []) e.append(c);
  return e;
}
function choiceText(c) { return shown(c.piece) + " " + c.prob.toFixed(3); }
function layerData() { return D.layers[Number(document.getElementById("layer").value)]; }

function renderMeta() {
  const m = D.model;
  const rows = [["model", m.name || m.path], ["file", m.path], ["architecture", m.architecture + " (" + m.format + ")"],
    ["layers / heads / kv heads", m.layers + " / " + m.heads + " / " + m.kv_heads],
    ["width / head width / hidden", m.dim + " / " + m.head_dim + " / " + m.hidden_dim],
    ["vocabulary / context", m.vocab_size + " / " + m.context_length], ["prompt", D.prompt]];
  const t = document.getElementById("meta");
  for (const [k, v] of rows) t.append(el("tr", {}, [el("td", { textContent: k }), el("td", { textContent: String(v) })]));
}

function renderTokens() {
  const box = document.getElementById("tokens");
  box.replaceChildren();
  for (const t of D.tokens) {
    const b = el("span", { className: "tok mono" + (t.position === pos ? " sel" : ""), title: "id " + t.id },
                 [el("small", { textContent: String(t.position) }), shown(t.piece)]);
    b.addEventListener("click", () => select(t.position));
    box.append(b);
  }
}

function renderNext() {
  document.getElementById("pos").textContent = pos + " (" + shown(D.tokens[pos].piece) + ")";
  document.getElementById("topk").textContent = String(D.top_k);
  const box = document.getElementById("next");
  box.replaceChildren();
  for (const c of D.next[pos]) {
    box.append(el("span", { className: "mono", textContent: shown(c.piece), title: "id " + c.token }));
    box.append(el("div", {}, [el("div", { className: "bar", style: "width:" + Math.max(0.5, 100 * c.prob) + "%" })]));
    box.append(el("span", { textContent: (100 * c.prob).toFixed(1) + "%" }));
  }
}

function headProbs(L, h) {
  if (h >= 0) return L.heads[h].probs;
  const mean = L.heads[0].probs.map((row) => row.map(() => 0));
  for (const head of L.heads)
    head.probs.forEach((row, q) => row.forEach((p, k) => { mean[q][k] += p / L.heads.length; }));
  return mean;
}

function renderHeat() {
  const L = layerData(), h = Number(document.getElementById("head").value);
  const probs = headProbs(L, h);
  const cell = Math.max(2, Math.min(26, Math.floor(560 / n)));
  const labels = cell >= 10, margin = labels ? 110 : 4;
  const c = document.getElementById("heat");
  c.width = margin + n * cell + 4;
  c.height = margin + n * cell + 4;
  const g = c.getContext("2d");
  g.fillStyle = "#fff";
  g.fillRect(0, 0, c.width, c.height);
  for (let q = 0; q < n; ++q) {
    for (let k = 0; k <= q; ++k) {
      const v = Math.sqrt(probs[q][k]);  // square root: small weights stay visible
      g.fillStyle = "rgb(" + Math.round(255 - 246 * v) + "," + Math.round(255 - 150 * v) + "," + Math.round(255 - 37 * v) + ")";
      g.fillRect(margin + k * cell, margin + q * cell, cell, cell);
    }
  }
  g.strokeStyle = "#cf222e";
  g.lineWidth = 2;
  g.strokeRect(margin, margin + pos * cell, n * cell, cell);
  if (labels) {
    g.fillStyle = "#1f2328";
    g.font = Math.min(12, cell - 1) + "px monospace";
    g.textBaseline = "middle";
    for (let i = 0; i < n; ++i) {
      const text = shown(D.tokens[i].piece).slice(0, 12);
      g.textAlign = "right";
      g.fillText(text, margin - 4, margin + i * cell + cell / 2);
      g.save();
      g.translate(margin + i * cell + cell / 2, margin - 4);
      g.rotate(-Math.PI / 2);
      g.textAlign = "left";
      g.fillText(text, 0, 0);
      g.restore();
    }
  }
  c.onclick = (ev) => {
    const r = c.getBoundingClientRect();
    const q = Math.floor((ev.clientY - r.top - margin) / cell);
    if (q >= 0 && q < n) select(q);
  };
}

function renderHeads() {
  const L = layerData();
  const t = document.getElementById("heads");
  t.replaceChildren(el("tr", {}, [el("th", { textContent: "head" }), el("th", { textContent: "entropy (bits)" }),
                                 el("th", { textContent: "attends most to (position: token, weight) at " + pos })]));
  L.heads.forEach((head, i) => {
    const top = head.top[pos].map((a) => a.position + ": " + shown(D.tokens[a.position].piece) + " " + a.prob.toFixed(2));
    t.append(el("tr", {}, [el("td", { textContent: String(i) }), el("td", { textContent: head.entropy_bits[pos].toFixed(2) }),
                           el("td", { className: "mono", textContent: top.join("   ") })]));
  });
}

function renderLens() {
  const t = document.getElementById("lens");
  const head = [el("th", { textContent: "layer" }), el("th", { textContent: "norm" })];
  for (const tok of D.tokens) head.push(el("th", { textContent: tok.position + ": " + shown(tok.piece) }));
  t.replaceChildren(el("tr", {}, head));
  for (const L of D.layers) {
    const row = [el("td", { textContent: String(L.layer) }), el("td", { textContent: L.resid_norm[pos].toFixed(1) })];
    L.lens.forEach((top, p) => {
      const best = top[0];
      row.push(el("td", { textContent: shown(best.piece), title: top.map(choiceText).join("\n"),
                          style: "background: rgba(9, 105, 218, " + (0.08 + 0.6 * best.prob).toFixed(3) + ")" +
                                 (p === pos ? "; outline: 2px solid #cf222e" : "") }));
    });
    t.append(el("tr", {}, row));
  }
}

function select(p) {
  pos = p;
  renderTokens();
  renderNext();
  renderHeat();
  renderHeads();
  renderLens();
}

renderMeta();
const layerSelect = document.getElementById("layer"), headSelect = document.getElementById("head");
D.layers.forEach((L, i) => layerSelect.append(el("option", { value: String(i), textContent: String(L.layer) })));
headSelect.append(el("option", { value: "-1", textContent: "mean of heads" }));
for (let h = 0; h < D.model.heads; ++h) headSelect.append(el("option", { value: String(h), textContent: String(h) }));
headSelect.value = "0";
layerSelect.addEventListener("change", () => select(pos));
headSelect.addEventListener("change", () => select(pos));
select(pos);
document.body.dataset.status = "rendered";
</script>
</body>
</html>
)html";

}  // namespace

std::string explain_page(const std::string& json) {
  std::string page = kHead;
  // Inside <script>, "</script>" or "<!--" in a token's text would end the data early:
  // '<' only occurs inside JSON strings, where \u003c is the same character.
  for (char ch : json) {
    if (ch == '<')
      page += "\\u003c";
    else
      page += ch;
  }
  page += kTail;
  return page;
}

}  // namespace chorus::cli
