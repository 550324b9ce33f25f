// The layering, read from the source: core/ imports nothing above it and no
// runtime API, its layers only import downwards (util ← contracts ← control ←
// loading), and no module of the library is part of an import cycle, type
// imports included.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), "..", ".."));
const LIBRARY = ["mod.ts", "core", "plugins", "runtime", "testing"];
const CORE_LAYERS = ["util", "contracts", "control", "loading"] as const;
/** Packages and built-ins core may import: portable across Deno, Bun and Node. */
const CORE_EXTERNALS = new Set(["valibot", "@valibot/to-json-schema", "node:timers", "node:async_hooks", "semver"]);

function sourceFiles(path: string): string[] {
  const absolute = join(ROOT, path);
  if (statSync(absolute).isFile()) return path.endsWith(".ts") ? [path] : [];
  return readdirSync(absolute).flatMap((name) => sourceFiles(join(path, name)));
}

/** The code with comments and string contents of template literals left out, so prose cannot match. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/** Every module specifier a file imports or re-exports, statically or dynamically, types included. */
export function importsOf(source: string): string[] {
  const code = withoutComments(source);
  const specifiers: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s+(?:type\s+)?(?:\*(?:\s+as\s+\w+)?|\{[^}]*\}|\w+(?:\s*,\s*(?:\{[^}]*\}|\*\s+as\s+\w+))?)\s*from\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) specifiers.push(match[1]);
  }
  return specifiers;
}

function resolveLocal(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  return relative(ROOT, normalize(join(ROOT, dirname(file), specifier)));
}

const files = LIBRARY.flatMap(sourceFiles);
const graph = new Map(files.map((file) => {
  const source = readFileSync(join(ROOT, file), "utf8");
  return [file, { source, imports: importsOf(source) }];
}));

Deno.test("layering: the import reader sees static, type, re-export and dynamic imports, not comments", () => {
  const source = `import { a } from "./a.ts";\nimport type { B } from "./b.ts";\nexport * from "./c.ts";\n` +
    `export type { D } from "./d.ts";\nimport "./e.ts";\nconst f = await import("./f.ts");\n` +
    `// import { g } from "./g.ts";\n/** import("./h.ts") */\nimport {\n  i,\n  type J,\n} from "./i.ts";`;
  assert.deepEqual(importsOf(source).sort(), ["./a.ts", "./b.ts", "./c.ts", "./d.ts", "./e.ts", "./f.ts", "./i.ts"]);
});

Deno.test("layering: core/ imports nothing from plugins/, runtime/ or outside the library", () => {
  const offending: string[] = [];
  for (const [file, { imports }] of graph) {
    if (!file.startsWith("core/")) continue;
    for (const specifier of imports) {
      const target = resolveLocal(file, specifier);
      if (target === undefined ? !CORE_EXTERNALS.has(specifier) : !target.startsWith("core/")) {
        offending.push(`${file} imports ${specifier}`);
      }
    }
  }
  assert.deepEqual(offending, []);
});

Deno.test("layering: core/ calls no runtime API (Deno.*, Bun.*)", () => {
  const offending: string[] = [];
  for (const [file, { source }] of graph) {
    if (!file.startsWith("core/")) continue;
    const code = withoutComments(source);
    for (const match of code.matchAll(/(?<![\w.$"'])(Deno|Bun)\s*\.\s*\w+/g)) offending.push(`${file}: ${match[0]}`);
  }
  assert.deepEqual(offending, []);
});

Deno.test("layering: each core layer imports only itself and the layers below it", () => {
  const rank = (file: string) => CORE_LAYERS.indexOf(file.split("/")[1] as (typeof CORE_LAYERS)[number]);
  const offending: string[] = [];
  for (const [file, { imports }] of graph) {
    if (!file.startsWith("core/") || file === "core/mod.ts") continue;
    assert.ok(rank(file) >= 0, `${file} is in no layer (${CORE_LAYERS.join(", ")})`);
    for (const specifier of imports) {
      const target = resolveLocal(file, specifier);
      if (target?.startsWith("core/") && rank(target) > rank(file)) offending.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(offending, []);
});

/** The strongly connected components of more than one module (or a module importing itself): the cycles. */
function cycles(edges: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (edges.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return found;
}

Deno.test("layering: the cycle finder finds a cycle through type imports", () => {
  const edges = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
  assert.deepEqual(cycles(edges), [["a", "b", "c"]]);
});

Deno.test("layering: no module of the library is in an import cycle, type imports included", () => {
  const edges = new Map<string, string[]>();
  for (const [file, { imports }] of graph) {
    edges.set(
      file,
      imports.map((specifier) => resolveLocal(file, specifier)).filter((target): target is string =>
        target !== undefined && graph.has(target)
      ),
    );
  }
  assert.deepEqual(cycles(edges), []);
});
