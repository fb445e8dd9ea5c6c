/**
 * Standard output and error of the command-line tools when their reader may go away:
 * `replay … | head` closes the pipe after a few lines, and Node then fails the next write
 * with EPIPE, which ends the process with a stack trace unless someone listens. A reader
 * that stops reading has chosen to: nothing is wrong, nothing is to be said.
 */

/**
 * Call once at start. A closed pipe on either stream is taken quietly; any other write
 * error on standard output is one line on standard error and exit status 1.
 */
export function quietOnClosedPipes(program: string): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') return;
    process.stderr.write(`${program}: cannot write output: ${error.code ?? error.message}\n`);
    exitWith(1);
  });
  // Nowhere left to report a standard error that cannot be written.
  process.stderr.on('error', () => {});
}

/**
 * True once standard output can take nothing more (its reader closed the pipe, or a write
 * failed): work whose only product is output may stop. Node marks the stream destroyed at
 * the failed write itself, before the error event, so a loop that never yields sees it.
 */
export const outputClosed = (): boolean => process.stdout.destroyed;

/**
 * Set the exit status, never lowering one already set: a failed write may be reported
 * before or after the command's own result.
 */
export function exitWith(status: number): void {
  process.exitCode = Math.max(status, Number(process.exitCode ?? 0));
}
