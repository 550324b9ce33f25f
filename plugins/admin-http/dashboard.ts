/**
 * The dashboard at `/`: one self-contained page (no external assets). It
 * reads `/status`, `/stats` and streams `/events` with `fetch` (so it can send
 * the bearer token, which `EventSource` cannot), draws RTT, bandwidth and loss
 * with their thresholds and hysteresis bands, a timeline of modes and
 * switches, and lets an operator force or resume a mode.
 *
 * @module
 */

/** The page. It holds no data: everything comes from the API with the operator's token. */
export function dashboardHtml(): string {
  return PAGE;
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard</title>
<style>
  :root { --dc: #2563eb; --in: #dc2626; --hy: #d97706; --bg: #0f172a; --panel: #111c33; --text: #e2e8f0; --muted: #94a3b8; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--text); }
  header { display: flex; gap: 16px; align-items: center; padding: 14px 20px; border-bottom: 1px solid #1e293b; flex-wrap: wrap; }
  h1 { font-size: 18px; margin: 0; }
  .badge { padding: 4px 12px; border-radius: 999px; font-weight: 700; text-transform: uppercase; letter-spacing: .04em; }
  .datacenter { background: var(--dc); } .internet { background: var(--in); } .hybrid { background: var(--hy); }
  .muted { color: var(--muted); }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 14px; padding: 14px 20px; }
  section { background: var(--panel); border-radius: 10px; padding: 12px 14px; }
  h2 { font-size: 13px; text-transform: uppercase; color: var(--muted); margin: 0 0 8px; letter-spacing: .06em; }
  svg { width: 100%; height: 150px; background: #0b1326; border-radius: 6px; }
  table { width: 100%; border-collapse: collapse; font-size: 13px; }
  td, th { text-align: left; padding: 3px 6px; border-bottom: 1px solid #1e293b; vertical-align: top; }
  button { background: #1e293b; color: var(--text); border: 1px solid #334155; border-radius: 6px; padding: 6px 10px; cursor: pointer; margin: 0 6px 6px 0; }
  button:hover { border-color: var(--muted); }
  #timeline { display: flex; height: 18px; border-radius: 4px; overflow: hidden; margin-bottom: 8px; background: #0b1326; }
  #timeline div { height: 100%; }
  #message { min-height: 1.4em; }
  .error { color: #f87171; }
</style>
</head>
<body>
<header>
  <h1>Switchyard</h1>
  <span id="mode" class="badge" data-mode="">…</span>
  <span id="hold" class="muted"></span>
  <span id="node" class="muted"></span>
  <span id="connection" class="muted">connecting…</span>
</header>
<main>
  <section><h2>Round-trip time (ms, median, log scale)</h2><svg id="chart-rtt" data-points="0"></svg></section>
  <section><h2>Bandwidth (Mbps, median, log scale)</h2><svg id="chart-bandwidth" data-points="0"></svg></section>
  <section><h2>Loss (%, median)</h2><svg id="chart-loss" data-points="0"></svg></section>
  <section>
    <h2>Control</h2>
    <div>
      <button id="force-datacenter">Force datacenter</button>
      <button id="force-internet">Force internet</button>
      <button id="force-hybrid">Force hybrid</button>
      <button id="resume">Resume automatic</button>
      <button id="detect">Detect now</button>
    </div>
    <div id="message" class="muted"></div>
    <h2 style="margin-top:10px">Why</h2><div id="reason" class="muted"></div>
  </section>
  <section style="grid-column: 1 / -1"><h2>Timeline</h2><div id="timeline"></div><table id="history"></table></section>
  <section><h2>Components</h2><table id="components"></table></section>
  <section><h2>Plugins</h2><table id="plugins"></table></section>
  <section><h2>Flags</h2><table id="flags"></table></section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
let token = sessionStorage.getItem("switchyard-token") || "";
let thresholds = null;
const series = { rtt: [], bandwidth: [], loss: [] };
const LIMIT = 300;

function askToken() {
  const answer = prompt("Admin token (bearer)");
  if (answer) { token = answer.trim(); sessionStorage.setItem("switchyard-token", token); }
  return Boolean(answer);
}
async function api(method, path, body) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const response = await fetch(path, {
      method, headers: { ...(token ? { authorization: "Bearer " + token } : {}), ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (response.status === 401 && attempt === 0 && askToken()) continue;
    const data = await response.json().catch(() => ({}));
    if (!response.ok && response.status !== 409) throw new Error(data?.error?.message || response.statusText);
    return data;
  }
  throw new Error("unauthorized");
}

function draw(name, values, options) {
  const svg = $("chart-" + name);
  const w = svg.clientWidth || 400, h = svg.clientHeight || 150, pad = 4;
  const t = options.transform || ((x) => x);
  const marks = options.marks || [];
  const all = values.concat(marks.flatMap((m) => [m.low, m.high]));
  const lo = Math.min(...all.map(t)), hi = Math.max(...all.map(t));
  const span = hi - lo || 1;
  const y = (v) => h - pad - ((t(v) - lo) / span) * (h - 2 * pad);
  let out = "";
  for (const m of marks) {
    out += '<rect x="0" width="' + w + '" y="' + y(m.high) + '" height="' + Math.max(1, y(m.low) - y(m.high)) + '" fill="' + m.color + '" opacity="0.15"/>';
    out += '<line x1="0" x2="' + w + '" y1="' + y(m.at) + '" y2="' + y(m.at) + '" stroke="' + m.color + '" stroke-dasharray="4 3"/>';
  }
  if (values.length > 0) {
    const step = w / (Math.max(values.length, 60) - 1);
    const pts = values.map((v, i) => (i * step).toFixed(1) + "," + y(v).toFixed(1)).join(" ");
    out += '<polyline fill="none" stroke="#e2e8f0" stroke-width="1.5" points="' + pts + '"/>';
    out += '<text x="' + (w - 6) + '" y="14" fill="#94a3b8" font-size="11" text-anchor="end">' + esc(values[values.length - 1].toPrecision(4)) + '</text>';
  }
  svg.innerHTML = out;
  svg.dataset.points = String(values.length);
}
function band(at, hysteresis, color) { return { at, low: at * (1 - hysteresis), high: at * (1 + hysteresis), color }; }
function redraw() {
  if (!thresholds) return;
  const h = thresholds.hysteresis;
  const log = (x) => Math.log10(Math.max(x, 0.001));
  draw("rtt", series.rtt, { transform: log, marks: [band(thresholds.datacenterLatencyThresholdMs, h, "#2563eb"), band(thresholds.internetLatencyThresholdMs, h, "#dc2626")] });
  draw("bandwidth", series.bandwidth, { transform: log, marks: [band(thresholds.datacenterBandwidthThresholdMbps, h, "#2563eb"), band(thresholds.internetBandwidthThresholdMbps, h, "#dc2626")] });
  draw("loss", series.loss, { marks: [band(thresholds.datacenterLossThreshold * 100, h, "#2563eb"), band(thresholds.internetLossThreshold * 100, h, "#dc2626")] });
}
function push(list, value) { if (value !== undefined) { list.push(value); if (list.length > LIMIT) list.shift(); } }

function table(id, head, rows) {
  $(id).innerHTML = "<tr>" + head.map((c) => "<th>" + esc(c) + "</th>").join("") + "</tr>" +
    rows.map((r) => "<tr>" + r.map((c) => "<td>" + esc(c) + "</td>").join("") + "</tr>").join("");
}
function showStatus(status) {
  const badge = $("mode");
  badge.textContent = status.mode; badge.className = "badge " + status.mode; badge.dataset.mode = status.mode;
  $("hold").textContent = status.forced ? "forced: " + status.forced.reason : "automatic";
  $("node").textContent = "node " + status.nodeId;
  $("reason").textContent = status.reason || "no switch yet";
  thresholds = status.thresholds;
}
function showStats(stats) {
  const history = stats.history.slice(-20).reverse();
  table("history", ["time", "from", "to", "outcome", "why"], history.map((r) => [new Date(r.atMs).toLocaleTimeString(), r.from, r.to, r.outcome + (r.error ? ": " + r.error : ""), r.reason]));
  // Chronological: one segment per stretch between successful switches, the last one up to now.
  const changes = stats.history.filter((r) => r.outcome === "success" && r.from !== r.to);
  const segments = changes.map((r, i) => ({ mode: r.to, from: r.atMs, to: changes[i + 1]?.atMs ?? Date.now() }));
  const start = segments[0]?.from ?? Date.now();
  const total = Math.max(1, Date.now() - start);
  $("timeline").innerHTML = segments.map((g) => '<div class="' + g.mode + '" title="' + g.mode + " for " + ((g.to - g.from) / 1000).toFixed(1) + ' s" style="width:' + Math.max(0.5, 100 * (g.to - g.from) / total) + '%"></div>').join("") ||
    '<div class="' + stats.currentMode + '" style="width:100%" title="' + stats.currentMode + '"></div>';
  table("components", ["name", "serving", "variant", "state"], Object.entries(stats.components).map(([n, c]) => [n, c.serving, c.variant, c.state + (c.lastError ? ": " + c.lastError : "")]));
  table("plugins", ["id", "state", "version", "reason"], stats.plugins.map((p) => [p.id, p.state, p.version || "", p.reason || ""]));
  table("flags", ["flag", "value"], Object.entries(stats.flags).map(([k, v]) => [k, String(v)]));
}
async function refresh() {
  showStatus(await api("GET", "/status"));
  showStats(await api("GET", "/stats"));
  redraw();
}
async function control(method, path, body, label) {
  $("message").className = "muted";
  try {
    const result = await api(method, path, body);
    $("message").textContent = label + ": " + (result.status || "done") + (result.reason ? " (" + result.reason + ")" : "");
    await refresh();
  } catch (error) { $("message").className = "error"; $("message").textContent = label + ": " + error.message; }
}
for (const mode of ["datacenter", "internet", "hybrid"]) {
  $("force-" + mode).onclick = () => control("POST", "/mode", { mode, reason: "forced from the dashboard" }, "force " + mode);
}
$("resume").onclick = () => control("DELETE", "/mode", undefined, "resume");
$("detect").onclick = () => control("POST", "/detect", undefined, "detect");

async function stream() {
  for (;;) {
    try {
      const response = await fetch("/events", { headers: token ? { authorization: "Bearer " + token } : {} });
      if (response.status === 401) { if (!askToken()) return; continue; }
      $("connection").textContent = "live";
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\\n\\n")) >= 0) {
          const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = block.split("\\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\\n");
          if (event && data) handle(event, JSON.parse(data));
        }
      }
    } catch { /* reconnect below */ }
    $("connection").textContent = "reconnecting…";
    await new Promise((r) => setTimeout(r, 1000));
  }
}
function handle(event, data) {
  if (event === "sample") {
    push(series.rtt, data.summary.rttMs);
    push(series.bandwidth, data.summary.bandwidthMbps);
    push(series.loss, data.summary.lossRatio === undefined ? undefined : data.summary.lossRatio * 100);
    redraw();
  } else if (event === "switch" || event === "switch-failed" || event === "switch-refused" || event === "flapping") {
    refresh().catch(() => {});
  }
}
window.addEventListener("resize", redraw);
refresh().then(stream).catch((error) => { $("connection").className = "error"; $("connection").textContent = error.message; });
</script>
</body>
</html>
`;
