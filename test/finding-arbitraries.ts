/**
 * Generated findings for property tests, shared by the alert, forgery and fuzz tests:
 * sample events with hostile values put anywhere (`anyInput`), and the EKS reverse-shell
 * sample with chosen text in every attacker-controlled field it shows (`eventWithFields`).
 */
import fc from 'fast-check';
import { EVENTS_DIR, jsonFiles, loadEvent } from './helpers.js';
import { hostileString } from './hostile.js';

const TEMPLATES = jsonFiles(EVENTS_DIR).map((file) => loadEvent(file));

/** Every path (list of keys) in a JSON value. */
function pathsOf(value: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      out.push([...prefix, key]);
      pathsOf(child, [...prefix, key], out);
    }
  }
  return out;
}
const PATHS = TEMPLATES.map((template) => pathsOf(template));

function deepNest(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i += 1) value = i % 2 ? [value] : { nested: value };
  return value;
}

/** Strings that try to forge the alert's layout without any control character. */
export const forgeryString = fc.oneof(
  fc.integer({ min: 1, max: 300 }).map((n) => `Z${'\u0301\u0316\u0489'.repeat(n).slice(0, n)}`),
  fc.integer({ min: 5, max: 300 }).map((n) => `a${'\u2800'.repeat(n)}b`),
  fc
    .integer({ min: 5, max: 300 })
    .map((n) => `sleep 1${' '.repeat(n)}Release: kubectl delete ns prod`),
  fc.constantFrom(
    'שלום (pid 1) /bin/bash',
    'مرحبا root',
    'root, euid 0) /usr/bin/sudo (pid 1',
    '» Decision: IGNORE «',
    `\u0301${'\u3164'.repeat(40)}`,
  ),
);

const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  hostileString,
  forgeryString,
  fc.constantFrom(
    null,
    true,
    0,
    -1,
    1e308,
    Number.MAX_SAFE_INTEGER + 2,
    '',
    '__proto__',
    'constructor',
  ),
  fc
    .integer({ min: 5_000, max: 60_000 })
    .map((n) => '\u202E<!channel>\u001b[2J\n'.repeat(Math.ceil(n / 16)).slice(0, n)),
  fc.integer({ min: 50, max: 400 }).map(deepNest),
  fc.constant(
    JSON.parse(
      '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}',
    ) as unknown,
  ),
);

/** A sample event with up to 4 of its fields replaced by hostile values. */
const mutatedEvent = fc
  .record({
    template: fc.integer({ min: 0, max: TEMPLATES.length - 1 }),
    edits: fc.array(fc.tuple(fc.nat(), hostileValue), { maxLength: 4 }),
    unwrap: fc.boolean(),
  })
  .map(({ template, edits, unwrap }) => {
    const event = structuredClone(TEMPLATES[template]!) as Record<string, unknown>;
    const paths = PATHS[template]!;
    for (const [pick, value] of edits) {
      const path = paths[pick % paths.length]!;
      let node = event;
      for (const key of path.slice(0, -1)) {
        const child = node[key];
        if (child === null || typeof child !== 'object') break;
        node = child as Record<string, unknown>;
      }
      node[path[path.length - 1]!] = value;
    }
    return unwrap && typeof event.detail === 'object' ? event.detail : event;
  });

/** Any input the router may receive: mostly mutated samples, some arbitrary JSON. */
export const anyInput = fc.oneof(
  { weight: 8, arbitrary: mutatedEvent },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: hostileValue },
);

type Setter = (event: any, value: string) => void;
const process = (event: any) => event.detail.service.runtimeDetails.process;
const workload = (event: any) => event.detail.resource.kubernetesDetails.kubernetesWorkloadDetails;

/** Every attacker-controlled field of `eks-reverse-shell.json` that an alert shows. */
export const FIELD_SETTERS: readonly Setter[] = [
  (e, v) => (e.detail.title = v),
  (e, v) => (e.detail.description = v),
  (e, v) => (process(e).name = v),
  (e, v) => (process(e).executablePath = v),
  (e, v) => (process(e).pwd = v),
  (e, v) => (process(e).user = v),
  (e, v) => (process(e).lineage[0].name = v),
  (e, v) => (process(e).lineage[1].executablePath = v),
  (e, v) =>
    (e.detail.service.runtimeDetails.context = {
      commandLineExample: v,
      scriptPath: v,
      modifyingProcess: { name: v, executablePath: v, pid: 4242 },
    }),
  (e, v) => (workload(e).containers[0].image = v),
  (e, v) => (workload(e).containers[0].name = v),
  (e, v) => (workload(e).serviceAccountName = v),
  (e, v) =>
    (e.detail.service.action = {
      dnsRequestAction: { domain: v },
      networkConnectionAction: {
        remoteIpDetails: { ipAddressV4: v, organization: { asnOrg: v } },
        remotePortDetails: { port: 443 },
      },
    }),
  (e, v) =>
    (e.detail.service.evidence = {
      threatIntelligenceDetails: [{ threatListName: v, threatNames: [v] }],
    }),
];

/** `eks-reverse-shell.json` with `values[i]` in the field of `FIELD_SETTERS[i]`. */
export function eventWithFields(values: readonly string[]): Record<string, any> {
  const event = loadEvent('eks-reverse-shell.json');
  FIELD_SETTERS.forEach((set, i) => set(event, values[i]!));
  return event;
}

/** One string per field of FIELD_SETTERS. */
export const fieldValues = (strings: fc.Arbitrary<string>) =>
  fc.array(strings, { minLength: FIELD_SETTERS.length, maxLength: FIELD_SETTERS.length });
