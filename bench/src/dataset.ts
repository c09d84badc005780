/**
 * The benchmark's data set, generated set-based inside PostgreSQL (generate_series,
 * random() under setseed), so a million heartbeats take seconds, not minutes.
 *
 * Users live in several zones (half- and quarter-hour offsets, DST on both
 * hemispheres, empty and unknown names that mean UTC), with every kind of
 * timeout (NULL, <= 0, short, long), some with `exclude_unknown_projects` and
 * some with language mappings (one- and two-part extensions). Each user codes
 * on most weekdays and some weekend days, in one to four sessions a day; a
 * session keeps its project, editor, machine and category and switches among a
 * few files; gaps are mostly short, some exactly the timeout, some a
 * millisecond below it, some longer breaks, some duplicates (gap 0), and late
 * sessions run past midnight.
 *
 * The days: `lastDay` is the last local day of history and `lastDay + 1` the
 * nightly day, both complete (strictly before today) in every user's zone.
 * History goes to `heartbeats`; the nightly day's heartbeats wait in
 * `bench_next_day` until {@link insertNightlyDay}.
 */
import type { PgClient } from "./bench-database";

/** What was generated. */
export interface DatasetStats {
  readonly users: number;
  /** Heartbeats of the history (in `heartbeats` after generation). */
  readonly historyHeartbeats: number;
  /** Heartbeats of the nightly day (in `bench_next_day` until inserted). */
  readonly nightlyHeartbeats: number;
  /** First and last local day of history, YYYY-MM-DD. */
  readonly firstDay: string;
  readonly lastDay: string;
  /** The nightly day, YYYY-MM-DD. */
  readonly nightlyDay: string;
}

/** The zones users live in; `''` and `Not/AZone` mean UTC (SEMANTICS.md). */
export const ZONES = [
  "UTC",
  "Europe/Berlin",
  "America/New_York",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Australia/Adelaide",
  "America/St_Johns",
  "Pacific/Chatham",
  "Australia/Lord_Howe",
  "America/Los_Angeles",
  "Asia/Tokyo",
  "Europe/London",
  "",
  null,
  "Not/AZone",
] as const;

/**
 * The last local day of history such that it and the next day are complete
 * (before today) in every zone at `nowMs`: two days before the earliest "today".
 */
export function chooseLastDay(nowMs: number): string {
  let earliest = "9999-12-31";
  for (const zone of ZONES) {
    if (!zone || zone === "Not/AZone") continue; // both mean UTC, which is listed
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(nowMs);
    if (today < earliest) earliest = today;
  }
  return addDays(earliest, -2);
}

/** `day` plus `n` days, YYYY-MM-DD. */
export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** The effective zone of a `users.location`, in SQL: empty, NULL or unknown to PostgreSQL is UTC. */
export const EFFECTIVE_ZONE_SQL = `case when coalesce(location, '') = ''
  or location not in (select name from pg_timezone_names) then 'UTC' else location end`;

/** The effective timeout in ms of `users.heartbeats_timeout_sec`: NULL or <= 0 is 600 s. */
export const EFFECTIVE_TIMEOUT_MS_SQL = `case when coalesce(heartbeats_timeout_sec, 0) <= 0
  then 600000 else heartbeats_timeout_sec * 1000 end`;

const USERS_SQL = `
insert into users (id, location, heartbeats_timeout_sec, exclude_unknown_projects)
select format('bench-%s', lpad(i::text, 6, '0')),
  (array[${ZONES.map((z) => (z === null ? "null" : `'${z}'`)).join(", ")}]::text[])[1 + i % ${ZONES.length}],
  (array[null, 0, 60, 120, 300, 600, 900, -5]::bigint[])[1 + (i / 3) % 8],
  case when i % 5 = 0 then true when i % 7 = 0 then null else false end
from generate_series(1, $1::int) i`;

// About a third of the users map languages: one- and two-part extensions, and one
// ('c.md') that only an entity with three dots ('a.b.c.md') reaches.
const MAPPINGS_SQL = `
insert into language_mappings (user_id, extension, language)
select u.id, m.ext, m.lang
from users u
cross join (values ('go', 'Golang', 1), ('test.ts', 'TS Tests', 2), ('md', 'Docs', 4),
  ('js', 'PlainJS', 8), ('test.js', 'Jest', 16), ('c.md', 'Deep Docs', 32)) m(ext, lang, bit)
where abs(hashtext(u.id)) % 3 = 0 and (abs(hashtext(u.id || 'm')) % 64) & m.bit <> 0`;

/** One row per coding session, with what stays the same during it. */
const SESSIONS_SQL = `
create temp table bench_sessions on commit preserve rows as
with u as (
  select id as user_id, ${EFFECTIVE_ZONE_SQL} as zone, ${EFFECTIVE_TIMEOUT_MS_SQL} as timeout_ms,
    row_number() over (order by id) as n,
    0.3 + 1.4 * ((abs(hashtext(id || 'f')) % 1000) / 1000.0) as intensity
  from users
),
user_days as (
  select u.*, d::date as day
  from u cross join generate_series($1::date, $2::date, interval '1 day') d
  -- "+ 0 * u.n": ties random() to the row, else PostgreSQL evaluates it once per day.
  where random() + 0 * u.n < case when extract(isodow from d) >= 6 then 0.35 else 0.9 end
)
select user_id, zone, timeout_ms, n, intensity, day, s,
  (day + make_interval(secs => 6 * 3600 + (s - 1) * 4.5 * 3600 + random() * 3 * 3600)) at time zone zone as start_at,
  ($2::date)::timestamp at time zone zone as nightly_start,
  ($2::date + 1)::timestamp at time zone zone as nightly_end,
  (array['agg', 'wakapi', 'dotfiles', 'blog', 'infra', 'agg', 'wakapi', '', null])[1 + floor(random() * 9)::int] as project,
  (array['vscode', 'GoLand', 'neovim', 'vscode', null])[1 + (n + s) % 5] as editor,
  (array['Linux', 'macOS', 'Windows', 'Linux', ''])[1 + n % 5] as operating_system,
  (array['laptop', 'desktop', null])[1 + (n + (s / 3)) % 3] as machine,
  (array['coding', 'coding', 'coding', 'coding', 'debugging', 'building', 'code reviewing', null])[1 + floor(random() * 8)::int] as category,
  (array['main', 'main', 'feature/x', 'fix/y'])[1 + floor(random() * 4)::int] as branch,
  floor(random() * 16)::int as first_file
from user_days cross join lateral generate_series(1, 1 + floor(random() * 4 + 0 * user_days.n)::int) s`;

const ENTITIES = [
  "/home/dev/agg/src/main.go",
  "/home/dev/agg/src/server_test.go",
  "/home/dev/agg/web/app.test.ts",
  "/home/dev/agg/web/app.ts",
  "/home/dev/agg/web/view.tsx",
  "/home/dev/agg/README.md",
  "/home/dev/agg/docs/a.b.c.md",
  "/home/dev/agg/lib/util.test.js",
  "/home/dev/agg/lib/util.js",
  "/home/dev/agg/Makefile",
  "/home/dev/.bashrc",
  "C:\\proj\\Program.cs",
  "/home/dev/agg/scripts/build.sh",
  "/home/dev/agg/config.yaml",
  "https://github.com/muety/wakapi",
  "/home/dev/agg/file.",
];

/** The editor plugin's language for an entity (what arrives in `heartbeats.language`). */
const LANGUAGE_OF_ENTITY_SQL = `case
  when random() < 0.04 then null
  when entity like '%.go' then 'Go'
  when entity like '%.ts' or entity like '%.tsx' then 'TypeScript'
  when entity like '%.js' then 'JavaScript'
  when entity like '%.md' then 'Markdown'
  when entity like '%.cs' then 'C#'
  when entity like '%.sh' or entity like '%.bashrc' then 'Bash'
  when entity like '%.yaml' then 'YAML'
  when entity like 'http%' then 'Browser'
  else '' end`;

/**
 * The heartbeats of every session: gaps accumulated per session, split at each
 * user's nightly day into history (`heartbeats`, ids in time order as they would
 * arrive) and the nightly day (`bench_next_day`); anything later is dropped.
 */
const HEARTBEATS_SQL = `
with beats as (
  select s.*, k,
    case when k = 1 then 0 else
      case when r < 0.04 then 0                                        -- a duplicate
           when r < 0.06 then timeout_ms                               -- exactly the timeout: no credit
           when r < 0.08 then timeout_ms - 1                           -- a millisecond below: credited
           when r < 0.13 then timeout_ms + floor(random() * 1800000)   -- a break inside the session
           else 1 + floor(random() * least(timeout_ms * 0.9, 150000)) end
    end::bigint as gap_ms,
    (array[${ENTITIES.map((e) => `'${e}'`).join(", ")}])[1 + (first_file + floor(r2 * r2 * 3)::int) % ${ENTITIES.length}] as entity
  from bench_sessions s
  cross join lateral generate_series(1, 1 + floor(random() * 2 * $1::float8 * s.intensity + 0 * s.n)::int) k
  cross join lateral (select random() + 0 * k as r, random() + 0 * k as r2) rnd
),
timed as (
  select user_id, project, editor, operating_system, machine, category, branch, entity, nightly_start, nightly_end,
    start_at + sum(gap_ms) over (partition by user_id, day, s order by k) * interval '1 millisecond' as time
  from beats
),
history as (
  insert into heartbeats (id, user_id, entity, type, category, project, branch, language, is_write, editor,
    operating_system, machine, user_agent, time, hash, origin, created_at)
  select row_number() over (order by time, user_id), user_id, entity, 'file', category, project, branch,
    ${LANGUAGE_OF_ENTITY_SQL}, random() < 0.3, editor, operating_system, machine, $2,
    time, 'h' || lpad(to_hex(row_number() over (order by time, user_id)), 16, '0'), 'bench', time
  from timed where time < nightly_start
  order by time, user_id
  returning 1
),
nightly as (
  insert into bench_next_day (user_id, entity, type, category, project, branch, language, is_write, editor,
    operating_system, machine, user_agent, time, hash, origin, created_at)
  select user_id, entity, 'file', category, project, branch, ${LANGUAGE_OF_ENTITY_SQL}, random() < 0.3,
    editor, operating_system, machine, $2, time,
    'n' || lpad(to_hex(row_number() over (order by time, user_id)), 16, '0'), 'bench', time
  from timed where time >= nightly_start and time < nightly_end
  returning 1
)
select (select count(*) from history)::int as history, (select count(*) from nightly)::int as nightly`;

const USER_AGENT = "wakatime/v1.102.1 (linux-6.1.0-amd64) go1.22.5 vscode/1.95.3 vscode-wakatime/24.6.2";

/**
 * Generates the data set into a migrated, empty database. About `heartbeats`
 * heartbeats in total, over `days` days of history plus the nightly day.
 */
export async function generateDataset(
  client: PgClient,
  opts: { users: number; days: number; heartbeats: number; seed: number; nowMs: number },
): Promise<DatasetStats> {
  const lastDay = chooseLastDay(opts.nowMs);
  const firstDay = addDays(lastDay, -(opts.days - 1));
  const nightlyDay = addDays(lastDay, 1);
  // One big transaction-less session: no FK triggers (the data is consistent by
  // construction), sorts in memory, no JIT compile for a one-off statement.
  await client.query("set session_replication_role = replica");
  await client.query("set work_mem = '1GB'");
  await client.query("set jit = off");
  await client.query("select setseed($1)", [opts.seed]);
  await client.query(USERS_SQL, [opts.users]);
  await client.query(MAPPINGS_SQL);
  await client.query(SESSIONS_SQL, [firstDay, nightlyDay]);
  // Heartbeats per session = 1 + floor(random() * 2 * m * intensity), about m * intensity + 0.5.
  const { rows } = await client.query<{ sessions: number; intensity: number }>(
    "select count(*)::int as sessions, coalesce(sum(intensity), 0)::float8 as intensity from bench_sessions",
  );
  const { sessions, intensity } = rows[0]!;
  const perSession = Math.max(0, (opts.heartbeats - 0.5 * sessions) / Math.max(intensity, 1e-9));
  await client.query("create unlogged table bench_next_day (like heartbeats including defaults)");
  const counts = await client.query<{ history: number; nightly: number }>(HEARTBEATS_SQL, [
    perSession,
    USER_AGENT,
  ]);
  await client.query(
    "select setval(pg_get_serial_sequence('heartbeats', 'id'), (select coalesce(max(id), 0) + 1 from heartbeats), false)",
  );
  await client.query("drop table bench_sessions");
  await client.query("reset session_replication_role");
  await client.query("reset work_mem");
  await client.query("reset jit");
  // As a live database would be: statistics, visibility map and hint bits set.
  await client.query("vacuum (analyze) users, language_mappings, heartbeats");
  return {
    users: opts.users,
    historyHeartbeats: counts.rows[0]!.history,
    nightlyHeartbeats: counts.rows[0]!.nightly,
    firstDay,
    lastDay,
    nightlyDay,
  };
}

/**
 * Moves the nightly day's heartbeats into `heartbeats`, in time order (new ids,
 * as they would arrive), and vacuums them unless `vacuum` is false (then the
 * first reader checks each fresh row's visibility in the heap and sets its
 * hint bits, and every index-only scan of them still visits the heap).
 */
export async function insertNightlyDay(client: PgClient, vacuum = true): Promise<number> {
  const result = await client.query(`
    insert into heartbeats (user_id, entity, type, category, project, branch, language, is_write, editor,
      operating_system, machine, user_agent, time, hash, origin, created_at)
    select user_id, entity, type, category, project, branch, language, is_write, editor,
      operating_system, machine, user_agent, time, hash, origin, created_at
    from bench_next_day order by time, user_id`);
  await client.query("drop table bench_next_day");
  if (vacuum) await client.query("vacuum (analyze) heartbeats");
  return result.rowCount ?? 0;
}

/** The largest summary id so far (0 if none): what a later run wrote is above it. */
export async function lastSummaryId(client: PgClient): Promise<number> {
  const { rows } = await client.query<{ id: string | null }>("select max(id)::text as id from summaries");
  return Number(rows[0]?.id ?? 0);
}

/** How many summaries (days) are above `afterId`: what the runs since wrote. */
export async function countSummariesAfter(client: PgClient, afterId: number): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    "select count(*)::int as n from summaries where id > $1",
    [afterId],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Deletes every summary above `afterId` with its items: after a nightly run,
 * every day it wrote, so that `missing` has the same days to do again.
 *
 * Every day, not the latest one per user: a nightly run writes a user's days
 * up to yesterday in the user's zone, and for the zones already a day ahead
 * of the data's nightly day that is two days, the second one empty. Deleting
 * only the latest summary left the nightly day in place for those users, so
 * a repeat redid their empty day alone (BENCHMARKS.md, stop 18).
 */
export async function deleteSummariesAfter(client: PgClient, afterId: number): Promise<number> {
  const result = await client.query(
    `with doomed as (select id from summaries where id > $1),
    items as (delete from summary_items where summary_id in (select id from doomed))
    delete from summaries where id in (select id from doomed)`,
    [afterId],
  );
  return result.rowCount ?? 0;
}
