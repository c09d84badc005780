import type { BatchStatus } from "@agg/protocol";
import type { CliIo } from "./command";

/** Erase the current terminal line and return to its start. */
const REWRITE_LINE = "\r\x1b[2K";

/**
 * One line of a batch's progress: `batch b… 12/40 done, 0 failed, 1 skipped`.
 *
 * @example
 * ```ts
 * describeProgress({ batchId: "b1", state: "running", users: 40, done: 12, failed: 0, skipped: 1 });
 * // "batch b1 12/40 done, 0 failed, 1 skipped"
 * ```
 */
export function describeProgress(status: BatchStatus): string {
  const counts = `${status.done}/${status.users} done, ${status.failed} failed, ${status.skipped} skipped`;
  return status.state === "running"
    ? `batch ${status.batchId} ${counts}`
    : `batch ${status.batchId} ${status.state}: ${counts}`;
}

/**
 * The progress of `pnpm agg request --wait` on stderr: on a terminal one line
 * rewritten in place, otherwise (a log, a pipe) one line per change, so a
 * captured stderr reads as a history.
 */
export class BatchProgress {
  private lineOpen = false;
  private lastLine = "";

  constructor(private readonly io: CliIo) {}

  /** Shows a status; the same counts twice in a row are shown once. */
  update(status: BatchStatus): void {
    const line = describeProgress(status);
    if (line !== this.lastLine) this.show(line);
  }

  /** Shows a last line (the final status, or why the wait ended) and ends the in-place line. */
  finish(line: string): void {
    this.show(line);
    this.close();
  }

  /** Ends the in-place line, so what follows starts on a line of its own. Idempotent. */
  close(): void {
    if (!this.lineOpen) return;
    this.io.tty?.stderr?.write("\n");
    this.lineOpen = false;
  }

  private show(line: string): void {
    this.lastLine = line;
    const terminal = this.io.tty?.stderr;
    if (!terminal) {
      this.io.stderr(line);
      return;
    }
    // Wider than the terminal would wrap, and `\r` would then rewrite only the last row.
    terminal.write(`${REWRITE_LINE}${line.slice(0, Math.max(1, terminal.columns - 1))}`);
    this.lineOpen = true;
  }
}
