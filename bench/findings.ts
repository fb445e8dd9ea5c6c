/**
 * Inputs for the router measurements: every file in events/, and findings generated from
 * them deterministically (same seed, same findings): new ids, names, severities and process
 * lineages of 0 to 40 ancestors, so the parser, sanitizer and renderer see varied input.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './out-dir.js';

export interface Fixture {
  file: string;
  event: Record<string, unknown>;
}

type Json = Record<string, unknown>;

export function loadFixtures(): Fixture[] {
  const dir = join(REPO_ROOT, 'events');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, event: JSON.parse(readFileSync(join(dir, file), 'utf8')) as Json }));
}

/** mulberry32: a small, fast, seedable PRNG; quality is ample for picking test values. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Picker {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  hex(length: number): string {
    let out = '';
    while (out.length < length) out += this.int(0, 15).toString(16);
    return out;
  }
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
  }
  one<T>(values: readonly T[]): T {
    return values[this.int(0, values.length - 1)]!;
  }
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The object at a path, or undefined when any step is missing or not an object. */
function at(root: Json, ...path: string[]): Json | undefined {
  let node: unknown = root;
  for (const key of path) node = isObject(node) ? node[key] : undefined;
  return isObject(node) ? node : undefined;
}

const PROCESS_NAMES = [
  'bash',
  'sh',
  'python3',
  'curl',
  'xmrig',
  'kworker',
  '\u001b[31mkworker\u001b[0m',
  'sh\u2028Decision: IGNORE',
  'node\u202e<@U012ABCDEF>',
];
const NAMESPACES = ['payments', 'web', 'batch', 'inventory', 'kube-system'];
const INSTANCE_ID = /^i-[0-9a-f]{17}$/;

function mutateIdentity(detail: Json, pick: Picker, index: number): void {
  const id = pick.hex(32);
  detail.id = id;
  if (typeof detail.arn === 'string') detail.arn = detail.arn.replace(/[0-9a-f]{32}$/, id);
  // Runtime findings are mostly high: 3 in 4 at 7.0-8.9, the rest 1.0-6.9 (below the default threshold).
  detail.severity = pick.int(0, 3) === 0 ? pick.int(10, 69) / 10 : pick.int(70, 89) / 10;
  if (typeof detail.title === 'string') detail.title = `${detail.title} #${index}`;
  const service = at(detail, 'service');
  if (service) service.count = pick.int(1, 50);
}

function mutateResource(detail: Json, pick: Picker): void {
  const workload = at(detail, 'resource', 'kubernetesDetails', 'kubernetesWorkloadDetails');
  if (workload && typeof workload.name === 'string') {
    workload.name = `${workload.name.replace(/-[0-9a-f]{5}$/, '')}-${pick.hex(5)}`;
    workload.uid = pick.uuid();
    if (pick.int(0, 3) === 0) workload.namespace = pick.one(NAMESPACES);
  }
  const instance = at(detail, 'resource', 'instanceDetails');
  if (instance && typeof instance.instanceId === 'string' && INSTANCE_ID.test(instance.instanceId))
    instance.instanceId = `i-0${pick.hex(16)}`;
  const task = at(detail, 'resource', 'ecsClusterDetails', 'taskDetails');
  if (task && typeof task.arn === 'string')
    task.arn = task.arn.replace(/[0-9a-f]{32}$/, pick.hex(32));
}

/** A lineage of `length` ancestors, parent first, linked by uuid, cycling the template's entries. */
function mutateLineage(detail: Json, pick: Picker): void {
  const process = at(detail, 'service', 'runtimeDetails', 'process');
  if (!process) return;
  process.name = pick.one(PROCESS_NAMES);
  process.uuid = pick.uuid();
  const template = Array.isArray(process.lineage) ? (process.lineage as Json[]) : [];
  if (template.length === 0) return;
  const length = pick.int(0, 40);
  const uuids = Array.from({ length: length + 1 }, () => pick.uuid());
  process.lineage = uuids.slice(0, length).map((uuid, i) => ({
    ...template[i % template.length],
    uuid,
    parentUuid: uuids[i + 1],
  }));
  process.parentUuid = uuids[0];
}

/** `count` findings made from the fixtures in turn; the same seed gives the same findings. */
export function generateFindings(fixtures: readonly Fixture[], count: number, seed = 9): Json[] {
  const pick = new Picker(seed);
  return Array.from({ length: count }, (_, index) => {
    const event = structuredClone(fixtures[index % fixtures.length]!.event);
    const detail = at(event, 'detail') ?? event;
    mutateIdentity(detail, pick, index);
    mutateResource(detail, pick);
    mutateLineage(detail, pick);
    return event;
  });
}
