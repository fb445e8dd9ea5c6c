/**
 * A page of a namespace's pods, reduced to their identities while the answer streams in
 * (`pod-identities.ts`), over the kubeconfig's own TLS and credentials. The typed client
 * reads a whole page into memory several times over (bytes, text, parsed JSON, typed
 * objects), and a pod may be about 1.5 MB: this keeps a page's cost to what identifies
 * its pods.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import { podListReader, type PodIdentityPage } from './pod-identities.js';

export interface PodListParams {
  namespace: string;
  limit: number;
  continue?: string;
  /** Only `spec.nodeName=<node>` is sent. */
  fieldSelector?: string;
}

export interface PodScan {
  listPodIdentities(params: PodListParams): Promise<PodIdentityPage>;
}

/**
 * How long one page may take, answer included. The function has 60 s in all; a page of
 * ordinary pods takes milliseconds, one of 1.5 MB pods well under a second.
 */
export const POD_PAGE_TIMEOUT_MS = 20_000;
// An error answer is a short Status; a proxy in front of the API server may send a page.
const MAX_ERROR_BODY = 64 * 1024;

/** The list URL under the cluster's server (which may carry a path, behind a proxy). */
export function podListUrl(server: string, params: PodListParams): URL {
  const url = new URL(
    `${server.replace(/\/+$/, '')}/api/v1/namespaces/${encodeURIComponent(params.namespace)}/pods`,
  );
  url.searchParams.set('limit', String(params.limit));
  if (params.continue !== undefined) url.searchParams.set('continue', params.continue);
  if (params.fieldSelector !== undefined) {
    url.searchParams.set('fieldSelector', params.fieldSelector);
  }
  return url;
}

const isSuccess = (status: number): boolean => status >= 200 && status < 300;

/** The first MAX_ERROR_BODY characters of an answer; the rest is read and dropped. */
async function boundedText(response: IncomingMessage): Promise<string> {
  response.setEncoding('utf8');
  let text = '';
  for await (const chunk of response as AsyncIterable<string>) {
    if (text.length < MAX_ERROR_BODY) text += chunk.slice(0, MAX_ERROR_BODY - text.length);
  }
  return text;
}

const headersOf = (response: IncomingMessage): Record<string, string> =>
  Object.fromEntries(
    Object.entries(response.headers).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.join(', ') : (value ?? ''),
    ]),
  );

/**
 * A failed answer as the typed client reports it (`httpStatusOf`, `kubeFailure` read it
 * the same way): the Status body as text; none for 401, as the client does.
 */
async function apiFailure(response: IncomingMessage): Promise<ApiException<string | undefined>> {
  const code = response.statusCode ?? 0;
  const body = await boundedText(response);
  return code === 401
    ? new ApiException(code, 'Unauthorized', undefined, headersOf(response))
    : new ApiException(code, 'Unknown API Status Code!', body, headersOf(response));
}

/** The identities on one page, read as the answer arrives. */
async function readPage(response: IncomingMessage): Promise<PodIdentityPage> {
  // Decodes UTF-8 across chunk boundaries before the tokenizer sees text.
  response.setEncoding('utf8');
  const reader = podListReader();
  for await (const text of response as AsyncIterable<string>) reader.write(text);
  return reader.end();
}

function send(url: URL, options: RequestOptions): Promise<IncomingMessage> {
  const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    request(url, options, resolve).on('error', reject).end();
  });
}

/** Pod pages for the kubeconfig's current cluster and user, each bounded by `timeoutMs`. */
export function streamingPodScan(kc: KubeConfig, timeoutMs = POD_PAGE_TIMEOUT_MS): PodScan {
  return {
    async listPodIdentities(params) {
      const cluster = kc.getCurrentCluster();
      if (!cluster) throw new Error('the kubeconfig has no current cluster');
      // The abort ends the request and, once it has come, the answer's stream.
      const options: RequestOptions = {
        method: 'GET',
        headers: { Accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      };
      await kc.applyToHTTPSOptions(options);
      const response = await send(podListUrl(cluster.server, params), options);
      if (!isSuccess(response.statusCode ?? 0)) throw await apiFailure(response);
      return readPage(response);
    },
  };
}
