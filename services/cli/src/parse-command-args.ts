import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./usage-error";

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * `node:util` `parseArgs` in strict mode, its errors turned into `UsageError`s
 * with short messages: an unknown flag (a typo such as `--users` for `--user`)
 * must never be ignored.
 */
export function parseCommandArgs<O extends Options>(
  command: string,
  args: readonly string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals });
  } catch (error) {
    throw new UsageError(`${command}: ${describeParseError(error)}`);
  }
}

function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const text = String(message ?? error);
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      const option = /'([^']+)'/.exec(text)?.[1];
      return option ? `unknown option ${option}` : text;
    }
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL": {
      const argument = /'([^']+)'/.exec(text)?.[1];
      return argument ? `unexpected argument ${argument}` : text;
    }
    default:
      return text;
  }
}
