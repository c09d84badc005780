import type { DayInterval } from "@agg/core";
import { type Kysely, sql } from "kysely";
import { loadUsersDayDurations } from "./repository/duration-repository";
import { callReplaceUserDays } from "./repository/replace-user-days-call";
import { loadUsersPlanInputs } from "./repository/user-repository";
import type { Database } from "./schema";

/** Options of {@link warmConnections}. */
export interface WarmConnectionsOptions {
  /**
   * How long to wait for all `count` connections to be held at once. Past it,
   * each warms the connection it got, and some may have got the same one (the
   * pool is smaller than `count`, or something else holds connections).
   */
  readonly gatherMs?: number;
}

/** A made-up user id. Whoever has it, the statements below read at most and write nothing. */
const NOBODY = "agg-connection-warm-up";
/** One UTC day, 2000-01-01, for the durations statement's shape. */
const ONE_DAY: DayInterval = { day: "2000-01-01", fromTime: 946_684_800_000, toTime: 946_771_200_000 };

/**
 * Opens `count` connections of `db`'s pool at once and runs on each, once,
 * the statements of a batch's critical path (a batch's triage, a user's
 * durations, a day write), with arguments that match nothing and write
 * nothing. Returns the backend pids warmed (distinct unless `gatherMs` ran
 * out).
 *
 * Why: a PostgreSQL backend's first run of a statement costs it far more
 * than the next ones: catalog and relation caches to fill, PL/pgSQL to
 * compile (`agg_replace_user_days`: 13 to 22 ms the first time in a session
 * against about 1 ms after), shared buffers to map into its address space
 * (on this project's VMs a page fault costs 5 to 30 µs). A nightly run's
 * triage runs on whichever connections it gets, and each connection that
 * never ran it added about 10 ms to the acceptance, which no job can
 * overlap; see BENCHMARKS.md, stop 19. Done once, at start: the engine keeps
 * its connections open (`keepConnections`), so they stay warm.
 */
export async function warmConnections(
  db: Kysely<Database>,
  count: number,
  options: WarmConnectionsOptions = {},
): Promise<number[]> {
  const wanted = Math.max(0, Math.floor(count));
  if (wanted === 0) return [];
  // A barrier: each holds its connection until all are held, so that none is
  // handed back to the pool and warmed twice while another stays cold.
  let held = 0;
  let gathered!: () => void;
  const allHeld = new Promise<void>((resolve) => {
    gathered = resolve;
  });
  const timer = setTimeout(() => gathered(), options.gatherMs ?? 2_000);
  try {
    return await Promise.all(
      Array.from({ length: wanted }, () =>
        db.connection().execute(async (conn) => {
          if (++held === wanted) gathered();
          await allHeld;
          return warmOne(conn);
        }),
      ),
    );
  } finally {
    clearTimeout(timer);
  }
}

async function warmOne(conn: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn);
  await loadUsersPlanInputs(conn, [NOBODY]);
  await loadUsersDayDurations(conn, [
    { userId: NOBODY, days: [ONE_DAY], timeoutMs: 120_000, withEntity: true },
  ]);
  // Every argument empty: no lock, claim, delete, insert or completion.
  await callReplaceUserDays(conn, { lockUsers: [], claims: [], ranges: [], daysJson: "[]", completions: [] });
  return rows[0]!.pid;
}
