/**
 * The streaming reader of pod list pages (functions/isolate-pod/pod-identities.ts): only a
 * pod's name, namespace, uid, node and the container ids its status reports count, found
 * at their exact paths, whatever the workload owner writes elsewhere and however the
 * answer is cut into pieces.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { KubeConfig } from '@kubernetes/client-node';
import { getManyValues, isMany } from 'stream-chain/defs.js';
import { jsonParser, type Token } from 'stream-json/core/parser.js';
import { afterEach, describe, expect, it } from 'vitest';
import { httpStatusOf, kubeFailure } from '../../functions/isolate-pod/kube.js';
import {
  MAX_CONTINUE_CHARS,
  MAX_IDENTITY_CHARS,
  MAX_PIECE,
  podListReader,
  TOKENIZER_OPTIONS,
  type PodIdentityPage,
} from '../../functions/isolate-pod/pod-identities.js';
import { podListUrl, streamingPodScan } from '../../functions/isolate-pod/pod-scan.js';

type Json = Record<string, unknown>;

const ID = 'containerd://' + 'a'.repeat(64);
const OTHER_ID = 'containerd://' + 'b'.repeat(64);

/** A pod as the API server lists it, running `containerId` unless told otherwise. */
function pod(
  name: string,
  extra: { containerId?: string; annotations?: Record<string, string> } = {},
): Json {
  return {
    metadata: {
      name,
      namespace: 'inventory',
      uid: `uid-${name}`,
      labels: { app: name },
      annotations: extra.annotations,
    },
    spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'app:1' }] },
    status: {
      phase: 'Running',
      containerStatuses: [
        { name: 'app', containerID: extra.containerId ?? ID, ready: true, restartCount: 0 },
      ],
    },
  };
}

const list = (items: Json[], metadata: Json = {}): string =>
  JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata, items });

/** The text in pieces of `size` characters. */
function readInPieces(text: string, size: number): PodIdentityPage {
  const reader = podListReader();
  for (let at = 0; at < text.length; at += size) reader.write(text.slice(at, at + size));
  return reader.end();
}

const read = (text: string): PodIdentityPage => readInPieces(text, 64 * 1024);

const identity = (name: string, containerIds = [ID]) => ({
  name,
  namespace: 'inventory',
  uid: `uid-${name}`,
  nodeName: 'node-1',
  containerIds,
});

describe('pod list reader', () => {
  it('keeps each pod identity with its container ids (regular, init, ephemeral) and the continue token', () => {
    const mixed = pod('mixed');
    mixed.status = {
      containerStatuses: [{ containerID: ID }, { containerID: '' }, { name: 'waiting' }],
      initContainerStatuses: [{ containerID: OTHER_ID }],
      ephemeralContainerStatuses: [{ containerID: 'docker://' + 'c'.repeat(64) }],
    };
    const page = read(
      list([pod('a'), mixed, pod('b', { containerId: OTHER_ID })], {
        resourceVersion: '42',
        continue: 'eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ',
        remainingItemCount: 3,
      }),
    );
    expect(page).toEqual({
      items: [
        identity('a'),
        identity('mixed', [ID, OTHER_ID, 'docker://' + 'c'.repeat(64)]),
        identity('b', [OTHER_ID]),
      ],
      continue: 'eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ',
    });
  });

  it('the last page has no continue token (absent or empty); an empty list has no pods', () => {
    expect(read(list([pod('a')], { continue: '' }))).toEqual({ items: [identity('a')] });
    expect(read(list([]))).toEqual({ items: [] });
    expect(read('{"kind":"PodList","metadata":{},"items":null}')).toEqual({ items: [] });
  });

  it('skips a 4 MB annotation and env value, and strings reach the reader in pieces of at most MAX_PIECE characters', () => {
    const big = pod('big', { annotations: { blob: 'x'.repeat(4 * 1024 * 1024), [ID]: ID } });
    (big.spec as Json).containers = [{ name: 'app', env: [{ name: 'E', value: 'y'.repeat(1e6) }] }];
    const text = list([big, pod('a')]);
    expect(read(text).items).toEqual([identity('big'), identity('a')]);

    // What the reader does: the text to the tokenizer in pieces of at most MAX_PIECE.
    const tokenize = jsonParser(TOKENIZER_OPTIONS);
    const tokens: Token[] = [];
    for (let at = 0; at < text.length; at += MAX_PIECE) {
      const output = tokenize(text.slice(at, at + MAX_PIECE));
      if (isMany(output)) tokens.push(...getManyValues<Token>(output));
    }
    const longest = Math.max(
      ...tokens.map((token) =>
        'value' in token && typeof token.value === 'string' ? token.value.length : 0,
      ),
    );
    expect(longest).toBeLessThanOrEqual(MAX_PIECE);
    expect(tokens.some((token) => token.name === 'stringValue' || token.name === 'keyValue')).toBe(
      false,
    );
  });

  it('a containerID anywhere but a status list of an item does not count', () => {
    const decoy = pod('decoy', { containerId: OTHER_ID });
    decoy.metadata = {
      name: 'decoy',
      namespace: 'inventory',
      uid: 'uid-decoy',
      labels: { containerID: ID },
      annotations: {
        containerID: ID,
        // Status JSON written into an annotation is a string, not a status.
        status: JSON.stringify({ containerStatuses: [{ containerID: ID }] }),
      },
      containerStatuses: [{ containerID: ID }],
    };
    decoy.spec = {
      nodeName: 'node-1',
      containerID: ID,
      containers: [
        { name: 'app', containerID: ID, status: { containerStatuses: [{ containerID: ID }] } },
      ],
      status: { containerStatuses: [{ containerID: ID }] },
    };
    decoy.status = {
      containerID: ID,
      containerStatuses: [
        {
          containerID: OTHER_ID,
          state: { running: { containerID: ID } },
          lastState: { containerID: ID },
        },
        [{ containerID: ID }],
      ],
      // An object, not a list of statuses.
      initContainerStatuses: { containerID: ID },
      podIPs: [{ containerStatuses: [{ containerID: ID }] }],
    };
    decoy.containerStatuses = [{ containerID: ID }];
    const text = JSON.stringify({
      kind: 'PodList',
      containerStatuses: [{ containerID: ID }],
      metadata: { name: 'list', uid: 'x', items: [pod('not-an-item')] },
      status: { containerStatuses: [{ containerID: ID }] },
      items: [decoy],
      more: { items: [pod('nested-not-an-item')] },
    });
    expect(read(text).items).toEqual([identity('decoy', [OTHER_ID])]);
  });

  it('a name, namespace or uid from outside the item metadata does not name the pod', () => {
    const inAnnotations = pod('x');
    inAnnotations.metadata = { annotations: { name: 'a', namespace: 'b', uid: 'c' } };
    const inSpec = pod('y');
    inSpec.metadata = { name: 'y', namespace: 'inventory' };
    inSpec.spec = { uid: 'uid-y', nodeName: 'node-1' };
    expect(read(list([inAnnotations, inSpec])).items).toEqual([]);
  });

  it('decodes escapes and unicode in values and keys (an escaped key is the same key)', () => {
    const text =
      '{"items":[{"metadata":{"n\\u0061me":"w\\u00e9b-\\"q\\"\\\\\\/\\ud83d\\ude00","namespace":"\\u006es",' +
      '"uid":"\\t\\u0000"},"status":{"containerStatuses":[{"contain\\u0065rID":"containerd:\\/\\/x"}]}}]}';
    expect(read(text).items).toEqual([
      {
        name: 'wéb-"q"\\/😀',
        namespace: 'ns',
        uid: '\t\u0000',
        containerIds: ['containerd://x'],
      },
    ]);
    // Raw (unescaped) unicode too.
    expect(read(list([pod('ünï-😀')])).items).toEqual([identity('ünï-😀')]);
  });

  it('cut at every character (inside keys, strings and escapes) and at every byte of UTF-8, reads the same', () => {
    const hostile = pod('esc-"\\\u00e9😀', {
      annotations: {
        'note\u2028': '\u0001"\\/'.repeat(50),
        nested: JSON.stringify({ a: [{ b: ID }] }),
      },
    });
    const text = list([hostile, pod('a')], { continue: 'tok\u00e9n' });
    const whole = read(text);
    expect(whole.items.map((item) => item.name)).toEqual(['esc-"\\\u00e9😀', 'a']);
    expect(whole.continue).toBe('tok\u00e9n');
    expect(readInPieces(text, 1)).toEqual(whole);
    expect(readInPieces(text, 3)).toEqual(whole);

    // As the answer's bytes arrive, decoded like the response stream does (setEncoding).
    const bytes = Buffer.from(text, 'utf8');
    const decoder = new StringDecoder('utf8');
    const reader = podListReader();
    for (const byte of bytes) reader.write(decoder.write(Buffer.of(byte)));
    reader.write(decoder.end());
    expect(reader.end()).toEqual(whole);
  });

  it('a too-long name, namespace or uid skips the pod; a too-long container id does not count; a too-long node is left out', () => {
    const long = 'n'.repeat(MAX_IDENTITY_CHARS + 1);
    const named = (field: string) => {
      const p = pod(field);
      (p.metadata as Json)[field] = long;
      return p;
    };
    const longNode = pod('long-node');
    (longNode.spec as Json).nodeName = long;
    const longId = pod('long-id', {
      containerId: 'containerd://' + 'a'.repeat(MAX_IDENTITY_CHARS),
    });
    const longest = pod('longest');
    (longest.metadata as Json).name = 'm'.repeat(MAX_IDENTITY_CHARS);
    const page = read(
      list([named('name'), named('namespace'), named('uid'), longNode, longId, longest]),
    );
    expect(page.items).toEqual([
      { name: 'long-node', namespace: 'inventory', uid: 'uid-long-node', containerIds: [ID] },
      identity('long-id', []),
      { ...identity('longest'), name: 'm'.repeat(MAX_IDENTITY_CHARS) },
    ]);
  });

  it('a pod without name, namespace or uid, or with a non-string one, is skipped', () => {
    const noUid = pod('no-uid');
    delete (noUid.metadata as Json).uid;
    const numberName = pod('n');
    (numberName.metadata as Json).name = 12;
    const objectNamespace = pod('o');
    (objectNamespace.metadata as Json).namespace = { name: 'inventory' };
    expect(read(list([noUid, numberName, objectNamespace, pod('a')])).items).toEqual([
      identity('a'),
    ]);
  });

  it('a continue token longer than any real one fails the page rather than ending the scan early', () => {
    const token = 'c'.repeat(MAX_CONTINUE_CHARS);
    expect(read(list([], { continue: token })).continue).toBe(token);
    expect(() => read(list([], { continue: token + 'c' }))).toThrow(/continue token/);
  });

  it('an answer that stops short, is not JSON, or has more after the list fails', () => {
    const text = list([pod('a')]);
    expect(() => read(text.slice(0, -1))).toThrow();
    expect(() => read(text.slice(0, text.indexOf('containerID')))).toThrow();
    expect(() => read('<html>proxy error</html>')).toThrow();
    expect(() => read(`${text}{}`)).toThrow();
    expect(() => read('')).toThrow();
  });

  it('deep nesting where nothing is kept is followed, not kept', () => {
    const depth = 20_000;
    const deep =
      '{"items":[{"metadata":{"name":"deep","namespace":"inventory","uid":"uid-deep"},"spec":{"extra":' +
      '{"containerStatuses":['.repeat(depth) +
      `{"containerID":"${ID}"}` +
      ']}'.repeat(depth) +
      `},"status":{"containerStatuses":[{"containerID":"${OTHER_ID}"}]}}]}`;
    expect(read(deep).items).toEqual([
      { name: 'deep', namespace: 'inventory', uid: 'uid-deep', containerIds: [OTHER_ID] },
    ]);
  });
});

describe('pod pages over HTTP', () => {
  let server: Server | undefined;
  afterEach(
    () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  );

  /** A kubeconfig for a local plain-HTTP server answering with `listener`, and the requests it saw. */
  async function serve(listener: RequestListener): Promise<{ kc: KubeConfig; urls: string[] }> {
    const urls: string[] = [];
    server = createServer((req, res) => {
      urls.push(req.url ?? '');
      expect(req.headers.authorization).toBe('Bearer t0ken');
      listener(req, res);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const kc = new KubeConfig();
    kc.loadFromClusterAndUser(
      // Plain HTTP needs skipTLSVerify in client-node; the real cluster is https.
      { name: 'local', server: `http://127.0.0.1:${port}/prefix/`, skipTLSVerify: true },
      { name: 'isolate-pod', token: 't0ken' },
    );
    return { kc, urls };
  }

  it('builds the list URL under the server, with the paging and node parameters encoded', () => {
    expect(
      podListUrl('https://example.com:6443/k8s/', {
        namespace: 'ns',
        limit: 50,
        continue: 'a+b/c=',
        fieldSelector: 'spec.nodeName=ip-10-0-0-1.ec2.internal',
      }).href,
    ).toBe(
      'https://example.com:6443/k8s/api/v1/namespaces/ns/pods?limit=50&continue=a%2Bb%2Fc%3D&fieldSelector=spec.nodeName%3Dip-10-0-0-1.ec2.internal',
    );
  });

  it('reads a page sent in small chunks, with the credentials of the kubeconfig', async () => {
    const text = list([pod('a'), pod('b', { containerId: OTHER_ID })], { continue: 'next' });
    const { kc, urls } = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const bytes = Buffer.from(text);
      for (let at = 0; at < bytes.length; at += 7) res.write(bytes.subarray(at, at + 7));
      res.end();
    });
    const page = await streamingPodScan(kc).listPodIdentities({
      namespace: 'inventory',
      limit: 50,
    });
    expect(page).toEqual({ items: [identity('a'), identity('b', [OTHER_ID])], continue: 'next' });
    expect(urls).toEqual(['/prefix/api/v1/namespaces/inventory/pods?limit=50']);
  });

  it('a 403 is an ApiException the way the typed client throws it: kubeFailure names the permission', async () => {
    const status = {
      kind: 'Status',
      status: 'Failure',
      reason: 'Forbidden',
      message:
        'pods is forbidden: User "isolate-pod" cannot list resource "pods" in API group "" in the namespace "inventory"',
      code: 403,
    };
    const { kc } = await serve((_req, res) => {
      res.writeHead(403, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(status));
    });
    const error = await streamingPodScan(kc)
      .listPodIdentities({ namespace: 'inventory', limit: 50 })
      .catch((e: unknown) => e);
    expect(httpStatusOf(error)).toBe(403);
    expect(kubeFailure(error)).toEqual({
      name: 'Forbidden',
      message: status.message,
      body: status.message,
      code: 403,
    });
  });

  it('a 401 and a proxy error page are classified by their status', async () => {
    let code = 401;
    const { kc } = await serve((_req, res) => {
      res.writeHead(code, { 'Content-Type': 'text/html' });
      res.end('<html>' + 'x'.repeat(200_000) + '</html>');
    });
    const scan = streamingPodScan(kc);
    const fail = () =>
      scan.listPodIdentities({ namespace: 'inventory', limit: 50 }).catch((e: unknown) => e);
    expect(kubeFailure(await fail())).toMatchObject({ code: 401, name: 'HTTP 401' });
    code = 502;
    const bad = await fail();
    expect(httpStatusOf(bad)).toBe(502);
    expect(kubeFailure(bad)).toMatchObject({ name: 'HTTP 502', message: 'HTTP 502' });
  });

  it('an answer that stalls is given up after the timeout', async () => {
    const { kc } = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"kind":"PodList","items":[');
    });
    const started = Date.now();
    await expect(
      streamingPodScan(kc, 200).listPodIdentities({ namespace: 'inventory', limit: 50 }),
    ).rejects.toThrow(/abort|timeout/i);
    expect(Date.now() - started).toBeLessThan(5000);
    server?.closeAllConnections();
  });
});
