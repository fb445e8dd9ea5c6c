/**
 * Verification of EKS-style bearer tokens the way the EKS authenticator does it, but
 * offline: instead of forwarding the presigned URL to STS, the SigV4 signature is
 * recomputed with the test principal's secret key.
 */
import { timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

const TOKEN_PREFIX = 'k8s-aws-v1.';
const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
const REQUIRED_SIGNED_HEADERS = `host;${CLUSTER_ID_HEADER}`;
const MAX_EXPIRES_SECONDS = 60;
// A token dated further ahead than this was not signed by a sane clock.
const MAX_CLOCK_SKEW_MS = 5 * 60_000;
const STS_HOST = /^sts(?:\.([a-z]{2}(?:-[a-z]+)+-\d{1,2}))?\.amazonaws\.com$/;
const QUERY_NAMES = new Set([
  'Action',
  'Version',
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Security-Token',
  'X-Amz-Signature',
]);

/** An IAM principal the webhook knows, and the Kubernetes identity it maps to. */
export interface Principal {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  username: string;
  uid: string;
  groups: string[];
}

/** What a token must be bound to, and who may present one. */
export interface TokenPolicy {
  clusterId: string;
  principals: Principal[];
}

export type TokenVerdict = { ok: true; principal: Principal } | { ok: false; reason: string };

const reject = (reason: string): TokenVerdict => ({ ok: false, reason });

/** Checks an EKS token against the policy at time `now`. */
export async function verifyEksToken(
  token: string,
  policy: TokenPolicy,
  now: Date = new Date(),
): Promise<TokenVerdict> {
  const url = decodeToken(token);
  if (!url) return reject('not a k8s-aws-v1 token');
  const host = STS_HOST.exec(url.hostname);
  if (url.protocol !== 'https:' || !host || url.port || url.username || url.hash) {
    return reject('not an STS URL');
  }
  if (url.pathname !== '/') return reject('unexpected path');
  const query = singleValuedQuery(url.searchParams);
  if (!query) return reject('unexpected or repeated query parameters');
  if (query.get('Action') !== 'GetCallerIdentity' || query.get('Version') !== '2011-06-15') {
    return reject('not a GetCallerIdentity request');
  }
  if (query.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return reject('not SigV4');
  if (query.get('X-Amz-SignedHeaders') !== REQUIRED_SIGNED_HEADERS) {
    return reject(`signed headers must be ${REQUIRED_SIGNED_HEADERS}`);
  }
  const timing = checkTiming(query.get('X-Amz-Date'), query.get('X-Amz-Expires'), now);
  if (typeof timing === 'string') return reject(timing);
  const scope = parseCredential(query.get('X-Amz-Credential'));
  if (!scope) return reject('malformed credential scope');
  if (scope.date !== query.get('X-Amz-Date')?.slice(0, 8)) return reject('scope date mismatch');
  if (scope.region !== (host[1] ?? 'us-east-1')) return reject('scope region is not the host');
  const principal = policy.principals.find((p) => p.accessKeyId === scope.accessKeyId);
  if (!principal) return reject('unknown access key');
  const sessionToken = query.get('X-Amz-Security-Token');
  if (sessionToken !== principal.sessionToken) return reject('session token mismatch');
  const expected = await expectedSignature(url.hostname, scope.region, principal, policy, timing);
  const given = query.get('X-Amz-Signature') ?? '';
  if (!sameText(given, expected)) {
    return reject('signature does not verify (wrong secret, or minted for another cluster)');
  }
  return { ok: true, principal };
}

function decodeToken(token: string): URL | undefined {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  const encoded = token.slice(TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return undefined;
  try {
    return new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function singleValuedQuery(params: URLSearchParams): Map<string, string> | undefined {
  const query = new Map<string, string>();
  for (const [name, value] of params) {
    if (!QUERY_NAMES.has(name) || query.has(name)) return undefined;
    query.set(name, value);
  }
  return query;
}

interface Timing {
  signingDate: Date;
  expiresIn: number;
}

function checkTiming(
  amzDate: string | undefined,
  expires: string | undefined,
  now: Date,
): Timing | string {
  const parts = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate ?? '');
  const signingDate = parts
    ? new Date(`${parts[1]}-${parts[2]}-${parts[3]}T${parts[4]}:${parts[5]}:${parts[6]}Z`)
    : undefined;
  if (!signingDate || Number.isNaN(signingDate.getTime())) return 'malformed X-Amz-Date';
  if (!/^\d{1,4}$/.test(expires ?? '')) return 'malformed X-Amz-Expires';
  const expiresIn = Number(expires);
  if (expiresIn < 1 || expiresIn > MAX_EXPIRES_SECONDS) {
    return `X-Amz-Expires must be 1..${MAX_EXPIRES_SECONDS}`;
  }
  if (signingDate.getTime() + expiresIn * 1000 < now.getTime()) return 'token expired';
  if (signingDate.getTime() - now.getTime() > MAX_CLOCK_SKEW_MS) return 'token dated in the future';
  return { signingDate, expiresIn };
}

function parseCredential(credential: string | undefined) {
  const parts = /^([A-Z0-9]{16,128})\/(\d{8})\/([a-z0-9-]+)\/sts\/aws4_request$/.exec(
    credential ?? '',
  );
  if (!parts?.[1] || !parts[2] || !parts[3]) return undefined;
  return { accessKeyId: parts[1], date: parts[2], region: parts[3] };
}

/**
 * Re-signs the request the token claims to be. Written apart from `shared/eks-token.ts` on
 * purpose: this is the oracle the product's token code is tested against, and calling that
 * code here would let a signing bug pass its own check.
 */
async function expectedSignature(
  hostname: string,
  region: string,
  principal: Principal,
  policy: TokenPolicy,
  timing: Timing,
): Promise<string> {
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: principal.accessKeyId,
      secretAccessKey: principal.secretAccessKey,
      sessionToken: principal.sessionToken,
    },
    region,
    service: 'sts',
    sha256: Hash.bind(null, 'sha256'),
  });
  // The cluster id is not in the URL: signing the expected one binds the token to this cluster.
  const presigned = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, [CLUSTER_ID_HEADER]: policy.clusterId },
    },
    { signingDate: timing.signingDate, expiresIn: timing.expiresIn },
  );
  const signature = presigned.query?.['X-Amz-Signature'];
  return typeof signature === 'string' ? signature : '';
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
