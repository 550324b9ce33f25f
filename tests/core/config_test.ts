import assert from "node:assert/strict";
import { resolveConfig, ValidationError } from "../../mod.ts";

Deno.test("resolveConfig fills in the design's defaults", () => {
  const config = resolveConfig();
  assert.equal(config.enabled, true);
  assert.equal(config.autoDetect, true);
  assert.equal(config.detectionIntervalMs, 10_000);
  assert.equal(config.datacenterLatencyThresholdMs, 10);
  assert.equal(config.datacenterBandwidthThresholdMbps, 1_000);
  assert.equal(config.internetLatencyThresholdMs, 50);
  assert.equal(config.internetBandwidthThresholdMbps, 1_000);
  assert.equal(config.datacenterLossThreshold, 0.001);
  assert.equal(config.internetLossThreshold, 0.01);
  assert.equal(config.hysteresis, 0.1);
  assert.equal(config.cooldownMs, 30_000);
  assert.equal(config.gracefulTransition, true);
  assert.equal(config.drainTimeoutMs, 10_000);
  assert.equal(config.sampleWindow, 5);
  assert.equal(config.initialMode, "hybrid");
  assert.ok(config.flapWindowMs > 0 && config.flapMaxSwitches >= 1);
  assert.ok(Object.isFrozen(config));
});

Deno.test("probeTimeoutMs defaults to 5 s, or the interval when that is shorter", () => {
  assert.equal(resolveConfig().probeTimeoutMs, 5_000);
  assert.equal(resolveConfig({ detectionIntervalMs: 1_000 }).probeTimeoutMs, 1_000);
  assert.throws(() => resolveConfig({ detectionIntervalMs: 1_000, probeTimeoutMs: 2_000 }), /probeTimeoutMs/);
});

Deno.test("resolveConfig keeps valid overrides", () => {
  const config = resolveConfig({ cooldownMs: 0, initialMode: "internet", sampleWindow: 1 });
  assert.equal(config.cooldownMs, 0);
  assert.equal(config.initialMode, "internet");
  assert.equal(config.sampleWindow, 1);
});

Deno.test("resolveConfig names every bad key and why", () => {
  const input = {
    cooldownMs: -5,
    hysteresis: 2,
    sampleWindow: 2.5,
    initialMode: "space",
    enabled: "yes",
    cooldown: 100, // typo of cooldownMs
  };
  try {
    resolveConfig(input as never);
    assert.fail("must throw");
  } catch (error) {
    assert.ok(error instanceof ValidationError);
    assert.equal(error.code, "CONFIG_INVALID");
    const paths = error.issues.map((issue) => issue.path).sort();
    assert.deepEqual(paths, ["cooldown", "cooldownMs", "enabled", "hysteresis", "initialMode", "sampleWindow"]);
    for (const path of paths) assert.match(error.message, new RegExp(`- ${path}: `));
    assert.match(error.message, /initialMode: must be one of datacenter, internet, hybrid/);
  }
});

Deno.test("resolveConfig rejects inconsistent thresholds", () => {
  try {
    resolveConfig({
      datacenterLatencyThresholdMs: 80,
      internetBandwidthThresholdMbps: 5_000,
      datacenterLossThreshold: 0.5,
      probeTimeoutMs: 20_000,
    });
    assert.fail("must throw");
  } catch (error) {
    assert.ok(error instanceof ValidationError);
    assert.deepEqual(error.issues.map((issue) => issue.path).sort(), [
      "datacenterLatencyThresholdMs",
      "datacenterLossThreshold",
      "internetBandwidthThresholdMbps",
      "probeTimeoutMs",
    ]);
  }
});

Deno.test("resolveConfig rejects non-finite numbers", () => {
  assert.throws(() => resolveConfig({ detectionIntervalMs: Number.POSITIVE_INFINITY }), /detectionIntervalMs/);
  assert.throws(() => resolveConfig({ drainTimeoutMs: Number.NaN }), /drainTimeoutMs/);
});
