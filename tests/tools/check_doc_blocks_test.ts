// The docs' code-block check (tools/check_doc_blocks.ts, tools/doc_blocks.ts):
// which blocks it reads and where they start, relative imports rebased to the
// scratch folder, deno check's errors placed at the markdown's own lines, and
// a markdown with a bad block reported at that block's line while a good one
// (through the import map), an ignored one and non-TypeScript ones pass.
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pid } from "node:process";
import { checkDocBlocks, formatFailure, placeErrors, REPOSITORY_ROOT } from "../../tools/check_doc_blocks.ts";
import {
  type CodeBlock,
  extractCodeBlocks,
  isCheckedTypeScript,
  isIgnoredTypeScript,
  rebaseRelativeImports,
} from "../../tools/doc_blocks.ts";

const FENCE = "```";

const SAMPLE = [
  "# Title", // 1
  "Some `inline` text and a ```ts inline``` span.", // 2
  `${FENCE}ts`, // 3
  "const a = 1;", // 4
  "console.log(a);", // 5
  FENCE, // 6
  "- a list item", // 7
  `    ${FENCE}ts ignore`, // 8
  "    nope(", // 9
  `    ${FENCE}`, // 10
  "~~~json", // 11
  "{ not: typescript }", // 12
  "~~~", // 13
  "````md", // 14
  `${FENCE}ts`, // 15
  "inside a markdown example", // 16
  FENCE, // 17
  "````", // 18
  `${FENCE}sh`, // 19
  "deno task test", // 20
  FENCE, // 21
].join("\n");

Deno.test("doc blocks: every fenced block with its first line, language, attributes and indentation", () => {
  const blocks = extractCodeBlocks(SAMPLE, "SAMPLE.md");
  assert.deepEqual(
    blocks.map(({ line, language, attributes, indent, code }) => ({ line, language, attributes, indent, code })),
    [
      { line: 4, language: "ts", attributes: [], indent: 0, code: "const a = 1;\nconsole.log(a);" },
      { line: 9, language: "ts", attributes: ["ignore"], indent: 4, code: "nope(" },
      { line: 12, language: "json", attributes: [], indent: 0, code: "{ not: typescript }" },
      { line: 15, language: "md", attributes: [], indent: 0, code: `${FENCE}ts\ninside a markdown example\n${FENCE}` },
      { line: 20, language: "sh", attributes: [], indent: 0, code: "deno task test" },
    ],
  );
  assert.deepEqual(blocks.filter(isCheckedTypeScript).map((block) => block.line), [4]);
  assert.deepEqual(blocks.filter(isIgnoredTypeScript).map((block) => block.line), [9]);
  assert.equal(extractCodeBlocks(`${FENCE}typescript\nlet open = true;`, "x.md")[0].code, "let open = true;");
});

Deno.test("doc blocks: relative imports name the same files from the scratch folder, on the same lines", () => {
  const code = [
    'import { KvStore } from "../runtime/kv/mod.ts";',
    "import type { X } from './types.ts';",
    'export * from "./more.ts";',
    'import "./side_effect.ts";',
    'const later = await import("../mod.ts");',
    'import { HybridManager } from "@switchyard/hybrid";',
  ].join("\n");
  const rebased = rebaseRelativeImports(code, "/repo/docs/consensus.md", "/repo/.doc-blocks-1");
  assert.equal(
    rebased,
    [
      'import { KvStore } from "../runtime/kv/mod.ts";',
      "import type { X } from '../docs/types.ts';",
      'export * from "../docs/more.ts";',
      'import "../docs/side_effect.ts";',
      'const later = await import("../mod.ts");',
      'import { HybridManager } from "@switchyard/hybrid";',
    ].join("\n"),
  );
  assert.equal(
    rebaseRelativeImports('import "./x.ts";', "/repo/README.md", "/repo/.doc-blocks-1"),
    'import "../x.ts";',
  );
});

Deno.test("doc blocks: deno check's errors are placed at the markdown's line and column", () => {
  const block: CodeBlock = {
    file: "/repo/docs/core.md",
    line: 40,
    language: "ts",
    attributes: [],
    code: "",
    indent: 2,
  };
  const output = [
    "Check .doc-blocks-1/docs_core.md_40.ts",
    "TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.",
    'const x: number = "a";',
    "      ^",
    "    at file:///repo/.doc-blocks-1/docs_core.md_40.ts:3:7",
    "",
    "TS2307 [ERROR]: Cannot find module 'file:///repo/lib.ts'.",
    "    at file:///repo/lib_user.ts:1:8",
    "",
    "Found 2 errors.",
    "",
    "error: Type checking failed.",
  ].join("\n");
  const failures = placeErrors(output, new Map([["/repo/.doc-blocks-1/docs_core.md_40.ts", block]]), "/repo");
  assert.equal(failures.length, 2);
  assert.deepEqual([failures[0].file, failures[0].line, failures[0].column], ["docs/core.md", 42, 9]);
  assert.match(failures[0].message, /^TS2322 /);
  assert.match(failures[0].detail, /at docs\/core\.md:42:9$/);
  assert.match(formatFailure(failures[0]), /^docs\/core\.md:42:9: TS2322 \[ERROR\]: Type 'string'/);
  assert.equal(failures[1].file, undefined, "an error outside every block is reported, not placed");
  assert.match(failures[1].detail, /lib_user\.ts:1:8/);
});

const bun = (globalThis as { Bun?: { which(name: string): string | null } }).Bun;
const denoPath = bun ? bun.which("deno") ?? undefined : Deno.execPath();

Deno.test({
  name: "check:docs: a markdown with a bad block is reported at that block's line; good, ignored and json blocks pass",
  ignore: denoPath === undefined, // under Bun without `deno` on the PATH there is nothing to type-check with
  async fn() {
    const folder = await mkdtemp(join(tmpdir(), "doc-blocks-"));
    try {
      const markdown = join(folder, "guide.md");
      await writeFile(
        markdown,
        [
          "# A guide", // 1
          "", // 2
          `${FENCE}ts`, // 3
          'import { adminClient } from "@switchyard/hybrid/admin-client";', // 4 (a subpath of the import map)
          'import type { AdminApiError } from "@switchyard/hybrid/admin-client";', // 5
          'const client = adminClient("http://127.0.0.1:7070", "a-token-of-16-chars");', // 6
          "console.log(typeof client.status, {} as AdminApiError | undefined);", // 7
          FENCE, // 8
          "", // 9
          `${FENCE}ts`, // 10
          "const ok = 1;", // 11
          'const port: number = "7070";', // 12
          FENCE, // 13
          "", // 14
          `${FENCE}ts ignore`, // 15
          "this is not TypeScript (", // 16
          FENCE, // 17
          "", // 18
          `${FENCE}json`, // 19
          '{ "plugins": [] }', // 20
          FENCE, // 21
        ].join("\n"),
      );
      const report = await checkDocBlocks([markdown], { denoPath });
      assert.deepEqual(report.checked.map((block) => block.line), [4, 11]);
      assert.deepEqual(report.ignored.map((block) => block.line), [16]);
      assert.equal(report.failures.length, 1, report.failures.map(formatFailure).join("\n"));
      const [failure] = report.failures;
      assert.deepEqual([failure.file, failure.line, failure.column], [markdown, 12, 7]);
      assert.match(failure.message, /TS2322 .*'string' is not assignable to type 'number'/);
      const leftovers = (await readdir(REPOSITORY_ROOT)).filter((name) => name.startsWith(`.doc-blocks-${pid}-`));
      assert.deepEqual(leftovers, [], "the scratch folder is removed");
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  },
});
