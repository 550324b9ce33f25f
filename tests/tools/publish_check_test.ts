// The publish check refuses a package holding anything but the library, or lacking the generated codecs;
// CI runs it on the real dry run (deno task publish:check).
import assert from "node:assert/strict";
import { packageProblems, REQUIRED } from "../../tools/publish_check.ts";

Deno.test("publish check: the library's files pass; tests, tools, bench, examples, CI and the WASM build script do not", () => {
  const library = [...REQUIRED, "deno.json", "README.md", "LICENSE", "core/mod.ts", "plugins/compress-zstd/worker.ts"];
  assert.deepEqual(packageProblems(library), []);
  const extra = ["tests/core/clock_test.ts", "tools/link_proxy.ts", "bench/main.ts", "examples/kv/cluster.ts"];
  assert.deepEqual(
    packageProblems([...library, ...extra, ".ci/run", "wasm/build.ts", "plugins/x/mod_test.ts"]),
    [...extra, ".ci/run", "wasm/build.ts", "plugins/x/mod_test.ts"].map((file) => `ships ${file}`),
  );
  assert.deepEqual(packageProblems(library.filter((file) => file !== "wasm/zstd.js")), ["lacks wasm/zstd.js"]);
});
