/** Command-line options of `pnpm bench`. */

/** The engine settings that decide how soon a killed instance's users move (`--failover-timeouts`). */
export interface FailoverTimeouts {
  /** `AGG_LEASE_TTL_MS`: a dead holder's user lease lapses after this. */
  readonly leaseTtlMs: number;
  /** `AGG_ACK_WAIT_MS`: a dead holder's job is offered again after this. */
  readonly ackWaitMs: number;
}

export interface BenchOptions {
  /** Users generated. */
  readonly users: number;
  /** Complete local days of history before the nightly day. */
  readonly days: number;
  /** Heartbeats wanted in total (history plus the nightly day), approximately. */
  readonly heartbeats: number;
  /** Instead of the comparison: nightly batches over this many users each (issue 6, batch scale). */
  readonly batchScale: readonly number[];
  /** Engine instance counts to measure throughput with (issue 4); empty: skip. */
  readonly instances: readonly number[];
  /** SIGKILLs per instance count of 2 or more, to time failover recovery; 0: no failover runs. */
  readonly failoverKills: number;
  /** One failover run per entry, each with its own lease TTL and ack wait. */
  readonly failoverTimeouts: readonly FailoverTimeouts[];
  /** Keep the database (and print its URL) instead of dropping it. */
  readonly keep: boolean;
  /** Print only the JSON line on stdout; nothing on stderr but errors. */
  readonly jsonOnly: boolean;
  /** Run the engine with `--cpu-prof` and summarise where its CPU time went. */
  readonly profile: boolean;
  /** Sample what the engine allocates during the first nightly run (`heap-profile.ts`). */
  readonly heapProfile: boolean;
  /** Print the set-based statement's `EXPLAIN ANALYZE` and one user's engine queries' plans. */
  readonly explain: boolean;
  /**
   * Nightly runs after the first one: each time the nightly day's summaries are
   * deleted and `missing` runs again; their median is reported beside the first.
   */
  readonly nightlyRepeats: number;
  /** `AGG_CONCURRENCY` of the engine; undefined: the engine's default (or the environment's). */
  readonly concurrency: number | undefined;
  /** Which engine program to start: the bundle, the sources under tsx, or the bundle if it loads. */
  readonly engine: "dist" | "src" | "auto";
  /** `work_mem` of the set-based statement's session. */
  readonly sqlWorkMem: string;
  /** Seed of the data set's PRNG (PostgreSQL `setseed`), in [-1, 1]. */
  readonly seed: number;
  /**
   * Leave the nightly day's heartbeats as inserted, not vacuumed: a live
   * database's last day is (autovacuum visits a big table rarely), so the
   * nightly run reads fresh rows from the heap to check their visibility.
   */
  readonly freshNightly: boolean;
  /**
   * Milliseconds the engine sits idle before each nightly run. A real nightly
   * run comes hours after the previous batch, when V8 has long since
   * compacted the engine's heap and returned its pages (its memory reducer
   * starts after 8 s of quiet); 0 times the run right after the full one.
   */
  readonly idleBeforeNightlyMs: number;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  users: 400,
  days: 30,
  heartbeats: 1_000_000,
  batchScale: [],
  instances: [],
  failoverKills: 5,
  // The engine's defaults (README.md, config.ts).
  failoverTimeouts: [{ leaseTtlMs: 5_000, ackWaitMs: 6_000 }],
  keep: false,
  jsonOnly: false,
  profile: false,
  heapProfile: false,
  explain: false,
  nightlyRepeats: 0,
  concurrency: undefined,
  engine: "auto",
  sqlWorkMem: "256MB",
  seed: 0.42,
  freshNightly: false,
  idleBeforeNightlyMs: 0,
};

export const USAGE = `usage: pnpm bench [options]
  --users N          users to generate (default ${DEFAULT_OPTIONS.users})
  --days N           days of history before the nightly day (default ${DEFAULT_OPTIONS.days})
  --heartbeats N     heartbeats in total, approximately (default ${DEFAULT_OPTIONS.heartbeats})
  --instances 1,2,3  also measure a full regenerate with that many engine instances, and with
                     2 or more, failover recovery: SIGKILL a busy instance mid-batch
  --failover-kills N SIGKILLs per instance count (default ${DEFAULT_OPTIONS.failoverKills}; 0: no failover runs)
  --failover-timeouts 5000/6000,2000/2000  AGG_LEASE_TTL_MS/AGG_ACK_WAIT_MS of each failover run
                     (default ${DEFAULT_OPTIONS.failoverTimeouts.map((t) => `${t.leaseTtlMs}/${t.ackWaitMs}`).join(",")}, the engine's defaults)
  --batch-scale 10000,100000  instead of the comparison: a nightly batch over that many
                     users (95 % up to date), its acceptance time, duration and peak RSS
  --nightly-repeats N  after the nightly run, N more: every summary it wrote deleted,
                     missing again; prints each and their median (default 0)
  --concurrency N    AGG_CONCURRENCY of each engine instance (default: the engine's)
  --engine dist|src|auto  the bundled engine, its sources under tsx, or dist if it loads (default auto)
  --sql-work-mem M   work_mem of the set-based statement (default ${DEFAULT_OPTIONS.sqlWorkMem})
  --seed X           PRNG seed in [-1, 1] (default ${DEFAULT_OPTIONS.seed})
  --fresh-nightly    leave the nightly day unvacuumed, as a live database has its last day
  --idle-before-nightly MS  let the engine sit idle MS ms before each nightly run (default 0;
                     from about 10000 on, V8 has compacted its heap as after a real day's wait)
  --profile          run the engine with --cpu-prof and print where its CPU time went
  --heap-profile     sample what the engine allocates during the first nightly run, garbage
                     included, and print it by area (the sampling slows that run down)
  --explain          print EXPLAIN ANALYZE of the set-based statement and of one user's engine queries
  --keep             keep the database agg_bench_<id> (its URL goes to stderr)
  --json-only        nothing on stderr but errors; the JSON line on stdout
Environment: DATABASE_URL (server to create agg_bench_* databases on; default
postgres://postgres@127.0.0.1:5432/postgres), NATS_URL (default nats://127.0.0.1:4222).`;

/** A bad command line; main prints the message and the usage, and exits 2. */
export class UsageError extends Error {
  readonly code = "USAGE";
}

/**
 * Parses `argv` (without node and the script).
 * @throws {UsageError} on an unknown flag or a bad value.
 */
export function parseOptions(argv: readonly string[]): BenchOptions | "help" {
  const o: { -readonly [K in keyof BenchOptions]: BenchOptions[K] } = { ...DEFAULT_OPTIONS };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--help":
      case "-h":
        return "help";
      case "--users":
        o.users = positiveInt(flag, value());
        break;
      case "--days":
        o.days = positiveInt(flag, value());
        break;
      case "--heartbeats":
        o.heartbeats = positiveInt(flag, value());
        break;
      case "--instances":
        o.instances = commaList(value(), (s) => positiveInt(flag, s));
        break;
      case "--nightly-repeats":
        o.nightlyRepeats = nonNegativeInt(flag, value());
        break;
      case "--failover-kills":
        o.failoverKills = nonNegativeInt(flag, value());
        break;
      case "--failover-timeouts":
        o.failoverTimeouts = commaList(value(), (pair) => failoverTimeouts(flag, pair));
        break;
      case "--batch-scale":
        o.batchScale = commaList(value(), (s) => positiveInt(flag, s));
        break;
      case "--concurrency":
        o.concurrency = positiveInt(flag, value());
        break;
      case "--engine": {
        const v = value();
        if (v !== "dist" && v !== "src" && v !== "auto") throw new UsageError(`--engine: dist, src or auto`);
        o.engine = v;
        break;
      }
      case "--sql-work-mem": {
        const v = value();
        if (!/^\d+(kB|MB|GB)$/.test(v)) throw new UsageError(`--sql-work-mem: like 64MB, got ${v}`);
        o.sqlWorkMem = v;
        break;
      }
      case "--seed": {
        const v = Number(value());
        if (!Number.isFinite(v) || v < -1 || v > 1) throw new UsageError("--seed: a number in [-1, 1]");
        o.seed = v;
        break;
      }
      case "--profile":
        o.profile = true;
        break;
      case "--heap-profile":
        o.heapProfile = true;
        break;
      case "--fresh-nightly":
        o.freshNightly = true;
        break;
      case "--idle-before-nightly":
        o.idleBeforeNightlyMs = nonNegativeInt(flag, value());
        break;
      case "--explain":
        o.explain = true;
        break;
      case "--keep":
        o.keep = true;
        break;
      case "--json-only":
        o.jsonOnly = true;
        break;
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  if (o.heapProfile && o.batchScale.length > 0) {
    throw new UsageError("--heap-profile samples the comparison's nightly run, which --batch-scale replaces");
  }
  return o;
}

/** `"1, 2,3"` -> each trimmed item parsed by `parse`. */
function commaList<T>(text: string, parse: (item: string) => T): T[] {
  return text.split(",").map((item) => parse(item.trim()));
}

/** `5000/6000` -> lease TTL 5000 ms, ack wait 6000 ms. */
function failoverTimeouts(flag: string, text: string): FailoverTimeouts {
  const [lease, ack, ...rest] = text.split("/");
  if (lease === undefined || ack === undefined || rest.length > 0) {
    throw new UsageError(`${flag}: LEASE_TTL_MS/ACK_WAIT_MS pairs like 2000/2000, got ${text}`);
  }
  return { leaseTtlMs: positiveInt(flag, lease), ackWaitMs: positiveInt(flag, ack) };
}

function nonNegativeInt(flag: string, text: string): number {
  return wholeNumber(flag, text, 0);
}

function positiveInt(flag: string, text: string): number {
  return wholeNumber(flag, text, 1);
}

/** A whole number of at least `min` (`1_000` allowed); else a usage error naming the flag. */
function wholeNumber(flag: string, text: string, min: 0 | 1): number {
  const n = Number(text.replace(/_/g, ""));
  if (text.trim() === "" || !Number.isSafeInteger(n) || n < min) {
    const wanted = min === 0 ? "a whole number, 0 or more" : "a positive integer";
    throw new UsageError(`${flag}: ${wanted}, got ${text}`);
  }
  return n;
}
