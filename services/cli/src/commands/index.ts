import type { Command } from "../command";
import { migrateCommand } from "./migrate";
import { summaryCommand } from "./summary";

/** Every `pnpm agg` command, in help order. Register a new command here. */
export const COMMANDS: readonly Command[] = [migrateCommand, summaryCommand];
