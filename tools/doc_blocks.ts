/**
 * Code blocks of a markdown file: where each starts, its language and
 * attributes, and its code, for `check_doc_blocks.ts`. Pure: no files, no
 * processes.
 *
 * A fence is three or more backticks or tildes, possibly indented (inside a
 * list item); the block ends at a fence of the same character at least as
 * long, or at the end of the file. The info string's first word is the
 * language (` ```ts `), the words after it are attributes (` ```ts ignore `).
 *
 * @module
 */
import { dirname, relative, resolve } from "node:path";

/** One fenced code block. */
export interface CodeBlock {
  /** The markdown file it was read from, as given. */
  file: string;
  /** 1-based line of the block's first code line (the one after the opening fence). */
  line: number;
  /** The info string's first word, lowercased; `""` when there is none. */
  language: string;
  /** The info string's other words, e.g. `["ignore"]`. */
  attributes: string[];
  /** The code, without the fences and without the fence's indentation. */
  code: string;
  /** How many columns of indentation were removed from each line. */
  indent: number;
}

const OPENING = /^( *)(`{3,}|~{3,})(.*)$/;

/** Every fenced code block of `markdown`, in order. */
export function extractCodeBlocks(markdown: string, file: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const opening = OPENING.exec(lines[index]);
    if (!opening) continue;
    const [, spaces, fence, rest] = opening;
    if (fence[0] === "`" && rest.includes("`")) continue; // inline code, not a fence
    const [language = "", ...attributes] = rest.trim().split(/\s+/).filter((word) => word.length > 0);
    const indent = spaces.length;
    const closing = new RegExp(`^ *${fence[0] === "`" ? "`" : "~"}{${fence.length},}\\s*$`);
    const code: string[] = [];
    let end = index + 1;
    while (end < lines.length && !closing.test(lines[end])) {
      code.push(stripIndent(lines[end], indent));
      end++;
    }
    blocks.push({ file, line: index + 2, language: language.toLowerCase(), attributes, code: code.join("\n"), indent });
    index = end;
  }
  return blocks;
}

function stripIndent(line: string, indent: number): string {
  let cut = 0;
  while (cut < indent && line[cut] === " ") cut++;
  return line.slice(cut);
}

/** Languages checked as TypeScript. */
export const TYPESCRIPT_LANGUAGES: readonly string[] = ["ts", "typescript"];

/** Whether a block is TypeScript to type-check: `ts` or `typescript`, not marked `ignore`. */
export function isCheckedTypeScript(block: CodeBlock): boolean {
  return TYPESCRIPT_LANGUAGES.includes(block.language) && !block.attributes.includes("ignore");
}

/** Whether a block is TypeScript deliberately left unchecked (`ts ignore`). */
export function isIgnoredTypeScript(block: CodeBlock): boolean {
  return TYPESCRIPT_LANGUAGES.includes(block.language) && block.attributes.includes("ignore");
}

const RELATIVE_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.\.?\/[^"'\n]*)\2/g;

/**
 * `code` with every relative module specifier (`"./x.ts"`, `"../x.ts"`)
 * rewritten so that it names the same file from `toDirectory` as it did from
 * the markdown file's own directory. Lines are kept, so positions still map.
 */
export function rebaseRelativeImports(code: string, markdownFile: string, toDirectory: string): string {
  return code.replace(RELATIVE_SPECIFIER, (_match, keyword: string, quote: string, specifier: string) => {
    const target = resolve(dirname(markdownFile), specifier);
    let rebased = relative(toDirectory, target).replaceAll("\\", "/");
    if (!rebased.startsWith(".")) rebased = `./${rebased}`;
    return `${keyword}${quote}${rebased}${quote}`;
  });
}
