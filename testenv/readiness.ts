/** Bounded waits for services to answer, failing fast when the service has exited. */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestenvError, tailOf } from './exec.js';
import { isRunning, type ServiceRecord } from './processes.js';

/** The answer of one HTTP probe. */
export interface ProbeResponse {
  status: number;
  body: string;
}

/** One HTTP(S) request with a short timeout; rejects on connection errors. */
export function probe(
  url: string,
  options: RequestOptions & { body?: string } = {},
): Promise<ProbeResponse> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { timeout: 2_000, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Polls `ready` until it returns true. Fails with the service's log tail when the service
 * exits or the time runs out.
 */
export async function waitUntilReady(
  service: ServiceRecord,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    if (!isRunning(service.pid)) {
      throw new TestenvError(
        `${service.name} exited while starting; log: ${service.logFile}\n${tailOf(service.logFile)}`,
      );
    }
    try {
      if (await ready()) return;
      lastProblem = 'not ready yet';
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    await sleep(200);
  }
  throw new TestenvError(
    `${service.name} was not ready on port ${service.port} within ${timeoutMs / 1000} s ` +
      `(${lastProblem}); log: ${service.logFile}\n${tailOf(service.logFile)}`,
  );
}
