/**
 * Type-checks every TypeScript code block of the README and of the pages
 * under `docs/`.
 *
 * Each ` ```ts ` block becomes a module of its own in a scratch folder inside
 * the repository (so `deno.json`'s import map resolves `@switchyard/hybrid`,
 * `@switchyard/hybrid/testing`, … exactly as in an application), with its
 * relative imports rebased to name the same files as from the markdown file;
 * one `deno check` runs over all of them, and every error is reported at the
 * markdown file's own line and column. Blocks marked ` ```ts ignore ` are
 * skipped and listed (say why next to each); `json`, `sh` and other blocks
 * are not TypeScript. A block that shows a fragment declares what it uses
 * (`declare const manager: HybridManager;`).
 *
 * Usage: `deno task check:docs [file.md ...]` (default: README.md and every
 * `.md` under docs/). Exit code 1 when a block fails.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  type CodeBlock,
  extractCodeBlocks,
  isCheckedTypeScript,
  isIgnoredTypeScript,
  rebaseRelativeImports,
} from "./doc_blocks.ts";

/** The repository root: where `deno.json` (and its import map) is. */
export const REPOSITORY_ROOT: string = fileURLToPath(new URL("../", import.meta.url));

/** One error found in a block (or, without `file`, one `deno check` could not place in a block). */
export interface DocBlockFailure {
  /** The markdown file, relative to the root when inside it. */
  file?: string;
  /** 1-based line in the markdown file. */
  line?: number;
  /** 1-based column in the markdown file. */
  column?: number;
  /** The first line of the error, e.g. `TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.` */
  message: string;
  /** The whole error as `deno check` printed it, its location rewritten to the markdown file's. */
  detail: string;
}

/** What a check found. */
export interface DocBlockReport {
  /** Blocks type-checked. */
  checked: CodeBlock[];
  /** `ts ignore` blocks, not checked. */
  ignored: CodeBlock[];
  /** Every error; empty when all checked blocks compile. */
  failures: DocBlockFailure[];
}

/** Options of {@linkcode checkDocBlocks}. */
export interface CheckDocBlocksOptions {
  /** The repository whose `deno.json` resolves the blocks' imports (default: this one). */
  root?: string;
  /** The `deno` executable (default: the running Deno, or `deno` on the PATH under another runtime). */
  denoPath?: string;
}

/** The markdown files checked by default: README.md and every `.md` under `docs/`. */
export async function defaultDocFiles(root: string = REPOSITORY_ROOT): Promise<string[]> {
  const docs = (await readdir(join(root, "docs"), { recursive: true })).filter((name) => name.endsWith(".md")).sort();
  return [join(root, "README.md"), ...docs.map((name) => join(root, "docs", name))];
}

function defaultDeno(): string {
  const deno = (globalThis as { Deno?: { execPath?: () => string } }).Deno;
  const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  return !isBun && typeof deno?.execPath === "function" ? deno.execPath() : "deno";
}

function scratchName(root: string, block: CodeBlock): string {
  const where = relative(root, resolve(block.file)).replace(/[^A-Za-z0-9.-]+/g, "_");
  return `${where}_${block.line}.ts`;
}

function runDeno(denoPath: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(denoPath, args, {
      cwd,
      env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (data) => (output += data));
    child.stderr.on("data", (data) => (output += data));
    child.on("error", fail);
    child.on("close", (code) => done({ code, output }));
  });
}

/** Lines `deno check` prints while it works, not errors. */
const PROGRESS = /^(Check|Download|Initialize) /;
const LOCATION = /(?:at )?(file:\/\/[^\s]+?):(\d+):(\d+)/g;

/** Maps `deno check`'s output onto the blocks the scratch files came from. */
export function placeErrors(
  output: string,
  scratch: ReadonlyMap<string, CodeBlock>,
  root: string,
): DocBlockFailure[] {
  const chunks = output.split("\n").filter((line) => !PROGRESS.test(line)).join("\n").split(/\n\s*\n/).map((chunk) =>
    chunk.trim()
  ).filter((chunk) => /^TS\d+ \[ERROR\]|^error: /m.test(chunk) && !/^error: Type checking failed\.?$/m.test(chunk));
  return chunks.map((chunk) => {
    let place: { file: string; line: number; column: number } | undefined;
    const detail = chunk.replace(LOCATION, (whole, url: string, line: string, column: string) => {
      const block = scratch.get(fileURLToPath(url));
      if (!block) return whole;
      const file = displayPath(root, block.file);
      const at = { file, line: block.line + Number(line) - 1, column: block.indent + Number(column) };
      place ??= at;
      return `at ${at.file}:${at.line}:${at.column}`;
    });
    const message = chunk.split("\n")[0];
    return place ? { ...place, message, detail } : { message, detail };
  });
}

function displayPath(root: string, file: string): string {
  const path = relative(root, resolve(file));
  return path.startsWith("..") ? resolve(file) : path;
}

/**
 * Type-checks the TypeScript blocks of `files` (markdown paths) against the
 * repository at `options.root`; resolves with every error placed at its
 * markdown line. The scratch folder is removed afterwards.
 */
export async function checkDocBlocks(files: string[], options: CheckDocBlocksOptions = {}): Promise<DocBlockReport> {
  const root = resolve(options.root ?? REPOSITORY_ROOT);
  const blocks: CodeBlock[] = [];
  for (const file of files) blocks.push(...extractCodeBlocks(await readFile(file, "utf8"), file));
  const checked = blocks.filter(isCheckedTypeScript);
  const ignored = blocks.filter(isIgnoredTypeScript);
  if (checked.length === 0) return { checked, ignored, failures: [] };
  const directory = join(root, `.doc-blocks-${process.pid}-${Date.now().toString(36)}`);
  const scratch = new Map<string, CodeBlock>();
  await mkdir(directory, { recursive: true });
  try {
    for (const block of checked) {
      const path = join(directory, scratchName(root, block));
      // `export {}` keeps each block a module of its own; it follows the code, so lines map one to one.
      await writeFile(path, `${rebaseRelativeImports(block.code, resolve(block.file), directory)}\nexport {};\n`);
      scratch.set(path, block);
    }
    const { code, output } = await runDeno(options.denoPath ?? defaultDeno(), ["check", ...scratch.keys()], root);
    if (code === 0) return { checked, ignored, failures: [] };
    const failures = placeErrors(output, scratch, root);
    return {
      checked,
      ignored,
      failures: failures.length > 0 ? failures : [{ message: `deno check exited with ${code}`, detail: output }],
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** One line per failure, `file:line:column: message`, then the detail indented. */
export function formatFailure(failure: DocBlockFailure): string {
  const where = failure.file ? `${failure.file}:${failure.line}:${failure.column}: ` : "";
  const detail = failure.detail.split("\n").slice(1).map((line) => `    ${line}`).join("\n");
  return `${where}${failure.message}${detail ? `\n${detail}` : ""}`;
}

if (import.meta.main) {
  const args = process.argv.slice(2).filter((arg) => arg !== "--");
  const files = args.length > 0 ? args : await defaultDocFiles();
  const report = await checkDocBlocks(files);
  for (const failure of report.failures) console.error(formatFailure(failure));
  for (const block of report.ignored) {
    console.log(`not checked (ts ignore): ${displayPath(REPOSITORY_ROOT, block.file)}:${block.line - 1}`);
  }
  console.log(
    `${report.checked.length} TypeScript blocks in ${files.length} files: ` +
      (report.failures.length === 0 ? "all compile" : `${report.failures.length} errors`),
  );
  if (report.failures.length > 0) process.exit(1);
}
