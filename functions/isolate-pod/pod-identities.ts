/**
 * What identifies each pod of a `PodList` answer, read from the answer's JSON as it streams
 * in, never holding a pod: a streaming tokenizer cuts the text into tokens (strings come in
 * pieces of at most MAX_PIECE characters), and a small state machine follows the path of each
 * token and keeps only a pod's name, namespace, uid, node, the container ids its status
 * reports, and the list's `continue` token. Everything else (an attacker's 1 MB annotation,
 * env, a container id written into a label) passes through piece by piece and is dropped.
 */
import { jsonParser, type Token } from 'stream-json/core/parser.js';
import { getManyValues, isMany, none } from 'stream-chain/defs.js';

/** A pod of a list page, as far as finding it by container id needs. */
export interface PodIdentity {
  name: string;
  namespace: string;
  uid: string;
  nodeName?: string;
  /** As the status reports them (`containerd://<id>`), empty ones left out. */
  containerIds: string[];
}

/** One page of a pod list: the pods' identities and where the next page starts. */
export interface PodIdentityPage {
  items: PodIdentity[];
  continue?: string;
}

/**
 * Longest name, namespace, uid, node name or container id kept (Kubernetes names are at
 * most 253 characters, a container id about 80): a longer one is not a real one, and its
 * pod is skipped (or the id does not count).
 */
export const MAX_IDENTITY_CHARS = 512;
/** Longest `continue` token: base64 of the last key read (namespace and name) and more. */
export const MAX_CONTINUE_CHARS = 4096;
// The keys on the kept paths are short; a longer key is none of them.
const MAX_KEY_CHARS = 32;

const ITEM = 'items/[]';
const CONTINUE = 'metadata/continue';
const IDENTITY_FIELDS = new Map<string, 'name' | 'namespace' | 'uid' | 'nodeName'>([
  [`${ITEM}/metadata/name`, 'name'],
  [`${ITEM}/metadata/namespace`, 'namespace'],
  [`${ITEM}/metadata/uid`, 'uid'],
  [`${ITEM}/spec/nodeName`, 'nodeName'],
]);
const CONTAINER_ID_PATHS = new Set(
  ['containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses'].map(
    (list) => `${ITEM}/status/${list}/[]/containerID`,
  ),
);
const KEPT_PATHS = new Set([CONTINUE, ...IDENTITY_FIELDS.keys(), ...CONTAINER_ID_PATHS]);

/** Every path on the way to a kept value ('' is the list itself): only there do keys matter. */
const PATHS_TO_KEPT = new Set(
  [...KEPT_PATHS].flatMap((path) => {
    const steps = path.split('/');
    return steps.map((_, i) => steps.slice(0, i).join('/'));
  }),
);
/** The keys on kept paths; any other key (one holding '/' or '[]' too) leads nowhere kept. */
const KEPT_KEYS = new Set([...KEPT_PATHS].flatMap((path) => path.split('/')));

/**
 * An object or array being read: its path ('' for the list, null when nothing below it is
 * kept), and for an object the key of the value being read (null: a key leading nowhere kept).
 */
interface Frame {
  inArray: boolean;
  path: string | null;
  key: string | null | undefined;
}

/** The step into `frame` to the value being read: '[]' in an array, else a key on a kept path. */
function stepInto({ inArray, key }: Frame): string | undefined {
  if (inArray) return '[]';
  return typeof key === 'string' && KEPT_KEYS.has(key) ? key : undefined;
}

/** The path of the value being read inside `parent`; null when nothing at or below it is kept. */
function childPath(parent: Frame): string | null {
  const step = stepInto(parent);
  if (parent.path === null || step === undefined) return null;
  const path = parent.path === '' ? step : `${parent.path}/${step}`;
  return PATHS_TO_KEPT.has(path) || KEPT_PATHS.has(path) ? path : null;
}

/** A string being assembled, bounded: past `limit` characters it is only known to be too long. */
interface Text {
  /** The path the string is the value of, or undefined for a key. */
  path: string | undefined;
  value: string;
  limit: number;
  tooLong: boolean;
}

const startText = (path: string | undefined, limit: number): Text => ({
  path,
  value: '',
  limit,
  tooLong: false,
});

function appendText(text: Text, chunk: string): void {
  if (text.tooLong) return;
  if (text.value.length + chunk.length > text.limit) {
    text.tooLong = true;
    text.value = '';
  } else {
    text.value += chunk;
  }
}

/** A pod being read: what has been kept of it so far. */
type PartialIdentity = Partial<Omit<PodIdentity, 'containerIds'>> & {
  containerIds: string[];
  /** A kept field was too long: not a real pod, skipped. */
  invalid: boolean;
};

function completed(item: PartialIdentity): PodIdentity | undefined {
  const { name, namespace, uid, nodeName, containerIds, invalid } = item;
  if (invalid || !name || !namespace || !uid) return undefined;
  return { name, namespace, uid, ...(nodeName ? { nodeName } : {}), containerIds };
}

/**
 * Follows the tokens of one `PodList` answer and keeps the identities of its pods. Feed
 * it every token in order, then ask for the page once the document is complete.
 */
export class PodListCollector {
  private readonly stack: Frame[] = [];
  private text: Text | undefined;
  private item: PartialIdentity | undefined;
  private readonly items: PodIdentity[] = [];
  private continueToken: string | undefined;
  private finished = false;

  take(token: Token): void {
    switch (token.name) {
      case 'startObject':
      case 'startArray':
        this.open(token.name === 'startArray');
        return;
      case 'endObject':
      case 'endArray':
        this.close();
        return;
      case 'startKey':
        this.startKey();
        return;
      case 'endKey':
        this.endKey();
        return;
      case 'startString':
        this.startString();
        return;
      case 'stringChunk':
        if (this.text) appendText(this.text, token.value);
        return;
      case 'endString':
        this.endString();
        return;
      case 'endNumber':
      case 'nullValue':
      case 'trueValue':
      case 'falseValue':
        // Never kept; a number ends at its endNumber (its pieces are skipped below).
        this.valueDone();
        return;
      default:
      // startNumber, numberChunk: the number is not over yet. Packed values (keyValue,
      // stringValue, numberValue) are switched off in `podListReader`.
    }
  }

  /** The page, once the list has been read to its end; throws if the answer stopped short. */
  page(): PodIdentityPage {
    if (!this.finished) throw new Error('the pod list answer ended before the list did');
    return {
      items: this.items,
      ...(this.continueToken ? { continue: this.continueToken } : {}),
    };
  }

  private top(): Frame | undefined {
    return this.stack[this.stack.length - 1];
  }

  /** The path of the value starting now (null: not kept). */
  private valuePath(): string | null {
    const parent = this.top();
    if (parent === undefined) return this.finished ? null : '';
    return childPath(parent);
  }

  private open(inArray: boolean): void {
    const path = this.valuePath();
    if (path === ITEM && !inArray) this.item = { containerIds: [], invalid: false };
    this.stack.push({ inArray, path, key: undefined });
  }

  private close(): void {
    const frame = this.stack.pop();
    if (frame?.path === ITEM && !frame.inArray && this.item) {
      const identity = completed(this.item);
      if (identity) this.items.push(identity);
      this.item = undefined;
    }
    this.valueDone();
  }

  /** A key matters only where something below is kept. */
  private startKey(): void {
    const onKeptPath = typeof this.top()?.path === 'string';
    this.text = onKeptPath ? startText(undefined, MAX_KEY_CHARS) : undefined;
  }

  private endKey(): void {
    const frame = this.top();
    if (frame && !frame.inArray) {
      frame.key = this.text && !this.text.tooLong ? this.text.value : null;
    }
    this.text = undefined;
  }

  private startString(): void {
    const path = this.valuePath();
    const kept = path !== null && KEPT_PATHS.has(path);
    this.text = kept
      ? startText(path, path === CONTINUE ? MAX_CONTINUE_CHARS : MAX_IDENTITY_CHARS)
      : undefined;
  }

  private endString(): void {
    const text = this.text;
    this.text = undefined;
    if (text?.path !== undefined) this.keep(text);
    this.valueDone();
  }

  private keep({ path, value, tooLong }: Text): void {
    if (path === CONTINUE) {
      if (tooLong)
        throw new Error(`the pod list's continue token is over ${MAX_CONTINUE_CHARS} characters`);
      this.continueToken = value;
      return;
    }
    const item = this.item;
    if (item === undefined || path === undefined) return;
    if (CONTAINER_ID_PATHS.has(path)) {
      // A too-long id is no container's: it does not count.
      if (!tooLong && value.length > 0) item.containerIds.push(value);
      return;
    }
    const field = IDENTITY_FIELDS.get(path);
    if (field === undefined) return;
    if (tooLong) {
      if (field === 'nodeName') item.nodeName = undefined;
      else item.invalid = true;
    } else {
      item[field] = value;
    }
  }

  /** A value ended: the object's next value comes under a new key; the document may be done. */
  private valueDone(): void {
    const frame = this.top();
    if (frame === undefined) this.finished = true;
    else if (!frame.inArray) frame.key = undefined;
  }
}

/**
 * Nothing packed: every key and string arrives in pieces. A piece is at most what the
 * tokenizer was given at once (it hands over the part of a string it has whole), so text
 * is given to it at most MAX_PIECE characters at a time.
 */
export const TOKENIZER_OPTIONS = { packValues: false, streamValues: true } as const;
export const MAX_PIECE = 16 * 1024;

/**
 * A `PodList` answer fed as text in any pieces (a piece may end inside a key, a string or
 * an escape), then ended: the pods' identities and the continue token.
 */
export function podListReader(): { write(text: string): void; end(): PodIdentityPage } {
  const tokenize = jsonParser(TOKENIZER_OPTIONS) as (
    // `none` ends the input: the tokenizer then checks that the document is complete.
    text: string | typeof none,
  ) => unknown;
  const collector = new PodListCollector();
  const feed = (output: unknown): void => {
    if (isMany(output)) for (const token of getManyValues(output) as Token[]) collector.take(token);
  };
  return {
    write: (text) => {
      for (let at = 0; at < text.length; at += MAX_PIECE) {
        feed(tokenize(text.slice(at, at + MAX_PIECE)));
      }
    },
    end: () => {
      feed(tokenize(none));
      return collector.page();
    },
  };
}
