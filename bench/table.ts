/**
 * Markdown tables for benchmark output.
 *
 * @module
 */

/** Formats rows as a Markdown table (first row: header). */
export function markdownTable(rows: (string | number)[][]): string {
  const text = rows.map((row) => row.map((cell) => String(cell)));
  const widths = text[0].map((_, column) => Math.max(...text.map((row) => row[column]?.length ?? 0)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [line(text[0]), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...text.slice(1).map(line)].join("\n");
}

/** A number with `digits` significant digits. */
export function fmt(value: number | undefined, digits = 3): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  if (Math.abs(value) >= 10 ** digits) return Math.round(value).toString();
  return Number(value.toPrecision(digits)).toString();
}
