/**
 * Failover recovery (issue 4): how long the users of a SIGKILLed instance stay
 * without an owner before another instance takes them over.
 *
 * A run keeps `instances` engines up and runs full regenerates one after
 * another. In each batch, once its progress passes a kill point, the instance
 * with the most user actors in the middle of a job (`agg.inspect`) is
 * SIGKILLed and a replacement is started at once, so the count stays
 * `instances`. One kill per batch, so the kills do not overlap and each
 * sample starts from a healthy cluster.
 *
 * What is timed, for one kill:
 * - **orphaned users**: those whose lease the killed instance held at the kill
 *   (row in `agg_user_fences`: its holder, `lease_until` still ahead, the tenure
 *   begun during this batch) and whose outcome it had not recorded
 *   (`agg_batch_users` still `pending`). Read right after the kill, so nothing
 *   can change them in between: their leases are still alive. (A row the
 *   instance merely released, `lease_until` null, is no orphan: its user is
 *   free, and the next instance takes it at once.)
 * - **recovery**: from the SIGKILL to the moment the last orphaned user got a
 *   new tenure from another instance (`agg_user_fences.updated_at`, stamped by
 *   PostgreSQL on this machine's clock when the tenure begins, and again at its
 *   renewals and release; polled every 50 ms, the first value seen is the
 *   tenure's start, or at worst its release after a very short job). A new tenure means that instance holds
 *   the user's lease and the job again, and its writes are accepted: the user
 *   is being worked on again. Its finishing the user is throughput, not failover.
 * - A user whose job the killed instance finished after all is no orphan: its
 *   last statement (the days and the job's outcome, one commit) can still
 *   commit after the kill, since PostgreSQL ends a statement whose client is
 *   gone only when it answers. Such a user turns `done` with the victim still
 *   its holder, and nobody needs to take it over; it leaves the sample.
 */
import type { PgClient } from "./bench-database";
import type { ContractClient, UserActorInfo } from "./contract";
import type { EngineProcess } from "./engine-process";
import type { FailoverTimeouts } from "./options";

/** Batch progress (users finished / users) at which the kills happen, in turn. */
const KILL_POINTS = [0.25, 0.5, 0.75] as const;
/** How often the orphaned users' fences are read while they wait for a new owner. */
const TAKEOVER_POLL_MS = 50;
/** A kill whose users have no new owner after this counts as unrecovered. */
const RECOVERY_LIMIT_MS = 120_000;

/** One SIGKILL and what followed. */
export interface FailoverKill {
  readonly victim: string;
  /** Batch progress when the instance was killed, 0 to 1. */
  readonly atProgress: number;
  readonly orphanedUsers: number;
  /** Users first seen orphaned whose job the victim's last commit finished (not in `orphanedUsers`). */
  readonly finishedByVictim: number;
  /** From the SIGKILL until every orphaned user had a new owner; null when that did not happen in time. */
  readonly recoveryMs: number | null;
}

/** Recovery times of one failover run. */
export interface FailoverResult extends FailoverTimeouts {
  /** Kills that orphaned at least one user: the samples. */
  readonly kills: number;
  readonly medianMs: number | null;
  readonly worstMs: number | null;
  readonly samplesMs: readonly number[];
  /** Users orphaned by each kill, in the order of the samples. */
  readonly orphanedUsers: readonly number[];
  /** Kills whose users did not all get a new owner within {@link RECOVERY_LIMIT_MS}. */
  readonly unrecovered: number;
  /** Kills that found the victim holding no user (its jobs had just ended): no sample. */
  readonly idleKills: number;
  /** Final state of every batch of the run, kills or not. */
  readonly batchStates: readonly string[];
}

/** What a failover run needs: its cluster's engines, the contract, the database. */
export interface FailoverRun {
  readonly instances: number;
  /** Kills to sample; the run ends after this many, or after twice as many batches. */
  readonly kills: number;
  readonly timeouts: FailoverTimeouts;
  /** The `agg.request` of each batch. */
  readonly request: Record<string, unknown>;
  readonly batchTimeoutMs: number;
  /** A client on the prefix the engines share. */
  readonly nats: ContractClient;
  /** A client of the engines' database, for the fences and the batch ledger. */
  readonly db: PgClient;
  /** Starts one engine called `name`, configured with the run's prefix and timeouts. */
  readonly startEngine: (name: string) => Promise<EngineProcess>;
  /** Engine names are `<namePrefix>-1`, `-2`, ... in start order (replacements continue the count). */
  readonly namePrefix: string;
  readonly say: (line: string) => void;
}

/**
 * Runs batches on a cluster of `run.instances` engines, killing one busy
 * instance per batch, until `run.kills` samples are taken.
 */
export async function measureFailover(run: FailoverRun): Promise<FailoverResult> {
  const cluster = new Cluster(run.startEngine, run.namePrefix);
  const kills: FailoverKill[] = [];
  const batchStates: string[] = [];
  try {
    await cluster.grow(run.instances);
    // A batch can end before its kill point; twice the batches the kills need is enough.
    while (kills.filter(isSample).length < run.kills && batchStates.length < 2 * run.kills) {
      const killPoint = KILL_POINTS[kills.length % KILL_POINTS.length]!;
      const { state, kill } = await batchWithOneKill(run, cluster, killPoint);
      batchStates.push(state);
      if (kill) {
        kills.push(kill);
        run.say(describeKill(kill));
      }
    }
  } finally {
    await cluster.stopAll();
  }
  return summarize(run.timeouts, kills, batchStates);
}

/** A kill that orphaned users is a sample, recovered or not. */
function isSample(kill: FailoverKill): boolean {
  return kill.orphanedUsers > 0;
}

/** One batch; the busiest instance is killed once progress reaches `killPoint`. */
async function batchWithOneKill(
  run: FailoverRun,
  cluster: Cluster,
  killPoint: number,
): Promise<{ state: string; kill?: FailoverKill }> {
  let batchId: string | undefined;
  let progress = 0;
  let ended = false;
  const batch = run.nats
    .runBatch(run.request, run.batchTimeoutMs, (event) => {
      batchId = event.batchId;
      progress = (event.done + event.failed + event.skipped) / Math.max(1, event.users);
    })
    .finally(() => {
      ended = true;
    });
  // Awaited below, after the kill; until then a refused request must not count as unhandled.
  batch.catch(() => undefined);
  while (!ended && progress < killPoint) await sleep(20);
  const kill = !ended && batchId ? await killBusiest(run, cluster, batchId, progress) : undefined;
  const { final } = await batch;
  return { state: final.state, ...(kill ? { kill } : {}) };
}

/** SIGKILLs the busiest instance, starts its replacement, and times the takeover of its users. */
async function killBusiest(
  run: FailoverRun,
  cluster: Cluster,
  batchId: string,
  progress: number,
): Promise<FailoverKill> {
  // A failed inspect (an instance slow to answer) only costs the choice of victim.
  const actors = await run.nats.inspectUserActors().catch(() => []);
  const victim = busiest(cluster.members, actors);
  const killedAt = Date.now();
  await victim.kill();
  const replaced = cluster.replace(victim);
  try {
    const orphaned = await orphanedUsers(run.db, batchId, victim.name);
    const takeover =
      orphaned.length === 0
        ? { recoveryMs: null, finishedByVictim: 0 }
        : await timeTakeover(run.db, batchId, orphaned, victim.name, killedAt);
    return {
      victim: victim.name,
      atProgress: progress,
      orphanedUsers: orphaned.length - takeover.finishedByVictim,
      ...takeover,
    };
  } finally {
    await replaced;
  }
}

/** The member with the most user actors in the middle of a job; the first one when none is seen working. */
function busiest(members: readonly EngineProcess[], actors: readonly UserActorInfo[]): EngineProcess {
  const working = (e: EngineProcess) =>
    actors.filter((a) => a.instance === e.name && a.state.startsWith("processingJob")).length;
  return members.reduce((best, e) => (working(e) > working(best) ? e : best));
}

const ORPHANED_SQL = `
select bu.user_id
from agg_batch_users bu
join agg_batches b on b.id = bu.batch_id
join agg_user_fences f on f.user_id = bu.user_id
where bu.batch_id = $1 and bu.status = 'pending' and f.holder = $2 and f.updated_at >= b.created_at
  and f.lease_until > now()`;

/** Users whose tenure `victim` began in this batch and whose outcome it had not recorded. */
async function orphanedUsers(db: PgClient, batchId: string, victim: string): Promise<string[]> {
  const r = await db.query<{ user_id: string }>(ORPHANED_SQL, [batchId, victim]);
  return r.rows.map((row) => row.user_id);
}

const TAKEOVER_SQL = `
select f.user_id, f.holder <> $2 as taken, f.updated_at as taken_at, bu.status
from agg_user_fences f
join agg_batch_users bu on bu.user_id = f.user_id and bu.batch_id = $3
where f.user_id = any($1::text[])`;

/**
 * Milliseconds from `killedAt` until each of `users` has a tenure begun by
 * another instance than `victim` (the latest of them), or null after
 * {@link RECOVERY_LIMIT_MS} (or when the victim's last commit finished them
 * all). The first tenure seen per user counts; a user that turned non-pending
 * with `victim` still its holder was finished by the victim, and is counted
 * in `finishedByVictim` instead.
 */
async function timeTakeover(
  db: PgClient,
  batchId: string,
  users: readonly string[],
  victim: string,
  killedAt: number,
): Promise<{ recoveryMs: number | null; finishedByVictim: number }> {
  const takenAt = new Map<string, number>();
  const finished = new Set<string>();
  const answer = (recoveryMs: number | null) => ({ recoveryMs, finishedByVictim: finished.size });
  while (Date.now() < killedAt + RECOVERY_LIMIT_MS) {
    const r = await db.query<{ user_id: string; taken: boolean; taken_at: Date; status: string }>(
      TAKEOVER_SQL,
      [users, victim, batchId],
    );
    for (const row of r.rows) {
      if (takenAt.has(row.user_id) || finished.has(row.user_id)) continue;
      if (row.taken) takenAt.set(row.user_id, row.taken_at.getTime());
      else if (row.status !== "pending") finished.add(row.user_id);
    }
    if (takenAt.size + finished.size === users.length) {
      return answer(takenAt.size > 0 ? Math.max(...takenAt.values()) - killedAt : null);
    }
    await sleep(TAKEOVER_POLL_MS);
  }
  return answer(null);
}

function summarize(
  timeouts: FailoverTimeouts,
  kills: readonly FailoverKill[],
  batchStates: readonly string[],
): FailoverResult {
  const samples = kills.filter(isSample);
  const samplesMs = samples.flatMap((k) => (k.recoveryMs === null ? [] : [k.recoveryMs]));
  return {
    leaseTtlMs: timeouts.leaseTtlMs,
    ackWaitMs: timeouts.ackWaitMs,
    kills: samples.length,
    medianMs: median(samplesMs),
    worstMs: samplesMs.length > 0 ? Math.max(...samplesMs) : null,
    samplesMs,
    orphanedUsers: samples.map((k) => k.orphanedUsers),
    unrecovered: samples.length - samplesMs.length,
    idleKills: kills.length - samples.length,
    batchStates,
  };
}

/** The middle value (the mean of the two middle ones for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

function describeKill(k: FailoverKill): string {
  const recovery =
    k.orphanedUsers === 0
      ? "no sample"
      : k.recoveryMs === null
        ? "NOT RECOVERED"
        : `recovered in ${k.recoveryMs} ms`;
  const finished = k.finishedByVictim > 0 ? ` (${k.finishedByVictim} more finished by its last commit)` : "";
  return `failover: SIGKILL ${k.victim} at ${Math.round(k.atProgress * 100)} %: ${k.orphanedUsers} users orphaned${finished}, ${recovery}`;
}

/** The engines of a run: started, replaced after a kill, stopped at the end. */
class Cluster {
  private readonly engines: EngineProcess[] = [];
  private started = 0;

  constructor(
    private readonly start: (name: string) => Promise<EngineProcess>,
    private readonly namePrefix: string,
  ) {}

  get members(): readonly EngineProcess[] {
    return this.engines;
  }

  /** Starts engines, one at a time, until there are `n`. */
  async grow(n: number): Promise<void> {
    while (this.engines.length < n) this.engines.push(await this.startNext());
  }

  /** Drops a killed member and starts its replacement (resolves once it is up). */
  async replace(killed: EngineProcess): Promise<void> {
    this.engines.splice(this.engines.indexOf(killed), 1);
    this.engines.push(await this.startNext());
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.engines.splice(0).map((e) => e.stop(10_000)));
  }

  private startNext(): Promise<EngineProcess> {
    this.started += 1;
    return this.start(`${this.namePrefix}-${this.started}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
