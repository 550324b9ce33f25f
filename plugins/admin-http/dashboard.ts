/**
 * The dashboard at `/`: one self-contained page (no external assets). It
 * reads `/status`, `/stats`, `/samples` (so its charts are full on load) and
 * `/cluster`, and streams `/events` with `fetch` (so it can send the bearer
 * token, which `EventSource` cannot). It draws RTT, bandwidth and loss on a
 * time axis with their thresholds and hysteresis bands, a legend and a
 * marker at every switch; a timeline of modes; the hold and cooldown
 * countdowns; the flapping alarm; a Cluster panel (every member of the mode
 * agreement as this node knows it, this node's per-peer probe results, the
 * agreement's recent changes) and, on the timeline, the cluster's agreed
 * mode, its decisions and the members' proposals; and lets an operator force
 * or resume a mode. Every text from the node or its peers (reasons, member
 * names) is escaped before it reaches the page. A 401 shows a token field;
 * the token entered there is used at once, the stream reconnects, no reload
 * needed.
 *
 * It is served with a Content-Security-Policy that allows only its own
 * inline script and style (by their SHA-256 hashes) and requests to its own
 * origin, and may not be framed (`frame-ancestors 'none'`, `X-Frame-Options: DENY`).
 *
 * @module
 */
import { createHash } from "node:crypto";

/** The page. It holds no data: everything comes from the API with the operator's token. */
export function dashboardHtml(): string {
  return PAGE;
}

const STYLE = `
  :root { --dc: #2563eb; --in: #dc2626; --hy: #d97706; --bg: #0f172a; --panel: #111c33; --text: #e2e8f0; --muted: #94a3b8; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--text); }
  header { display: flex; gap: 16px; align-items: center; padding: 14px 20px; border-bottom: 1px solid #1e293b; flex-wrap: wrap; }
  h1 { font-size: 18px; margin: 0; }
  .badge { padding: 4px 12px; border-radius: 999px; font-weight: 700; text-transform: uppercase; letter-spacing: .04em; }
  .datacenter { background: var(--dc); } .internet { background: var(--in); } .hybrid { background: var(--hy); }
  .muted { color: var(--muted); }
  .countdown { font-variant-numeric: tabular-nums; }
  #alarm { margin: 12px 20px 0; padding: 10px 14px; border-radius: 8px; background: #7f1d1d; border: 1px solid #f87171; font-weight: 600; }
  #auth { margin: 12px 20px 0; padding: 10px 14px; border-radius: 8px; background: #1e293b; border: 1px solid #334155; }
  #auth input { background: #0b1326; color: var(--text); border: 1px solid #334155; border-radius: 6px; padding: 6px 8px; width: 320px; }
  [hidden] { display: none !important; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 14px; padding: 14px 20px; }
  section { background: var(--panel); border-radius: 10px; padding: 12px 14px; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 13px; text-transform: uppercase; color: var(--muted); margin: 0 0 8px; letter-spacing: .06em; }
  h2.next { margin-top: 10px; }
  svg.chart { width: 100%; height: 170px; background: #0b1326; border-radius: 6px; display: block; }
  svg.timeline { width: 100%; height: 46px; background: #0b1326; border-radius: 6px; display: block; margin-bottom: 8px; }
  svg.timeline.with-cluster { height: 100px; }
  svg text { fill: #94a3b8; font-size: 10px; font-family: system-ui, sans-serif; }
  .legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin-top: 6px; font-size: 12px; color: var(--muted); }
  .legend span::before { content: ""; display: inline-block; width: 14px; height: 8px; margin-right: 5px; vertical-align: middle; border-radius: 2px; }
  .legend .line::before { height: 2px; background: #e2e8f0; }
  .legend .band-dc::before { background: rgba(37, 99, 235, .45); border-top: 1px dashed #2563eb; }
  .legend .band-in::before { background: rgba(220, 38, 38, .45); border-top: 1px dashed #dc2626; }
  .legend .marker::before { width: 2px; height: 12px; background: linear-gradient(var(--dc), var(--in), var(--hy)); }
  .legend .decision::before { width: 2px; height: 12px; background: #f8fafc; }
  .legend .engine::before { width: 2px; height: 12px; background: #a78bfa; }
  .legend .report::before { width: 8px; height: 8px; border-radius: 50%; background: #94a3b8; }
  .legend .force::before { width: 8px; height: 8px; border-radius: 1px; background: #f59e0b; transform: rotate(45deg); }
  .legend .step::before { width: 8px; height: 8px; border-radius: 0; background: #22c55e; clip-path: polygon(50% 0, 100% 100%, 0 100%); }
  #legend-timeline { margin: -2px 0 8px; }
  table { width: 100%; border-collapse: collapse; font-size: 13px; }
  td, th { text-align: left; padding: 3px 6px; border-bottom: 1px solid #1e293b; vertical-align: top; }
  button { background: #1e293b; color: var(--text); border: 1px solid #334155; border-radius: 6px; padding: 6px 10px; cursor: pointer; margin: 0 6px 6px 0; }
  button:hover { border-color: var(--muted); }
  #message { min-height: 1.4em; }
  .error { color: #f87171; }
`;

// Client code: plain strings only (no template literals), so it can live in String.raw.
const SCRIPT = String.raw`
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const COLORS = { datacenter: "#2563eb", internet: "#dc2626", hybrid: "#d97706" };
const WINDOW_MS = 5 * 60 * 1000, MIN_SPAN_MS = 10 * 1000, LIMIT = 2000;
let token = sessionStorage.getItem("switchyard-token") || "";
let status = null, stats = null, cluster = null, offsetMs = 0, cooldownUntil = 0, generation = 0, streamAbort = null;
let points = [];

class NeedToken extends Error {}

function serverNow() { return Date.now() + offsetMs; }
function askToken(why) {
  $("auth").hidden = false;
  $("auth-why").textContent = why;
  $("connection").className = "error";
  $("connection").textContent = "token needed";
  $("token").focus();
}
async function api(method, path, body) {
  const response = await fetch(path, {
    method, headers: { ...(token ? { authorization: "Bearer " + token } : {}), ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (response.status === 401) {
    askToken(token ? "The token was refused; enter the admin token." : "This node needs the admin token.");
    throw new NeedToken("unauthorized");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok && response.status !== 409) throw new Error(data?.error?.message || response.statusText);
  return data;
}

// ---- scales and axes ----
function timeTicks(t0, t1) {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600].map((s) => s * 1000);
  const step = steps.find((s) => (t1 - t0) / s <= 6) || 3600000;
  const ticks = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) ticks.push(t);
  return ticks;
}
function clock(t) { return new Date(t).toLocaleTimeString([], { hour12: false }); }
function logTicks(lo, hi) {
  const ticks = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) for (const m of [1, 2, 5]) {
    const l = e + Math.log10(m);
    if (l >= lo - 1e-9 && l <= hi + 1e-9) ticks.push(l);
  }
  return ticks.length > 6 ? ticks.filter((l) => Math.abs(l - Math.round(l)) < 1e-9) : ticks;
}
function linearTicks(lo, hi) {
  const raw = (hi - lo) / 4 || 1;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) ticks.push(Number(v.toPrecision(6)));
  return ticks;
}
function domain() {
  const now = serverNow();
  const oldest = points.length ? points[0].t : now;
  const t0 = Math.min(Math.max(now - WINDOW_MS, oldest), now - MIN_SPAN_MS);
  return [t0, now];
}
function switches() {
  return (stats?.history || []).filter((r) => r.outcome === "success" && r.from !== r.to);
}

// ---- charts ----
const CHARTS = {
  rtt: { key: "rtt", log: true, unit: (v) => fmt(v) + " ms", marks: (t) => [["datacenterLatencyThresholdMs", "dc"], ["internetLatencyThresholdMs", "in"]].map(([k, c]) => [t[k], c]) },
  bandwidth: { key: "bandwidth", log: true, unit: (v) => v >= 1000 ? fmt(v / 1000) + " Gbps" : fmt(v) + " Mbps", marks: (t) => [["datacenterBandwidthThresholdMbps", "dc"], ["internetBandwidthThresholdMbps", "in"]].map(([k, c]) => [t[k], c]) },
  loss: { key: "loss", log: false, unit: (v) => fmt(v) + " %", marks: (t) => [["datacenterLossThreshold", "dc"], ["internetLossThreshold", "in"]].map(([k, c]) => [t[k] * 100, c]) },
};
function fmt(v) { return Number(v.toPrecision(3)).toLocaleString("en-US", { maximumFractionDigits: 3 }); }

function draw(name) {
  const chart = CHARTS[name], svg = $("chart-" + name);
  if (!status) return;
  const W = svg.clientWidth || 400, H = svg.clientHeight || 170, L = 62, R = 10, T = 8, B = 20;
  const [t0, t1] = domain();
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const h = status.thresholds.hysteresis;
  const bands = chart.marks(status.thresholds).map(([at, c]) => ({ at, low: at * (1 - h), high: at * (1 + h), color: c === "dc" ? COLORS.datacenter : COLORS.internet }));
  const shown = points.filter((p) => p[chart.key] !== undefined && p.t >= t0);
  const f = chart.log ? (v) => Math.log10(Math.max(v, 1e-4)) : (v) => v;
  const values = shown.map((p) => f(p[chart.key])).concat(bands.flatMap((b) => [f(b.low), f(b.high)]));
  let lo = Math.min(...values), hi = Math.max(...values);
  if (!chart.log) lo = Math.min(lo, 0);
  const pad = (hi - lo) * 0.08 || 1;
  lo -= chart.log ? pad : 0; hi += pad;
  const y = (v) => H - B - ((f(v) - lo) / (hi - lo)) * (H - B - T);
  const yl = (l) => H - B - ((l - lo) / (hi - lo)) * (H - B - T);
  let out = "";
  for (const b of bands) {
    out += '<rect class="band" x="' + L + '" width="' + (W - L - R) + '" y="' + y(b.high).toFixed(1) + '" height="' + Math.max(1, y(b.low) - y(b.high)).toFixed(1) + '" fill="' + b.color + '" opacity="0.15"/>';
    out += '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + y(b.at).toFixed(1) + '" y2="' + y(b.at).toFixed(1) + '" stroke="' + b.color + '" stroke-dasharray="4 3"/>';
  }
  const yticks = chart.log ? logTicks(lo, hi).map((l) => [yl(l), Math.pow(10, l)]) : linearTicks(lo, hi).map((v) => [y(v), v]);
  for (const [py, v] of yticks) {
    out += '<line class="grid" x1="' + L + '" x2="' + (W - R) + '" y1="' + py.toFixed(1) + '" y2="' + py.toFixed(1) + '" stroke="#1e293b"/>';
    out += '<text class="ytick" x="' + (L - 5) + '" y="' + (py + 3).toFixed(1) + '" text-anchor="end">' + esc(chart.unit(v)) + "</text>";
  }
  for (const t of timeTicks(t0, t1)) {
    out += '<line x1="' + x(t).toFixed(1) + '" x2="' + x(t).toFixed(1) + '" y1="' + (H - B) + '" y2="' + (H - B + 4) + '" stroke="#475569"/>';
    out += '<text class="xtick" x="' + x(t).toFixed(1) + '" y="' + (H - 5) + '" text-anchor="middle">' + esc(clock(t)) + "</text>";
  }
  out += '<line x1="' + L + '" x2="' + L + '" y1="' + T + '" y2="' + (H - B) + '" stroke="#475569"/><line x1="' + L + '" x2="' + (W - R) + '" y1="' + (H - B) + '" y2="' + (H - B) + '" stroke="#475569"/>';
  let markers = 0;
  for (const r of switches()) {
    if (r.atMs < t0 || r.atMs > t1) continue;
    markers++;
    out += '<line class="switch-marker" x1="' + x(r.atMs).toFixed(1) + '" x2="' + x(r.atMs).toFixed(1) + '" y1="' + T + '" y2="' + (H - B) + '" stroke="' + COLORS[r.to] + '" stroke-width="2" stroke-dasharray="2 2"><title>' + esc(clock(r.atMs) + ": " + r.from + " \u2192 " + r.to + " (" + r.reason + ")") + "</title></line>";
  }
  if (shown.length > 0) {
    const pts = shown.map((p) => x(p.t).toFixed(1) + "," + y(p[chart.key]).toFixed(1)).join(" ");
    out += '<polyline fill="none" stroke="#e2e8f0" stroke-width="1.5" points="' + pts + '"/>';
    out += '<text x="' + (W - R - 4) + '" y="' + (T + 10) + '" text-anchor="end" class="last">' + esc(chart.unit(shown[shown.length - 1][chart.key])) + "</text>";
  }
  svg.innerHTML = out;
  svg.dataset.points = String(shown.length);
  svg.dataset.markers = String(markers);
}

function drawTimeline() {
  const svg = $("timeline");
  if (!stats) return;
  const lanes = hasCluster();
  svg.classList.toggle("with-cluster", lanes);
  $("legend-timeline").hidden = !lanes;
  const W = svg.clientWidth || 800, H = svg.clientHeight || (lanes ? 100 : 46), L = 62, R = 10, B = 16;
  const modeBottom = lanes ? 28 : H - B - 2;
  const [t0, t1] = domain();
  const x = (t) => L + ((Math.max(t, t0) - t0) / (t1 - t0)) * (W - L - R);
  const changes = switches();
  const after = changes.filter((r) => r.atMs >= t0);
  let mode = after.length ? after[0].from : stats.currentMode, from = t0, out = "";
  for (const r of after.concat([{ atMs: t1, to: stats.currentMode }])) {
    out += '<rect class="segment ' + esc(mode) + '" x="' + x(from).toFixed(1) + '" y="2" width="' + Math.max(0.5, x(r.atMs) - x(from)).toFixed(1) + '" height="' + (modeBottom - 2) + '" fill="' + COLORS[mode] + '"><title>' + esc(mode + " from " + clock(from)) + "</title></rect>";
    mode = r.to; from = r.atMs;
  }
  let markers = 0;
  for (const r of after) {
    markers++;
    out += '<line class="switch-marker" x1="' + x(r.atMs).toFixed(1) + '" x2="' + x(r.atMs).toFixed(1) + '" y1="0" y2="' + (modeBottom + 2) + '" stroke="#f8fafc" stroke-width="2"><title>' + esc(clock(r.atMs) + ": " + r.from + " \u2192 " + r.to + " (" + r.reason + ")") + "</title></line>";
  }
  const counts = lanes ? drawClusterLanes(x, t0, t1) : { out: "", decisions: 0, engines: 0, proposals: 0 };
  out += counts.out;
  for (const t of timeTicks(t0, t1)) out += '<text class="xtick" x="' + x(t).toFixed(1) + '" y="' + (H - 4) + '" text-anchor="middle">' + esc(clock(t)) + "</text>";
  out += '<text x="' + (L - 5) + '" y="' + (modeBottom / 2 + 4) + '" text-anchor="end">mode</text>';
  if (lanes) out += '<text x="' + (L - 5) + '" y="46" text-anchor="end">cluster</text><text x="' + (L - 5) + '" y="73" text-anchor="end">proposals</text>';
  svg.innerHTML = out;
  svg.dataset.markers = String(markers);
  svg.dataset.decisions = String(counts.decisions);
  svg.dataset.engines = String(counts.engines);
  svg.dataset.proposals = String(counts.proposals);
}

// ---- the cluster: the agreement as this node knows it, and its recent changes ----
function hasCluster() { return Boolean(cluster && (cluster.agreement || cluster.events.length > 0)); }
/** The cluster lane (the agreed mode, decisions, engine changes) and the proposals lane (reports, forces, steps). */
function drawClusterLanes(x, t0, t1) {
  const events = cluster.events;
  const decisions = events.filter((e) => e.kind === "decision");
  let out = "", decided = 0, engines = 0, proposals = 0;
  const stretches = decisions.map((d) => ({ atMs: d.atMs, mode: d.mode, reason: d.reason }));
  if (cluster.agreement && !stretches.length) stretches.push({ atMs: t0, mode: cluster.agreement.agreed.mode, reason: cluster.agreement.agreed.reason });
  stretches.forEach((d, i) => {
    const end = i + 1 < stretches.length ? stretches[i + 1].atMs : t1;
    if (end < t0) return;
    out += '<rect class="cluster-segment ' + esc(d.mode) + '" x="' + x(d.atMs).toFixed(1) + '" y="32" width="' + Math.max(0.5, x(end) - x(d.atMs)).toFixed(1) + '" height="22" fill="' + (COLORS[d.mode] || "#475569") + '" opacity="0.8"><title>' + esc("cluster agreed " + d.mode + " from " + clock(Math.max(d.atMs, t0)) + ": " + d.reason) + "</title></rect>";
  });
  for (const e of events) {
    if (e.atMs < t0 || e.atMs > t1) continue;
    const px = x(e.atMs).toFixed(1);
    if (e.kind === "decision") {
      if (e.from === null) continue;
      decided++;
      out += '<line class="agreement-decision" x1="' + px + '" x2="' + px + '" y1="30" y2="56" stroke="#f8fafc" stroke-width="2"><title>' + esc(clock(e.atMs) + ": the cluster agreed " + e.from + " \u2192 " + e.mode + (e.forced ? " (held)" : "") + ": " + e.reason) + "</title></line>";
    } else if (e.kind === "engine") {
      if (e.from === null) continue;
      engines++;
      out += '<line class="agreement-engine" x1="' + px + '" x2="' + px + '" y1="30" y2="56" stroke="#a78bfa" stroke-width="2" stroke-dasharray="3 2"><title>' + esc(clock(e.atMs) + ": engine " + e.from + " \u2192 " + e.engine + ", epoch " + e.epoch) + "</title></line>";
    } else if (e.kind === "report") {
      proposals++;
      out += '<circle class="agreement-proposal" data-kind="report" cx="' + px + '" cy="63" r="3" fill="#94a3b8"><title>' + esc(clock(e.atMs) + ": " + e.member + " reported " + measures(e.summary)) + "</title></circle>";
    } else if (e.kind === "force") {
      proposals++;
      const p = Number(px);
      out += '<polygon class="agreement-proposal" data-kind="force" points="' + [[p, 66], [p + 4, 70], [p, 74], [p - 4, 70]].map((q) => q.join(",")).join(" ") + '" fill="' + (e.mode ? "#f59e0b" : "none") + '" stroke="#f59e0b"><title>' + esc(clock(e.atMs) + ": " + e.member + (e.mode ? " asks to hold " + e.mode : " releases its hold")) + "</title></polygon>";
    } else if (e.kind === "step") {
      proposals++;
      const p = Number(px);
      out += '<polygon class="agreement-proposal" data-kind="step" points="' + [[p, 75], [p + 4, 82], [p - 4, 82]].map((q) => q.join(",")).join(" ") + '" fill="' + (e.status === "agreed" ? "#22c55e" : "#eab308") + '"><title>' + esc(clock(e.atMs) + ": switch #" + e.switchId + " to " + e.wanted + ": " + e.status + " (cluster " + e.clusterMode + ")") + "</title></polygon>";
    }
  }
  return { out, decisions: decided, engines, proposals };
}
function ms(v) { return v === undefined ? "" : fmt(v) + " ms"; }
function mbps(v) { return v === undefined ? "" : CHARTS.bandwidth.unit(v); }
function percent(v) { return v === undefined ? "" : fmt(v * 100) + " %"; }
function measures(m) {
  return [m.rttMs === undefined ? "" : "RTT " + ms(m.rttMs), m.bandwidthMbps === undefined ? "" : "bandwidth " + mbps(m.bandwidthMbps), m.lossRatio === undefined ? "" : "loss " + percent(m.lossRatio)].filter(Boolean).join(", ") || "nothing measured";
}
function describe(e) {
  if (e.kind === "decision") return ["decision", "", (e.from === null ? "agreed " + e.mode + " (first seen)" : "agreed " + e.from + " \u2192 " + e.mode) + (e.forced ? ", held" : "") + ": " + e.reason];
  if (e.kind === "engine") return ["engine", "", "engine " + e.engine + ", epoch " + e.epoch + (e.from === null ? " (first seen)" : " (was " + e.from + ")")];
  if (e.kind === "report") return ["report", e.member, measures(e.summary) + ", measured " + clock(e.reportedAtMs)];
  if (e.kind === "force") return ["force", e.member, e.mode ? "asks to hold " + e.mode : "releases its hold"];
  return ["step", status ? status.nodeId : "", "switch #" + e.switchId + " to " + e.wanted + ": " + e.status + " (cluster " + e.clusterMode + ")"];
}
function drawMembers() {
  const a = cluster && cluster.agreement;
  if (!a) return;
  const members = [...new Set(Object.keys(a.reports).concat(Object.keys(a.holds)))].sort();
  const now = serverNow();
  table("members", ["member", "mode", "engine", "epoch", "RTT", "bandwidth", "loss", "report age", "hold"], members.map((m) => {
    const r = a.reports[m], hold = a.holds[m];
    return [m + (m === cluster.nodeId ? " (this node)" : ""), a.agreed.mode + (a.agreed.forced ? " (held)" : ""), a.engine, String(a.epoch),
      r ? ms(r.summary.rttMs) : "", r ? mbps(r.summary.bandwidthMbps) : "", r ? percent(r.summary.lossRatio) : "", r ? seconds(now - r.atMs) : "no report", hold ? hold : ""];
  }));
  $("members").dataset.rows = String(members.length);
}
function showCluster(c) {
  cluster = c;
  const a = c.agreement;
  $("cluster-none").hidden = Boolean(a);
  $("cluster-agreement").hidden = !a;
  $("cluster-none").textContent = a ? "" : "No cluster agreement on this node: it decides its mode alone (a single node, or a consensus engine other than consensus-adaptive), so there are no members to show.";
  if (a) {
    $("agreed").textContent = "Agreed " + a.agreed.mode + (a.agreed.forced ? " (held by members)" : "") + ": " + a.agreed.reason + " \u00b7 engine " + a.engine + " \u00b7 epoch " + a.epoch + " \u00b7 log index " + a.agreed.index;
    drawMembers();
  }
  const peers = new Map();
  for (const probe of c.probes) {
    for (const [peer, m] of Object.entries(probe.peers)) {
      const row = peers.get(peer) || { rtt: [], bandwidth: [], loss: [], errors: [], probes: [] };
      if (m.rttMs !== undefined) row.rtt.push(ms(m.rttMs));
      if (m.bandwidthMbps !== undefined) row.bandwidth.push(mbps(m.bandwidthMbps));
      if (m.lossRatio !== undefined) row.loss.push(percent(m.lossRatio));
      if (m.error !== undefined) row.errors.push(probe.name + ": " + m.error);
      row.probes.push(probe.name);
      peers.set(peer, row);
    }
  }
  $("peers-none").hidden = peers.size > 0;
  $("peers").hidden = peers.size === 0;
  $("peers-none").textContent = peers.size > 0 ? "" : "No per-peer results: no probe of this node measures each peer.";
  // With per-peer link modes, each link's own mode and why (the node's mode serves every link otherwise).
  const links = c.links || null;
  const linkCells = (peer) => {
    const l = links && links[peer];
    return l ? [l.mode + (l.wanted ? " (cooldown; wants " + l.wanted + ")" : ""), l.reason] : ["", ""];
  };
  table("peers", ["peer", "RTT", "bandwidth", "loss", "error", "probes"].concat(links ? ["link mode", "why"] : []), [...peers].sort((p, q) => p[0] < q[0] ? -1 : 1).map(([peer, r]) => [peer, r.rtt.join(" / "), r.bandwidth.join(" / "), r.loss.join(" / "), r.errors.join("; "), r.probes.join(", ")].concat(links ? linkCells(peer) : [])));
  $("peers").dataset.rows = String(peers.size);
  $("cluster-recent").hidden = c.events.length === 0;
  table("cluster-events", ["time", "kind", "member", "what"], c.events.slice(-20).reverse().map((e) => [clock(e.atMs)].concat(describe(e))));
  drawTimeline();
}
let clusterBusy = false, clusterAgain = false;
/** Fetches /cluster again; one request at a time, and one more if asked meanwhile. */
async function refreshCluster() {
  if (clusterBusy) { clusterAgain = true; return; }
  clusterBusy = true;
  try {
    do { clusterAgain = false; showCluster(await api("GET", "/cluster")); } while (clusterAgain);
  } catch (error) {
    // The next event or refresh tries again; a 401 has shown the token field.
  } finally { clusterBusy = false; }
}
function redraw() { for (const name of Object.keys(CHARTS)) draw(name); drawTimeline(); }

function push(atMs, summary) {
  if (points.length && atMs < points[points.length - 1].t) return;
  points.push({ t: atMs, rtt: summary.rttMs, bandwidth: summary.bandwidthMbps, loss: summary.lossRatio === undefined ? undefined : summary.lossRatio * 100 });
  if (points.length > LIMIT) points.shift();
}

// ---- panels ----
function table(id, head, rows) {
  $(id).innerHTML = "<tr>" + head.map((c) => "<th>" + esc(c) + "</th>").join("") + "</tr>" +
    rows.map((r) => "<tr>" + r.map((c) => "<td>" + esc(c) + "</td>").join("") + "</tr>").join("");
}
function seconds(ms) { return Math.max(0, Math.ceil(ms / 1000)) + " s"; }
function tick() {
  if (!status) return;
  const hold = $("hold");
  if (status.forced) {
    const left = status.forced.untilMs === undefined ? null : status.forced.untilMs - serverNow();
    hold.textContent = "forced " + status.forced.mode + " (" + status.forced.reason + ")" + (left === null ? ", until resumed" : ", " + seconds(left) + " left");
    hold.dataset.remainingMs = left === null ? "" : String(Math.max(0, Math.round(left)));
  } else {
    hold.textContent = "automatic";
    hold.dataset.remainingMs = "";
  }
  const cooling = cooldownUntil - Date.now();
  $("cooldown").hidden = cooling <= 0;
  $("cooldown").textContent = "cooldown " + seconds(cooling);
}
function showAlarm(flapping, detail) {
  $("alarm").hidden = !flapping;
  if (flapping) $("alarm").textContent = "Flapping: " + (detail || "the mode changed more often than the configured limit within the flapping window") + ". Check the links, or widen the hysteresis or cooldown.";
}
function showStatus(s) {
  status = s;
  offsetMs = s.nowMs - Date.now();
  cooldownUntil = Date.now() + s.cooldownRemainingMs;
  const badge = $("mode");
  badge.textContent = s.mode; badge.className = "badge " + s.mode; badge.dataset.mode = s.mode;
  $("node").textContent = "node " + s.nodeId;
  $("reason").textContent = s.reason || "no switch yet";
  showAlarm(s.flapping);
  tick();
}
function showStats(s) {
  stats = s;
  const history = s.history.slice(-20).reverse();
  table("history", ["time", "from", "to", "outcome", "why"], history.map((r) => [clock(r.atMs), r.from, r.to, r.outcome + (r.error ? ": " + r.error : ""), r.reason]));
  table("components", ["name", "serving", "variant", "state"], Object.entries(s.components).map(([n, c]) => [n, c.serving, c.variant, c.state + (c.lastError ? ": " + c.lastError : "")]));
  table("plugins", ["id", "state", "version", "reason"], s.plugins.map((p) => [p.id, p.state, p.version || "", p.reason || ""]));
  table("flags", ["flag", "value"], Object.entries(s.flags).map(([k, v]) => [k, String(v)]));
}
async function refresh() {
  const [s, st, recent, c] = await Promise.all([api("GET", "/status"), api("GET", "/stats"), api("GET", "/samples"), api("GET", "/cluster")]);
  showStatus(s);
  showStats(st);
  showCluster(c);
  points = [];
  for (const r of recent.samples) push(r.atMs, r.summary);
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
  $("force-" + mode).addEventListener("click", () => control("POST", "/mode", { mode, reason: "forced from the dashboard" }, "force " + mode));
}
$("resume").addEventListener("click", () => control("DELETE", "/mode", undefined, "resume"));
$("detect").addEventListener("click", () => control("POST", "/detect", undefined, "detect"));

// ---- the event stream: one at a time; a new token restarts it ----
async function stream(mine, signal) {
  while (mine === generation) {
    try {
      const response = await fetch("/events", { headers: token ? { authorization: "Bearer " + token } : {}, signal });
      if (response.status === 401) { askToken("The token was refused; enter the admin token."); return; }
      $("connection").className = "muted";
      $("connection").textContent = "live";
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
          if (event && data) handle(event, JSON.parse(data));
        }
      }
    } catch (error) {
      if (signal.aborted) return;
    }
    if (mine !== generation) return;
    $("connection").className = "muted";
    $("connection").textContent = "reconnecting…";
    await new Promise((r) => setTimeout(r, 1000));
  }
}
function handle(event, data) {
  if (event === "hello") {
    refresh().catch(() => {});
  } else if (event === "sample") {
    push(data.atMs, data.summary);
    redraw();
    refreshCluster();
  } else if (event === "agreement") {
    refreshCluster();
  } else if (event === "flapping") {
    showAlarm(data.flapping, data.switchesInWindow + " mode changes within " + Math.round(data.windowMs / 1000) + " s");
    refresh().catch(() => {});
  } else if (event === "cooldown") {
    cooldownUntil = Date.now() + data.remainingMs;
    tick();
  } else if (event === "switch" || event === "switch-failed" || event === "switch-refused") {
    refresh().catch(() => {});
  }
}
async function start() {
  const mine = ++generation;
  streamAbort?.abort();
  streamAbort = new AbortController();
  $("connection").className = "muted";
  $("connection").textContent = "connecting…";
  try {
    await refresh();
  } catch (error) {
    if (!(error instanceof NeedToken)) { $("connection").className = "error"; $("connection").textContent = error.message; }
    return;
  }
  $("auth").hidden = true;
  stream(mine, streamAbort.signal);
}
$("auth").addEventListener("submit", (e) => {
  e.preventDefault();
  token = $("token").value.trim();
  $("token").value = "";
  if (token) sessionStorage.setItem("switchyard-token", token); else sessionStorage.removeItem("switchyard-token");
  start();
});
window.addEventListener("resize", redraw);
setInterval(() => { tick(); redraw(); drawMembers(); }, 1000);
start();
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>Switchyard</h1>
  <span id="mode" class="badge" data-mode="">…</span>
  <span id="hold" class="muted countdown"></span>
  <span id="cooldown" class="muted countdown" hidden></span>
  <span id="node" class="muted"></span>
  <span id="connection" class="muted">connecting…</span>
</header>
<div id="alarm" role="alert" hidden></div>
<form id="auth" hidden>
  <span id="auth-why"></span>
  <input id="token" type="password" autocomplete="off" placeholder="admin token" aria-label="admin token">
  <button type="submit" id="token-submit">Connect</button>
</form>
<main>
  <section><h2>Round-trip time (median, log scale)</h2><svg id="chart-rtt" class="chart" data-points="0" data-markers="0"></svg>
    <div class="legend"><span class="line">median RTT</span><span class="band-dc">datacenter threshold ± hysteresis</span><span class="band-in">internet threshold ± hysteresis</span><span class="marker">switch (colour of the new mode)</span></div></section>
  <section><h2>Bandwidth (median, log scale)</h2><svg id="chart-bandwidth" class="chart" data-points="0" data-markers="0"></svg>
    <div class="legend"><span class="line">median bandwidth</span><span class="band-dc">datacenter threshold ± hysteresis</span><span class="band-in">internet threshold ± hysteresis</span><span class="marker">switch</span></div></section>
  <section><h2>Loss (median)</h2><svg id="chart-loss" class="chart" data-points="0" data-markers="0"></svg>
    <div class="legend"><span class="line">median loss</span><span class="band-dc">datacenter threshold ± hysteresis</span><span class="band-in">internet threshold ± hysteresis</span><span class="marker">switch</span></div></section>
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
    <h2 class="next">Why</h2><div id="reason" class="muted"></div>
  </section>
  <section class="wide"><h2>Timeline</h2><svg id="timeline" class="timeline" data-markers="0" data-decisions="0" data-engines="0" data-proposals="0"></svg>
    <div id="legend-timeline" class="legend" hidden><span class="marker">this node's switch</span><span class="decision">cluster decision (agreed mode)</span><span class="engine">engine change</span><span class="report">report (a member's medians)</span><span class="force">force or release (a member's hold)</span><span class="step">this node's agreement step</span></div>
    <table id="history"></table></section>
  <section class="wide" id="cluster">
    <h2>Cluster</h2>
    <div id="cluster-none" class="muted" hidden></div>
    <div id="cluster-agreement" hidden>
      <div id="agreed"></div>
      <h2 class="next">Members, as this node knows them</h2><table id="members"></table>
    </div>
    <h2 class="next">Peers, as this node's probes measure them</h2>
    <div id="peers-none" class="muted" hidden></div>
    <table id="peers"></table>
    <div id="cluster-recent" hidden><h2 class="next">Agreement: recent decisions and proposals</h2><table id="cluster-events"></table></div>
  </section>
  <section><h2>Components</h2><table id="components"></table></section>
  <section><h2>Plugins</h2><table id="plugins"></table></section>
  <section><h2>Flags</h2><table id="flags"></table></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

/**
 * The Content-Security-Policy of the page: its one script and one style
 * element by hash, requests to its own origin only, no framing, no plugins,
 * no `<base>`, no form posts.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The headers the page is served with. */
export const DASHBOARD_HEADERS: Record<string, string> = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "content-security-policy": DASHBOARD_CSP,
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};
