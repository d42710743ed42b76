import { CommanderError, type Command } from 'commander';
import { UserError } from '../util/errors.js';

/**
 * Parse a subcommand's argv with commander, the same way for every command: `--help` prints and returns
 * false (the caller returns); a bad flag becomes one line, "skiff NAME: what is wrong", and exit code 2.
 */
export function parseArgs(cmd: Command, argv: string[]): boolean {
  cmd.exitOverride().configureOutput({ outputError: () => undefined });
  try {
    cmd.parse(argv, { from: 'user' });
    return true;
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.exitCode === 0) return false;
    throw new UserError(`${cmd.name()}: ${err.message.replace(/^error: /, '')}`, 2);
  }
}
