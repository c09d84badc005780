import type { Command } from "../command";
import { grantsCommand } from "./grants";
import { inspectCommand } from "./inspect";
import { migrateCommand } from "./migrate";
import { requestCommand } from "./request";
import { scheduleCommand } from "./schedule";
import { statusCommand } from "./status";
import { summaryCommand } from "./summary";

/** Every `pnpm agg` command, in help order. Register a new command here. */
export const COMMANDS: readonly Command[] = [
  requestCommand,
  statusCommand,
  inspectCommand,
  summaryCommand,
  scheduleCommand,
  migrateCommand,
  grantsCommand,
];
