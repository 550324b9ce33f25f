/**
 * `GET /metrics`: the manager's state in the Prometheus text format (0.0.4),
 * named by Prometheus' conventions (checked by `promtool check metrics` in
 * the tests): base units (`_seconds`, `_bytes_per_second`, `_ratio`) and
 * `_total` on every counter. The core's own `rttMs` and `bandwidthMbps` are
 * converted here.
 *
 * @module
 */
import type { ExtensionHost } from "../../core/control/extension_host.ts";
import { MODES } from "../../core/contracts/mode.ts";
import type { NetworkSample } from "../../core/contracts/sample.ts";

type Sample = { labels?: Record<string, string>; value: number };

const escapeHelp = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escape = (value: string) => escapeHelp(value).replace(/"/g, '\\"');

/** A sample value as the text format spells it (`+Inf`, `-Inf`, `NaN` included). */
const number = (value: number) =>
  Number.isFinite(value) ? String(value) : value === Infinity ? "+Inf" : value === -Infinity ? "-Inf" : "NaN";

function family(name: string, type: "gauge" | "counter", help: string, samples: Sample[]): string {
  const lines = [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`];
  for (const { labels, value } of samples) {
    const rendered = labels && Object.keys(labels).length > 0
      ? `{${Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`).join(",")}}`
      : "";
    lines.push(`${name}${rendered} ${number(value)}`);
  }
  return lines.join("\n");
}

/** The measures as gauges: the summary's field, the metric's name, its help, and the factor to base units. */
export const MEASURE_METRICS: readonly [keyof NetworkSample, string, string, number][] = [
  ["rttMs", "switchyard_rtt_seconds", "Median round-trip time over the sample window, in seconds.", 1 / 1000],
  [
    "bandwidthMbps",
    "switchyard_bandwidth_bytes_per_second",
    "Median bandwidth over the sample window, in bytes per second.",
    1_000_000 / 8,
  ],
  ["lossRatio", "switchyard_loss_ratio", "Median share of packets lost over the sample window (0 to 1).", 1],
];

/** Renders every metric of `manager` (core state, probes, plugins' own). */
export function renderPrometheus(manager: ExtensionHost): string {
  const stats = manager.getStats();
  const blocks: string[] = [
    family(
      "switchyard_mode",
      "gauge",
      "1 for the mode this node serves, 0 for the others.",
      MODES.map((mode) => ({ labels: { mode }, value: stats.currentMode === mode ? 1 : 0 })),
    ),
    family("switchyard_forced", "gauge", "1 while an operator holds the mode.", [{ value: stats.forced ? 1 : 0 }]),
    family("switchyard_flapping", "gauge", "1 while the flapping alarm is raised.", [{
      value: stats.flapping ? 1 : 0,
    }]),
    family("switchyard_mode_changes_total", "counter", "Switches that changed the mode.", [{
      value: stats.modeChanges,
    }]),
    family("switchyard_switches_total", "counter", "Switch attempts by outcome.", [
      { labels: { outcome: "success" }, value: stats.successfulSwitches },
      { labels: { outcome: "failed" }, value: stats.failedSwitches },
      { labels: { outcome: "refused" }, value: stats.refusedSwitches },
    ]),
    family("switchyard_drain_timeouts_total", "counter", "Drains cut at drainTimeoutMs.", [{
      value: stats.drainTimeouts,
    }]),
    family("switchyard_cooldown_blocks_total", "counter", "Automatic switches held back by the cooldown.", [
      { value: stats.cooldownBlocks },
    ]),
    family(
      "switchyard_time_in_mode_seconds_total",
      "counter",
      "Time spent in each mode, in seconds.",
      MODES.map((mode) => ({ labels: { mode }, value: stats.timeInModeMs[mode] / 1000 })),
    ),
    family("switchyard_detections_total", "counter", "Detection rounds run.", [{ value: stats.detections }]),
    family(
      "switchyard_probe_errors_total",
      "counter",
      "Probe failures, timeouts included.",
      stats.probes.map((probe) => ({ labels: { probe: probe.name }, value: probe.failures })),
    ),
  ];
  if (stats.links) {
    const links = Object.entries(stats.links);
    blocks.push(
      family(
        "switchyard_link_mode",
        "gauge",
        "1 for the mode each link (this node to one peer) serves, 0 for the others.",
        links.flatMap(([peer, link]) =>
          MODES.map((mode) => ({ labels: { peer, mode }, value: link.mode === mode ? 1 : 0 }))
        ),
      ),
      family(
        "switchyard_link_mode_changes_total",
        "counter",
        "Mode changes of each link.",
        links.map(([peer, link]) => ({ labels: { peer }, value: link.changes })),
      ),
    );
  }
  for (const [measure, name, help, scale] of MEASURE_METRICS) {
    const value = stats.summary[measure];
    if (value !== undefined) blocks.push(family(name, "gauge", help, [{ value: value * scale }]));
  }
  const custom = new Map<string, { type: "gauge" | "counter"; help: string; samples: Sample[] }>();
  for (const point of manager.metrics.snapshot()) {
    const entry = custom.get(point.name) ?? { type: point.type, help: point.help, samples: [] };
    entry.samples.push({ labels: point.labels, value: point.value });
    custom.set(point.name, entry);
  }
  for (const [name, entry] of custom) blocks.push(family(name, entry.type, entry.help, entry.samples));
  return blocks.join("\n") + "\n";
}
