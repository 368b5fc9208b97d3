// vecnet's live page: polls data.json once a second and draws the node
// graph, the interfaces, the error counters and a packets-per-second chart
// from the difference between two polls. Every figure from the data plane
// is set with textContent, never parsed as markup.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const POLL_MS = 1000;
const HISTORY = 120; // chart points
const COLORS = ["#4aa3ff", "#2ea043", "#d29922", "#bc8cff", "#f85149", "#39c5cf", "#ff9bce", "#e3b341"];

const state = {
  prev: null,        // previous data.json
  topoKey: "",       // node names and arcs the graph was drawn for
  nodeEls: new Map(), // name -> {g, fig1, fig2, arcs: [path]}
  history: [],       // [{t, rates: {iface: pps}}]
  polls: 0,
  failures: 0,
};

function el(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(x, digits) {
  if (!isFinite(x)) return "–";
  const a = Math.abs(x);
  if (a >= 1e9) return (x / 1e9).toFixed(2) + "G";
  if (a >= 1e6) return (x / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return (x / 1e3).toFixed(1) + "k";
  return x.toFixed(digits === undefined ? 0 : digits);
}

// layout places nodes in columns by their distance from the input nodes
// along the arcs (breadth first); nodes no input reaches, error-drop among
// them, go in a last column.
function layout(nodes) {
  const byName = new Map(nodes.map(n => [n.name, n]));
  const depth = new Map();
  const queue = [];
  for (const n of nodes) if (n.kind === "input") { depth.set(n.name, 0); queue.push(n.name); }
  while (queue.length) {
    const name = queue.shift();
    for (const next of byName.get(name).next) {
      if (byName.has(next) && !depth.has(next)) { depth.set(next, depth.get(name) + 1); queue.push(next); }
    }
  }
  let maxDepth = 0;
  for (const d of depth.values()) maxDepth = Math.max(maxDepth, d);
  const cols = [];
  for (const n of nodes) {
    const d = depth.has(n.name) ? depth.get(n.name) : maxDepth + 1;
    (cols[d] = cols[d] || []).push(n.name);
  }
  const W = 156, H = 44, GX = 30, GY = 14, PAD = 10;
  const pos = new Map();
  let rows = 0;
  cols.forEach((col, c) => {
    if (!col) return;
    rows = Math.max(rows, col.length);
    col.forEach((name, r) => pos.set(name, {x: PAD + c * (W + GX), y: PAD + r * (H + GY), w: W, h: H, col: c}));
  });
  return {pos, width: PAD * 2 + cols.length * (W + GX) - GX, height: PAD * 2 + rows * (H + GY) - GY + 24}; // room for the back arcs under the last row
}

function drawGraph(nodes) {
  const svg = document.getElementById("graph");
  svg.replaceChildren();
  state.nodeEls.clear();
  const {pos, width, height} = layout(nodes);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", "100%"); // scaled to the panel; the height follows the aspect ratio
  svg.style.maxWidth = width + "px";
  const defs = el("defs");
  const marker = el("marker", {id: "arrow", viewBox: "0 0 8 8", refX: "8", refY: "4", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse"});
  marker.appendChild(el("path", {d: "M0,0 L8,4 L0,8 z"}));
  defs.appendChild(marker);
  svg.appendChild(defs);
  const arcs = el("g", {class: "arcs"});
  svg.appendChild(arcs);
  for (const n of nodes) {
    const a = pos.get(n.name);
    const g = el("g", {class: "node " + n.kind, "data-node": n.name, transform: `translate(${a.x},${a.y})`});
    g.appendChild(el("rect", {width: a.w, height: a.h, rx: 5}));
    g.appendChild(el("text", {class: "name", x: 8, y: 17}, n.name));
    const fig = el("text", {class: "fig", x: 8, y: 34}, "idle");
    g.appendChild(fig);
    const title = el("title", {}, n.name);
    g.appendChild(title);
    svg.appendChild(g);
    state.nodeEls.set(n.name, {g, fig, title, out: []});
  }
  for (const n of nodes) {
    const a = pos.get(n.name);
    for (const next of n.next) {
      const b = pos.get(next);
      if (!b) continue;
      const back = b.col <= a.col;
      let d;
      if (back) { // below both nodes, from the source's bottom to the target's
        const x1 = a.x + a.w * 0.6, x2 = b.x + b.w * 0.4, y1 = a.y + a.h, y2 = b.y + b.h, low = Math.max(y1, y2) + 22;
        d = `M${x1},${y1} C${x1},${low} ${x2},${low} ${x2},${y2}`;
      } else {
        const x1 = a.x + a.w, y1 = a.y + a.h / 2, x2 = b.x, y2 = b.y + b.h / 2, dx = Math.max(14, (x2 - x1) / 2);
        d = `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
      }
      const p = el("path", {class: back ? "arc back" : "arc", d, "data-from": n.name, "data-to": next});
      arcs.appendChild(p);
      state.nodeEls.get(n.name).out.push({p, to: next, back});
    }
  }
}

function updateGraph(cur, prev) {
  const key = JSON.stringify(cur.nodes.map(n => [n.name, n.next]));
  if (key !== state.topoKey) { drawGraph(cur.nodes); state.topoKey = key; }
  const before = new Map((prev ? prev.nodes : []).map(n => [n.name, n]));
  const busy = new Set();
  for (const n of cur.nodes) {
    const e = state.nodeEls.get(n.name);
    if (!e) continue;
    const p = before.get(n.name);
    const calls = p ? n.calls - p.calls : 0, vectors = p ? n.vectors - p.vectors : 0, clocks = p ? n.clocks - p.clocks : 0;
    const live = calls > 0 && vectors > 0;
    if (live) busy.add(n.name);
    e.g.classList.toggle("busy", live);
    const vpc = live ? vectors / calls : NaN, cpp = live ? clocks / vectors : NaN;
    e.g.dataset.vectors = String(n.vectors);
    e.g.dataset.vpc = live ? vpc.toFixed(2) : "";
    e.g.dataset.cpp = live ? cpp.toFixed(1) : "";
    e.fig.textContent = live ? `${fmt(vpc, 1)} v/call · ${fmt(cpp, 0)} clk/pkt` : "idle";
    const nsPerPkt = live && cur.ticks_per_second > 0 ? cpp / cur.ticks_per_second * 1e9 : NaN;
    e.title.textContent = `${n.name}\ncalls ${n.calls}, vectors ${n.vectors}` +
      (live ? `\n${fmt(vectors / ((cur.time_ms - prev.time_ms) / 1000), 0)} packets/s, ${fmt(nsPerPkt, 1)} ns/packet` : "");
  }
  for (const [name, e] of state.nodeEls) {
    for (const o of e.out) o.p.classList.toggle("busy", busy.has(name) && busy.has(o.to));
  }
}

function rate(cur, prev, dt, name, field) {
  const p = prev && prev.interfaces.find(i => i.name === name);
  const c = cur.interfaces.find(i => i.name === name);
  if (!p || !c || dt <= 0) return NaN;
  const v = (c[field] - p[field]) / dt;
  return v < 0 ? NaN : v; // counters of a worker that stopped answering left the sum
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
}

function updateInterfaces(cur, prev, dt) {
  const body = document.querySelector("#interfaces tbody");
  body.replaceChildren();
  const rates = {};
  for (const i of cur.interfaces) {
    const rx = rate(cur, prev, dt, i.name, "rx_packets"), tx = rate(cur, prev, dt, i.name, "tx_packets");
    rates[i.name] = rx;
    const tr = document.createElement("tr");
    tr.dataset.iface = i.name;
    cell(tr, i.name);
    const drv = document.createElement("small");
    drv.className = "muted";
    drv.textContent = " " + i.driver;
    tr.lastChild.appendChild(drv);
    cell(tr, fmt(rx, 0), "n"); cell(tr, fmt(tx, 0), "n");
    cell(tr, fmt(rate(cur, prev, dt, i.name, "rx_bytes") * 8, 0), "n");
    cell(tr, fmt(rate(cur, prev, dt, i.name, "tx_bytes") * 8, 0), "n");
    cell(tr, String(i.rx_packets), "n rx-total"); cell(tr, String(i.tx_packets), "n");
    cell(tr, String(i.drops), "n");
    body.appendChild(tr);
  }
  return rates;
}

function updateErrors(cur, prev, dt) {
  const body = document.querySelector("#errors tbody");
  body.replaceChildren();
  const before = new Map((prev ? prev.errors : []).map(e => [e.node + "/" + e.reason, e.count]));
  for (const e of cur.errors) {
    const tr = document.createElement("tr");
    tr.dataset.error = e.node + "/" + e.reason;
    tr.title = e.help;
    const p = before.get(e.node + "/" + e.reason);
    cell(tr, String(e.count), "n");
    cell(tr, prev && dt > 0 ? fmt((e.count - (p || 0)) / dt, 1) : "–", "n");
    cell(tr, e.node); cell(tr, e.reason); cell(tr, e.severity, "sev-" + e.severity);
    body.appendChild(tr);
  }
  if (!cur.errors.length) {
    const tr = document.createElement("tr");
    cell(tr, "no error counted", "muted");
    body.appendChild(tr);
  }
}

function updateChart(cur) {
  const svg = document.getElementById("chart");
  const names = cur.interfaces.map(i => i.name);
  const pts = state.history;
  let top = 10;
  for (const h of pts) for (const n of names) if (isFinite(h.rates[n])) top = Math.max(top, h.rates[n]);
  top = niceCeil(top);
  const W = 600, H = 200, L = 44, B = 18, T = 8, R = 6;
  const x = k => L + (W - L - R) * (k + HISTORY - pts.length) / (HISTORY - 1);
  const y = v => T + (H - T - B) * (1 - v / top);
  svg.replaceChildren();
  for (let g = 0; g <= 4; g++) {
    const v = top * g / 4;
    svg.appendChild(el("line", {class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v)}));
    svg.appendChild(el("text", {x: L - 6, y: y(v) + 4, "text-anchor": "end"}, fmt(v, Number.isInteger(v) ? 0 : 1)));
  }
  svg.appendChild(el("text", {x: L, y: H - 4}, `${HISTORY} s`));
  svg.appendChild(el("text", {x: W - R, y: H - 4, "text-anchor": "end"}, "now"));
  const legend = document.getElementById("legend");
  legend.replaceChildren();
  names.forEach((n, k) => {
    const c = COLORS[k % COLORS.length];
    const coords = [];
    pts.forEach((h, j) => { if (isFinite(h.rates[n])) coords.push(`${x(j).toFixed(1)},${y(h.rates[n]).toFixed(1)}`); });
    svg.appendChild(el("polyline", {class: "series", stroke: c, points: coords.join(" "), "data-iface": n}));
    const last = pts.length ? pts[pts.length - 1].rates[n] : NaN;
    const s = document.createElement("span");
    s.style.setProperty("--c", c);
    s.textContent = `${n} ${fmt(last, 0)} pps`;
    legend.appendChild(s);
  });
}

function niceCeil(v) {
  const e = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * e) return m * e;
  return 10 * e;
}

function updateSummary(cur, ppsTotal) {
  const up = cur.workers.filter(w => w.up).length;
  const b = cur.buffers;
  document.getElementById("summary").textContent =
    `${up}/${cur.workers.length} workers up · ${fmt(ppsTotal, 0)} pps received · buffers ${b.in_flight} in flight, ${b.free} free of ${b.slots} · ` +
    `${cur.neighbors} neighbours · ${cur.routes} routes`;
  const total = cur.interfaces.reduce((s, i) => s + i.rx_packets, 0);
  document.body.dataset.rxTotal = String(total);
  document.body.dataset.pps = isFinite(ppsTotal) ? ppsTotal.toFixed(1) : "";
}

function render(cur) {
  const prev = state.prev;
  const dt = prev ? (cur.time_ms - prev.time_ms) / 1000 : 0;
  updateGraph(cur, prev);
  const rates = updateInterfaces(cur, prev, dt);
  updateErrors(cur, prev, dt);
  if (prev && dt > 0) {
    state.history.push({t: cur.time_ms, rates});
    if (state.history.length > HISTORY) state.history.shift();
  }
  updateChart(cur);
  const total = Object.values(rates).reduce((s, v) => s + (isFinite(v) ? v : 0), 0);
  updateSummary(cur, prev && dt > 0 ? total : NaN);
  state.prev = cur;
}

async function poll() {
  const status = document.getElementById("status");
  try {
    const r = await fetch("data.json", {cache: "no-store"});
    if (!r.ok) throw new Error(r.status + " " + r.statusText);
    render(await r.json());
    state.polls++;
    document.body.dataset.polls = String(state.polls);
    status.className = "status ok";
    status.title = "live";
  } catch (err) {
    state.failures++;
    document.body.dataset.failures = String(state.failures);
    status.className = "status bad";
    status.title = "data.json: " + err;
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
