/**
 * Counting round trips: every HTTP request a containment makes is recorded with its start
 * and end time, through an SDK middleware (inside the retry loop, so a retry is a trip of
 * its own) or a wrapper around the Kubernetes client's HTTP library. The sequential depth
 * is the longest chain of requests where each starts after the previous one ended.
 */
import {
  createConfiguration,
  Observable,
  ServerConfiguration,
  type HttpLibrary,
  type KubeConfig,
} from '@kubernetes/client-node';
import type { FinalizeRequestMiddleware, MiddlewareStack } from '@smithy/types';

export interface Call {
  name: string;
  start: number;
  end: number;
}

export class CallRecorder {
  readonly calls: Call[] = [];

  async record<T>(name: string, call: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await call();
    } finally {
      this.calls.push({ name, start, end: performance.now() });
    }
  }

  clear(): void {
    this.calls.length = 0;
  }
}

/** Record every HTTP attempt an AWS SDK v3 client makes. */
export function recordSdkCalls<I extends object, O extends object>(
  stack: MiddlewareStack<I, O>,
  recorder: CallRecorder,
): void {
  const middleware: FinalizeRequestMiddleware<I, O> = (next, context) => (args) =>
    recorder.record((context.commandName ?? '?').replace(/Command$/, ''), () => next(args));
  // Default priority sits inside the retry middleware (priority high) of the same step.
  stack.add(middleware, { step: 'finalizeRequest', name: 'benchRoundTrips' });
}

/** `GET pods/{name}`, `POST networkpolicies`: the verb and resource, without the names. */
export function kubeCallName(method: string, url: string): string {
  let parts = new URL(url).pathname.split('/').filter(Boolean);
  // /api/v1/… (core) or /apis/<group>/<version>/…, then namespaces/<ns>/ when namespaced.
  parts = parts.slice(parts[0] === 'apis' ? 3 : 2);
  if (parts[0] === 'namespaces' && parts.length > 2) parts = parts.slice(2);
  const [resource = '?', name, sub] = parts;
  return `${method} ${resource}${name ? '/{name}' : ''}${sub ? `/${sub}` : ''}`;
}

function recordingHttpLibrary(inner: HttpLibrary, recorder: CallRecorder): HttpLibrary {
  return {
    send: (request) =>
      new Observable(
        recorder.record(kubeCallName(request.getHttpMethod(), request.getUrl()), () =>
          inner.send(request).toPromise(),
        ),
      ),
  };
}

/**
 * API clients as `kc.makeApiClient` builds them (same server, same authentication), with
 * the default HTTP library wrapped so each request is recorded.
 */
export function recordingApiClient<T>(
  kc: KubeConfig,
  api: new (configuration: ReturnType<typeof createConfiguration>) => T,
  recorder: CallRecorder,
): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const options = {
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
  };
  const httpApi = recordingHttpLibrary(createConfiguration(options).httpApi, recorder);
  return new api(createConfiguration({ ...options, httpApi }));
}

export interface CallAnalysis {
  /** Requests made in all. */
  requests: number;
  /** Longest chain of requests that each started after the previous one ended. */
  sequentialDepth: number;
  /** Requests grouped by their position in the longest chain that ends with them. */
  waves: string[][];
}

export function analyse(calls: readonly Call[]): CallAnalysis {
  const sorted = [...calls].sort((a, b) => a.start - b.start);
  const level: number[] = [];
  sorted.forEach((call, j) => {
    let deepest = 0;
    for (let i = 0; i < j; i += 1) {
      if (sorted[i]!.end <= call.start) deepest = Math.max(deepest, level[i]!);
    }
    level.push(deepest + 1);
  });
  const depth = Math.max(0, ...level);
  const waves = Array.from({ length: depth }, (_, w) =>
    sorted.filter((_, i) => level[i] === w + 1).map((call) => call.name),
  );
  return { requests: calls.length, sequentialDepth: depth, waves };
}
