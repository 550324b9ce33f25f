// The import stage is bounded: only regular files are read (a FIFO, a device behind a symlink and a
// directory are refused at once), their size is bounded, and reading and importing is bounded in time.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromManifest, ManualClock, silentLogger, SwitchyardError, ValidationError } from "../../mod.ts";
import { integrityOf, loadPlugins, type PluginRecord, type ReadFileOptions } from "../../core/loading/loader.ts";
import { MetricsRegistry } from "../../core/control/metrics.ts";
import { createHost } from "../../runtime/host.ts";
import { MemoryHost, probePluginSource } from "../support/memory_host.ts";

const rss = () => {
  (globalThis as { Bun?: { gc(force: boolean): void } }).Bun?.gc(true);
  return (globalThis as { process?: { memoryUsage(): { rss: number } } }).process?.memoryUsage().rss ?? 0;
};

async function withDirectory(body: (directory: string) => Promise<void>): Promise<void> {
  const directory = join(tmpdir(), `switchyard-import-${crypto.randomUUID()}`);
  await mkdir(directory, { recursive: true });
  try {
    await body(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

Deno.test("fromManifest: a FIFO, a symlink to /dev/zero, an oversize file and a directory fail at once", async () => {
  await withDirectory(async (directory) => {
    const good = probePluginSource("good");
    await writeFile(join(directory, "good.ts"), good);
    await symlink(join(directory, "good.ts"), join(directory, "linked.ts")); // a symlink to a regular file is fine
    execFileSync("mkfifo", [join(directory, "fifo.ts")]);
    await symlink("/dev/zero", join(directory, "zero.ts"));
    await writeFile(join(directory, "big.ts"), new Uint8Array(2 * 1024 * 1024 + 1));
    await mkdir(join(directory, "dir.ts"));
    const integrity = await integrityOf(new TextEncoder().encode(good));
    const entries = [
      { id: "good", module: "./good.ts", integrity },
      { id: "linked", module: "./linked.ts", integrity },
      { id: "fifo", module: "./fifo.ts", integrity },
      { id: "zero", module: "./zero.ts", integrity },
      { id: "big", module: "./big.ts", integrity },
      { id: "dir", module: "./dir.ts", integrity },
    ];
    await writeFile(join(directory, "manifest.json"), JSON.stringify({ plugins: entries }));
    const before = rss();
    const manager = await fromManifest(join(directory, "manifest.json"), {
      clock: new ManualClock(), // nothing here may wait for time: each refusal is immediate
      logger: silentLogger,
      maxModuleBytes: 2 * 1024 * 1024,
    });
    const records = Object.fromEntries(manager.getStats().plugins.map((record) => [record.id, record]));
    const failed = (id: string, pattern: RegExp) => {
      const record: PluginRecord = records[id];
      assert.equal(record.state, "failed", id);
      assert.equal(record.stage, "import", id);
      assert.match(record.reason ?? "", new RegExp(`${id}\\.ts`), `${id}: the reason names the module path`);
      assert.match(record.reason ?? "", pattern, id);
    };
    // The good plugin and the symlinked one only fail validation for their id (the source says "good").
    assert.equal(records.good.state, "loaded");
    assert.equal(records.linked.stage, "validate");
    failed("fifo", /a FIFO, not a regular file/);
    failed("zero", /a device, not a regular file/);
    failed("big", /2097153 bytes, more than the 2097152-byte limit \(maxModuleBytes\)/);
    failed("dir", /a directory, not a regular file/);
    assert.ok(rss() - before < 64 * 1024 * 1024, `memory grew by ${(rss() - before) / 2 ** 20} MiB`);
    await manager.close();
  });
});

Deno.test("a manifest that is a FIFO or a device is refused at once (MANIFEST_INVALID)", async () => {
  await withDirectory(async (directory) => {
    execFileSync("mkfifo", [join(directory, "manifest.json")]);
    await symlink("/dev/zero", join(directory, "zero.json"));
    const options = {
      host: await createHost(),
      clock: new ManualClock(),
      logger: silentLogger,
      metrics: new MetricsRegistry(),
    };
    for (const [file, pattern] of [["manifest.json", /a FIFO/], ["zero.json", /a device/]] as const) {
      await assert.rejects(loadPlugins(join(directory, file), options), (error: unknown) => {
        assert.ok(error instanceof SwitchyardError && error.code === "MANIFEST_INVALID", String(error));
        assert.match(error.message, pattern);
        assert.match(error.message, new RegExp(file.replace(".", "\\.")));
        return true;
      });
    }
  });
});

Deno.test("reading and importing a module is bounded by importTimeoutMs on the clock", async () => {
  const host = new MemoryHost();
  const clock = new ManualClock();
  let aborted: unknown;
  const read = host.readFile.bind(host);
  host.readFile = (url: URL, options?: ReadFileOptions): Promise<Uint8Array> => {
    if (!url.pathname.endsWith("stuck.ts")) return read(url, options);
    // A read that never finishes (a stuck network file system), until its signal aborts.
    return new Promise((_, reject) =>
      options?.signal?.addEventListener("abort", () => reject(aborted = options.signal!.reason))
    );
  };
  host.write(
    "m.json",
    JSON.stringify({ plugins: [{ id: "stuck", module: "./stuck.ts", integrity: `sha384-${"A".repeat(64)}` }] }),
  );
  const loading = loadPlugins("m.json", {
    host,
    clock,
    logger: silentLogger,
    metrics: new MetricsRegistry(),
    importTimeoutMs: 5_000,
  });
  await clock.advance(5_000);
  const [record] = (await loading).records();
  assert.equal(record.stage, "import");
  assert.match(record.reason ?? "", /\.\/stuck\.ts was not read and imported within 5000 ms \(importTimeoutMs\)/);
  assert.ok(aborted !== undefined, "the read was told to stop");
});

Deno.test("the import bounds are validated, naming the field", async () => {
  const host = new MemoryHost().write("m.json", '{"plugins":[]}');
  for (const [field, value] of [["maxModuleBytes", 0], ["maxModuleBytes", 2 ** 31], ["importTimeoutMs", -1]] as const) {
    await assert.rejects(
      loadPlugins("m.json", {
        host,
        clock: new ManualClock(),
        logger: silentLogger,
        metrics: new MetricsRegistry(),
        [field]: value,
      }),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError && error.code === "INVALID_ARGUMENT", String(error));
        assert.deepEqual(error.issues.map((issue) => issue.path), [field]);
        return true;
      },
    );
  }
});
