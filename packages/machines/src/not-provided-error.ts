/**
 * Thrown by the placeholder implementation of an injected actor or action when
 * the engine forgot to supply the real one with `machine.provide(...)`.
 *
 * The machines are pure: every piece of I/O is injected. A placeholder that
 * throws (instead of silently doing nothing) makes a wiring mistake fail the
 * first time it is exercised, with the name of what is missing.
 *
 * @example
 * ```ts
 * const planJob = fromPromise<JobPlan, PlanJobInput>(async () => {
 *   throw new NotProvidedError("actor", "planJob");
 * });
 * ```
 */
export class NotProvidedError extends Error {
  override readonly name = "NotProvidedError";
  readonly code = "NOT_PROVIDED";

  constructor(
    readonly kind: "actor" | "action",
    readonly implementation: string,
  ) {
    super(`${kind} "${implementation}" not provided: supply it with machine.provide({ ${kind}s: { ... } })`);
  }
}
