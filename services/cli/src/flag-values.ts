import { isCalendarDay } from "@agg/protocol";
import { UsageError } from "./usage-error";

/*
 * Checks of flag values shared by the commands. Each message starts with the
 * command (stripped when printed), then names the flag and the problem, e.g.
 * `--to "2024-02-30" is not a valid date (expected YYYY-MM-DD)`.
 */

/**
 * A flag that must be given with a non-blank value.
 * @throws {UsageError} `--user is required (a user id)`.
 */
export function requiredFlag(command: string, flag: string, value: string | undefined, what: string): string {
  if (value === undefined || value.trim() === "") {
    throw new UsageError(`${command}: --${flag} is required (${what})`);
  }
  return value;
}

/**
 * A `YYYY-MM-DD` day of the calendar, by the same rule the engine applies
 * (`2024-02-30` and `2024-13-01` are refused).
 * @throws {UsageError} naming the flag.
 */
export function dayFlag(command: string, flag: string, value: string): string {
  if (!isCalendarDay(value)) {
    throw new UsageError(`${command}: --${flag} "${value}" is not a valid date (expected YYYY-MM-DD)`);
  }
  return value;
}

/**
 * `from <= to` when both are given (days compare chronologically as text).
 * @throws {UsageError} `--from 2024-03-05 is after --to 2024-03-01`.
 */
export function assertDayOrder(command: string, from: string | undefined, to: string | undefined): void {
  if (from !== undefined && to !== undefined && from > to) {
    throw new UsageError(`${command}: --from ${from} is after --to ${to}`);
  }
}
