import type { ActorInfo, InspectReply } from "@agg/protocol";

/** Options of {@link renderInspectTable}. */
export interface InspectTableOptions {
  /** The time shown in the heading. */
  readonly now: Date;
  /** Lines are cut to this width (a terminal's columns). Default: not cut. */
  readonly width?: number;
  /** At most this many lines in all; the actors that do not fit are counted. Default: all. */
  readonly height?: number;
  /** What was asked, for the heading, e.g. `agg.inspect`. */
  readonly subject: string;
}

const COLUMNS = ["INSTANCE", "ACTOR", "MACHINE", "STATE", "USER", "BATCH", "PROGRESS"] as const;
/** Widest a column grows before its cells are cut with `…`. */
const MAX_CELL = [24, 36, 18, 32, 24, 24, 40] as const;

/**
 * The `agg.inspect` object as the lines of a table: a heading with the
 * instances, then one row per actor (instance, actor id, machine, state, user,
 * batch, progress such as `days 3/10`), sorted by instance, machine and id.
 * With no instance it says `no instances` (and why, when `reason` is given)
 * instead of an empty table.
 *
 * @example
 * ```ts
 * renderInspectTable(reply, { now: new Date(), subject: "agg.inspect", width: 120 }).join("\n");
 * ```
 */
export function renderInspectTable(
  reply: InspectReply | undefined,
  options: InspectTableOptions,
  reason?: string,
): string[] {
  const time = options.now.toISOString().slice(11, 19);
  const lines: string[] = [];
  if (!reply || reply.instances.length === 0) {
    lines.push(`${options.subject}  ${time}  no instances${reason ? ` (${reason})` : ""}`);
    return cut(lines, options.width);
  }
  const perInstance = reply.instances.map((i) => {
    // An instance the scatter-gather heard of (presence) but that did not answer in time.
    if ((i as { answered?: unknown }).answered === false) return `${i.id} (not answering)`;
    const count = reply.actors.filter((a) => a.instance === i.id).length;
    return `${i.id} (${count} actor${count === 1 ? "" : "s"})`;
  });
  lines.push(
    `${options.subject}  ${time}  ${reply.instances.length} instance${reply.instances.length === 1 ? "" : "s"}: ${perInstance.join(", ")}`,
  );
  if (reply.actors.length === 0) {
    lines.push("no live actors");
    return cut(lines, options.width);
  }

  const actors = [...reply.actors].sort(
    (a, b) =>
      a.instance.localeCompare(b.instance) || a.machine.localeCompare(b.machine) || a.id.localeCompare(b.id),
  );
  // Heading, column names, and one line kept for "... N more".
  const room = options.height === undefined ? actors.length : Math.max(1, options.height - 3);
  const shown = actors.length > room ? actors.slice(0, room) : actors;
  const rows = shown.map((a) =>
    [a.instance, a.id, a.machine, a.state, a.userId ?? "-", a.batchId ?? "-", progressOf(a)].map((cell, i) =>
      ellipsis(cell, MAX_CELL[i]!),
    ),
  );
  const widths = COLUMNS.map((name, i) => Math.max(name.length, ...rows.map((r) => r[i]!.length)));
  const format = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  lines.push(format(COLUMNS), ...rows.map(format));
  if (shown.length < actors.length) {
    lines.push(`... and ${actors.length - shown.length} more actors (narrow with --user, --batch, --state)`);
  }
  return cut(lines, options.width);
}

/**
 * How far an actor is, from the context summary the engine adds:
 * `days 3/10` for a user aggregator, `users 13/40, 1 failed` for a batch
 * coordinator; empty when there is nothing to count.
 */
export function progressOf(actor: ActorInfo): string {
  const context = (actor as { context?: unknown }).context;
  if (typeof context !== "object" || context === null) return "";
  const c = context as Record<string, unknown>;
  const n = (key: string) => (typeof c[key] === "number" ? (c[key] as number) : 0);
  if (typeof c.daysTotal === "number" && c.daysTotal > 0) return `days ${n("daysDone")}/${c.daysTotal}`;
  if (typeof c.users === "number") {
    const finished = n("done") + n("failed") + n("skipped");
    return `users ${finished}/${c.users}${n("failed") > 0 ? `, ${n("failed")} failed` : ""}`;
  }
  return "";
}

/**
 * Whether an actor is in state `state`: the whole state value
 * (`processingJob.aggregating`), one of its levels (`aggregating`), or a
 * parent of it (`processingJob`).
 */
export function matchesState(actor: ActorInfo, state: string): boolean {
  return (
    actor.state === state ||
    actor.state.split(/[.,]/).includes(state) ||
    actor.state.split(",").some((region) => region.startsWith(`${state}.`))
  );
}

function ellipsis(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function cut(lines: string[], width: number | undefined): string[] {
  return width === undefined ? lines : lines.map((l) => (l.length > width ? ellipsis(l, width) : l));
}
