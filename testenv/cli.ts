/**
 * `npm run testenv -- <command>`: prepare | up | down | status.
 * `up` prints only `export` lines on stdout, so `eval "$(npm run -s testenv -- up)"` works;
 * progress and errors go to stderr.
 */
import { layout } from './config.js';
import { progress, TestenvError } from './exec.js';
import { down, shellExports, status, up } from './lifecycle.js';
import { prepare } from './prepare.js';
import { withLock } from './state.js';

const USAGE = `usage: npm run testenv -- <command>
  prepare   fetch and build what the environment runs (idempotent; installs Debian build tools as root)
  up        start moto, etcd, kube-apiserver and the token webhook; print shell exports
  down      stop every process up started
  status    show what runs`;

async function main(command: string): Promise<number> {
  const paths = layout();
  switch (command) {
    case 'prepare': {
      const started = Date.now();
      await withLock(paths, () => prepare(paths));
      progress(
        `prepared in ${((Date.now() - started) / 1000).toFixed(1)} s (cache ${paths.cache})`,
      );
      return 0;
    }
    case 'up': {
      const { env } = await up(paths);
      process.stdout.write(`${shellExports(env)}\n`);
      return 0;
    }
    case 'down':
      await down(paths);
      return 0;
    case 'status': {
      const report = await status(paths);
      process.stdout.write(`${report.lines.join('\n')}\n`);
      return report.healthy ? 0 : 1;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return command === 'help' ? 0 : 2;
  }
}

main(process.argv[2] ?? 'help').then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message =
      error instanceof TestenvError
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
    process.stderr.write(`[testenv] error: ${message}\n`);
    process.exitCode = 1;
  },
);
