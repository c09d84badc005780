/** A JSON-lines logger with pino's line format (`level`, `time`, `msg`), for a service that logs a handful of lines. */
export interface JsonLog {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

const LEVELS = { info: 30, warn: 40, error: 50 } as const;

/**
 * Writes one JSON object per line to `out` (default stdout), pino's numeric
 * levels, so the inspector's lines read like the engine's.
 *
 * @example
 * ```ts
 * const log = createJsonLog({ name: "agg-inspector" });
 * log.info({ url: "http://127.0.0.1:4800/" }, "inspector listening");
 * ```
 */
export function createJsonLog(
  base: Record<string, unknown> = {},
  out: { write(line: string): unknown } = process.stdout,
): JsonLog {
  const write = (level: keyof typeof LEVELS, fields: Record<string, unknown>, msg: string) => {
    const err =
      fields.err instanceof Error ? { err: { type: fields.err.name, message: fields.err.message } } : {};
    out.write(
      `${JSON.stringify({ level: LEVELS[level], time: Date.now(), ...base, ...fields, ...err, msg })}\n`,
    );
  };
  return {
    info: (fields, msg) => write("info", fields, msg),
    warn: (fields, msg) => write("warn", fields, msg),
    error: (fields, msg) => write("error", fields, msg),
  };
}

/** A logger that writes nothing (tests). */
export const silentLog: JsonLog = { info: () => undefined, warn: () => undefined, error: () => undefined };
