/**
 * Commands the responder prints for a human to paste (release steps in alerts, the release
 * CLI). A command is an argv array rendered here and nowhere else: every argument is
 * quoted, so the shell sees exactly the words intended whatever they contain. The values in
 * them must still pass their syntax first (`invalidAmong` in identifiers.ts): quoting makes
 * a hostile value harmless, validation keeps it out of a command at all.
 */
import { quote } from 'shlex';
import { invalidAmong, type Expected } from './identifiers.js';

/** One command line: each argument quoted for a POSIX shell, joined with spaces. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(quote).join(' ');
}

/** Between commands run one after another on one line (a release text is a single line). */
export const COMMAND_SEPARATOR = '; ';

/** Commands ready to print, or why they may not be: a value lacked its syntax. */
export type Printed = { commands: string[] } | { invalid: string };

/**
 * Render the commands `build` makes, but only when every value they use has its syntax;
 * `build` runs only then, so a command never holds a value that was refused.
 */
export function printCommands(
  expected: readonly Expected[],
  build: () => readonly (readonly string[])[],
): Printed {
  const invalid = invalidAmong(expected);
  return invalid === undefined ? { commands: build().map(shellCommand) } : { invalid };
}
