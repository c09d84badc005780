import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { DatabaseUnavailableError } from "../database-unavailable-error";

/**
 * An exclusive claim on a PGlite data directory: the file `<dataDir>.lock`
 * holding the owner's pid. PGlite itself lets two processes open the same
 * directory, and both would write to it; this refuses the second one.
 * A lock left by a process that no longer runs is taken over.
 * @internal
 */
export class DataDirLock {
  /** Lock files this process holds: a file naming our own pid but absent here is stale (a container restarted with the same pid). */
  static readonly #heldHere = new Set<string>();

  readonly #path: string;
  readonly #onExit = () => this.release();
  #held = false;

  private constructor(path: string) {
    this.#path = path;
  }

  /**
   * @throws {DatabaseUnavailableError} when a live process (this one included) holds the directory.
   */
  static acquire(dataDir: string): DataDirLock {
    const lock = new DataDirLock(`${dataDir.replace(/[/\\]+$/, "")}.lock`);
    lock.#take(dataDir);
    return lock;
  }

  #take(dataDir: string): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.#path, "wx");
        try {
          writeSync(fd, String(process.pid));
        } finally {
          closeSync(fd);
        }
        this.#held = true;
        DataDirLock.#heldHere.add(this.#path);
        process.once("exit", this.#onExit);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
          throw new DatabaseUnavailableError(
            `cannot lock the embedded database at ${dataDir}: ${(error as Error).message}`,
            { cause: error },
          );
        }
      }
      const owner = readOwner(this.#path);
      const live =
        owner === process.pid ? DataDirLock.#heldHere.has(this.#path) : owner !== null && isRunning(owner);
      if (live) {
        throw new DatabaseUnavailableError(
          `the embedded database at ${dataDir} is in use by process ${owner}; stop it, or set DATABASE_URL to use PostgreSQL`,
        );
      }
      rmSync(this.#path, { force: true });
    }
    throw new DatabaseUnavailableError(
      `cannot lock the embedded database at ${dataDir}: lock file keeps reappearing`,
    );
  }

  /** Gives the directory up. Idempotent. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    DataDirLock.#heldHere.delete(this.#path);
    process.off("exit", this.#onExit);
    if (readOwner(this.#path) === process.pid) rmSync(this.#path, { force: true });
  }
}

function readOwner(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
