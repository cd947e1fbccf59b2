import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";

/** The q-quantile (0..1) of some values, nearest-rank; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** Progress for the operator, on stderr so stdout stays the tables. */
export const progress = (text: string): void => void process.stderr.write(text);

/** What machine and load a run was measured under, printed first and kept with the results. */
export function machine(): { node: string; cpu: string; cores: number; loadavg: number[] } {
  return { node: process.version, cpu: cpus()[0]?.model ?? "cpu", cores: cpus().length, loadavg: loadavg().map((n) => round(n)) };
}

/** A Markdown table with right-aligned cells. */
export function printTable(title: string, header: string[], rows: string[][]): void {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((row) => (row[c] ?? "").length)));
  const line = (row: string[]) => `| ${row.map((cell, c) => cell.padStart(widths[c]!)).join(" | ")} |`;
  console.log(`\n${title}\n`);
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
}

/** bench/results/<name>-<timestamp>.json (ignored by git); returns the path. */
export function writeResults(name: string, data: unknown): string {
  const dir = join(__dirname, "..", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify({ machine: machine(), ...(data as object) }, null, 2)}\n`);
  progress(`results written to ${file}\n`);
  return file;
}
