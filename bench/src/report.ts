/** The human table on stderr (the JSON line is main's). */

/** One row of the results table. */
export interface ReportRow {
  readonly phase: string;
  readonly ms: number | null;
  readonly detail: string;
}

/** The rows as an aligned text table. */
export function formatTable(rows: readonly ReportRow[]): string {
  const cells = rows.map((r) => [r.phase, r.ms === null ? "" : formatMs(r.ms), r.detail]);
  const head = ["phase", "time", "detail"];
  const widths = [0, 1].map((c) => Math.max(head[c]!.length, ...cells.map((row) => row[c]!.length)));
  const line = (row: string[]) => `${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padStart(widths[1]!)}  ${row[2]}`;
  return [
    line(head),
    line(["-".repeat(widths[0]!), "-".repeat(widths[1]!), "------"]),
    ...cells.map(line),
  ].join("\n");
}

/** `1234` -> `1.23 s`, `87` -> `87 ms`. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms} ms`;
}

/** `1234567` -> `1,234,567`. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** Rounds to `digits` decimals. */
export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
