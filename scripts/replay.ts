/**
 * `npm run -s replay -- [--json] [--policy FILE] <file-or-directory>...`
 * Dry-run replay of sample findings: what the responder would decide, plan and send.
 */
import { readdirSync, readFileSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  defaultPolicy,
  effectivePolicyDocument,
  loadPolicyFile,
  PolicyError,
  type Policy,
} from '../shared/policy.js';
import { formatReport, replayEvent, withResponse, type ReplayRecord } from '../shared/replay.js';
import { containmentRequest } from '../shared/decide.js';
import { cleanText } from '../shared/sanitize.js';
import { exitWith, outputClosed, quietOnClosedPipes } from './cli-output.js';

const USAGE = `usage: npm run -s replay -- [--json] [--policy FILE] [--html FILE] [--live [--kubeconfig FILE]] <file-or-directory>...
       npm run -s replay -- --stream [--json] [--policy FILE] <file-or-directory>...
       npm run -s replay -- --print-policy [--policy FILE]
  --policy        a policy file: only what differs from shared/default-policy.json, laid over it
  --html          also write a browsable report of every file (decision, reason, plan, alert)
  --stream        the inputs, in order, are one stream of deliveries within a budget window,
                  through the router's pipeline (duplicates, STILL ACTIVE updates, budget, alerts)
                  with its state in memory; a dry run, one record or line per delivery
  --live          contain for real (default AWS credential chain; AWS_ENDPOINT_URL honoured; for
                  EKS the kubeconfig's current context), then print each step's outcome and the alert
  --print-policy  print the policy in force (the file laid over the default) as JSON`;

/** Files to replay: each file as given, every *.json of a directory (sorted). */
function expand(paths: string[]): { files: string[]; errors: string[] } {
  const files: string[] = [];
  const errors: string[] = [];
  for (const path of paths) {
    try {
      if (statSync(path).isDirectory()) {
        const names = readdirSync(path)
          .filter((name) => name.endsWith('.json'))
          .sort();
        // Said, not skipped: an empty run would look like every finding was fine.
        if (names.length === 0) errors.push(`replay: ${shownPath(path)} holds no .json file`);
        files.push(...names.map((name) => join(path, name)));
      } else {
        files.push(path);
      }
    } catch (error) {
      errors.push(`replay: cannot read ${shownPath(path)}: ${errorCode(error)}`);
    }
  }
  return { files, errors };
}

const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
};

/** What went wrong with a file, in words, with the system's code for a search (`ENOENT`). */
const errorCode = (error: unknown): string => {
  const { code } = error as NodeJS.ErrnoException;
  if (code === undefined) return (error as Error).message;
  const words = FILE_ERRORS[code];
  return words === undefined ? code : `${words} (${code})`;
};

/** A file name as the terminal may show it: control characters escaped, like any input. */
const shownPath = (path: string): string => cleanText(path, 'path');

function readJson(file: string): { ok: true; value: unknown } | { ok: false; error: string } {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (error) {
    return {
      ok: false,
      error: `replay: cannot read ${shownPath(file)}: ${errorCode(error)}`,
    };
  }
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch (error) {
    // The parser quotes the file's text in its message: sanitize it like any other input.
    return {
      ok: false,
      error: `replay: ${shownPath(file)} is not valid JSON: ${cleanText((error as Error).message, 'short')}`,
    };
  }
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        policy: { type: 'string' },
        live: { type: 'boolean', default: false },
        kubeconfig: { type: 'string' },
        html: { type: 'string' },
        stream: { type: 'boolean', default: false },
        'print-policy': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    process.stderr.write(`replay: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values['print-policy']) {
    const { json, live, kubeconfig, html, stream } = values;
    if (positionals.length > 0 || json || live || stream || (kubeconfig ?? html) !== undefined) {
      process.stderr.write(
        `replay: --print-policy takes no finding file and no other option than --policy\n${USAGE}\n`,
      );
      return 2;
    }
    const policy = policyOrComplaint(values.policy);
    if (policy === undefined) return 2;
    process.stdout.write(`${JSON.stringify(effectivePolicyDocument(policy), null, 2)}\n`);
    return 0;
  }
  if (positionals.length === 0) {
    process.stderr.write(`replay: no finding file or directory given\n${USAGE}\n`);
    return 2;
  }
  if (values.kubeconfig !== undefined && !values.live) {
    process.stderr.write(`replay: --kubeconfig is read only with --live\n${USAGE}\n`);
    return 2;
  }
  if (values.stream && values.live) {
    process.stderr.write(
      `replay: --stream is a dry run and cannot be combined with --live\n${USAGE}\n`,
    );
    return 2;
  }
  const htmlProblem = values.html === undefined ? undefined : reportPathProblem(values.html);
  if (htmlProblem !== undefined) {
    // Before any replay, so that a live containment never runs for a report that cannot be written.
    process.stderr.write(`replay: --html ${htmlProblem}\n`);
    return 2;
  }
  const policy = policyOrComplaint(values.policy);
  if (policy === undefined) return 2;
  const { files, errors } = expand(positionals);
  for (const error of errors) process.stderr.write(`${error}\n`);
  let failed = errors.length > 0;
  if (values.stream) {
    return (await replayStreamOf(files, policy, values)) && !failed ? 0 : 1;
  }
  // Once the reader has gone (`| head`), a dry run without --html would only write to no
  // one; a live containment or an HTML report is still wanted, so those carry on.
  const outputIsTheProduct = !values.live && values.html === undefined;
  const records: ReplayRecord[] = [];
  for (const file of files) {
    if (outputIsTheProduct && outputClosed()) break;
    const read = readJson(file);
    if (!read.ok) {
      process.stderr.write(`${read.error}\n`);
      failed = true;
      continue;
    }
    let { record, evaluation } = replayEvent(file, read.value, policy);
    const request = values.live ? containmentRequest(evaluation, policy) : null;
    if (request !== null) {
      const { containLive } = await import('./live.js');
      const response = await containLive(request, {
        kubeconfig: values.kubeconfig ?? process.env.KUBECONFIG,
      });
      ({ record, evaluation } = withResponse(record, evaluation, response));
      if (record.alert?.subject.includes('CONTAINMENT FAILED')) failed = true;
    }
    records.push(record);
    process.stdout.write(
      values.json ? `${JSON.stringify(record)}\n` : `${formatReport(record, evaluation)}\n`,
    );
  }
  if (!(await writeHtml(values.html, records))) failed = true;
  return failed ? 1 : 0;
}

/** The policy in force (the file laid over the default), or undefined once its problems are said. */
function policyOrComplaint(path: string | undefined): Policy | undefined {
  try {
    return path === undefined ? defaultPolicy() : loadPolicyFile(path);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    process.stderr.write(`replay: ${error.message}\n`);
    return undefined;
  }
}

/** Why no report can be written at `path` (checked before replaying), or undefined. */
function reportPathProblem(path: string): string | undefined {
  if (statOf(path)?.isDirectory())
    return `${shownPath(path)} is a directory: name the report file to write`;
  const folder = dirname(path);
  const folderStat = statOf(folder);
  if (folderStat === undefined)
    return `${shownPath(path)}: the folder ${shownPath(folder)} does not exist`;
  if (!folderStat.isDirectory()) return `${shownPath(path)}: ${shownPath(folder)} is not a folder`;
  return undefined;
}

/** What is at `path`, or undefined when nothing can be found there (missing, or not reachable). */
function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** Write the HTML report when asked; false when it could not be written (said on stderr). */
async function writeHtml(path: string | undefined, records: ReplayRecord[]): Promise<boolean> {
  if (path === undefined) return true;
  const { htmlReport } = await import('../shared/html.js');
  try {
    writeFileSync(path, htmlReport(records, new Date()));
  } catch (error) {
    process.stderr.write(`replay: cannot write ${shownPath(path)}: ${errorCode(error)}\n`);
    return false;
  }
  process.stderr.write(`replay: wrote ${shownPath(path)}\n`);
  return true;
}

/**
 * The files as one stream of deliveries through the router's pipeline. A file that cannot
 * be read is reported and left out of the stream. True when every file could be read
 * (and the report, if asked for, written).
 */
async function replayStreamOf(
  files: string[],
  policy: Policy,
  options: { json?: boolean; html?: string },
): Promise<boolean> {
  const { replayStream, formatStreamLine, streamSummary } =
    await import('../functions/router/stream.js');
  const deliveries = [];
  let allRead = true;
  for (const file of files) {
    const read = readJson(file);
    if (read.ok) deliveries.push({ file, event: read.value });
    else {
      process.stderr.write(`${read.error}\n`);
      allRead = false;
    }
  }
  const records = await replayStream(deliveries, policy);
  for (const record of records) {
    if (outputClosed()) break;
    process.stdout.write(`${options.json ? JSON.stringify(record) : formatStreamLine(record)}\n`);
  }
  if (!options.json) process.stdout.write(`\n${streamSummary(records)}\n`);
  return (await writeHtml(options.html, records)) && allRead;
}

quietOnClosedPipes('replay');
exitWith(await main(process.argv.slice(2)));
