/**
 * The kube-apiserver token webhook of the test environment, run as its own process by `up`:
 * `node --import tsx testenv/token-webhook.ts <config.json>`. It answers TokenReview
 * requests (authentication.k8s.io/v1) for EKS-style tokens; anything else is unauthenticated.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { verifyEksToken, type TokenPolicy } from './token-review.js';

/** The file `up` writes for the webhook. */
export interface TokenWebhookConfig extends TokenPolicy {
  port: number;
}

const MAX_BODY_BYTES = 64 * 1024;

interface TokenReviewRequest {
  apiVersion?: string;
  spec?: { token?: unknown };
}

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function review(config: TokenWebhookConfig, body: string) {
  const request = JSON.parse(body) as TokenReviewRequest;
  const apiVersion = request.apiVersion ?? 'authentication.k8s.io/v1';
  const token = request.spec?.token;
  const verdict =
    typeof token === 'string'
      ? await verifyEksToken(token, config)
      : { ok: false as const, reason: 'no token' };
  if (!verdict.ok) {
    log(`denied: ${verdict.reason}`);
    return {
      apiVersion,
      kind: 'TokenReview',
      status: { authenticated: false, error: verdict.reason },
    };
  }
  const { username, uid, groups } = verdict.principal;
  log(`authenticated ${username} groups=${groups.join(',')}`);
  return {
    apiVersion,
    kind: 'TokenReview',
    status: { authenticated: true, user: { username, uid, groups } },
  };
}

async function handle(config: TokenWebhookConfig, req: IncomingMessage, res: ServerResponse) {
  if (req.method === 'GET' && req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
    return;
  }
  if (req.method !== 'POST') {
    reply(res, 405, { error: 'POST a TokenReview' });
    return;
  }
  try {
    reply(res, 200, await review(config, await readBody(req)));
  } catch (error) {
    log(`bad request: ${error instanceof Error ? error.message : String(error)}`);
    reply(res, 400, { error: 'malformed TokenReview' });
  }
}

function main(): void {
  const configFile = process.argv[2];
  if (!configFile) throw new Error('usage: token-webhook.ts <config.json>');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as TokenWebhookConfig;
  const server = createServer((req, res) => void handle(config, req, res));
  server.listen(config.port, '127.0.0.1', () => log(`listening on 127.0.0.1:${config.port}`));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      server.close(() => process.exit(0));
      // kube-apiserver keeps its connection open; without this, close() would wait for it.
      server.closeAllConnections();
    });
  }
}

main();
