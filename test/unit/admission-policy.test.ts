/**
 * The admission policy shipped beside the RBAC (infra/k8s/admission-policy.yaml):
 * - the manifest against the Kubernetes schema of admissionregistration.k8s.io/v1, closed
 *   (an unknown or misspelt field is an error: the API server would refuse it, or an older
 *   client drop it, and a dropped matchConditions would apply the policy to every user);
 * - its CEL, evaluated by a CEL implementation (test/admission.ts), on the writes the
 *   isolate-pod function makes (built by the function's own planning code and applied as
 *   the API server applies them), each of which must pass, and on writes a stolen copy of
 *   its identity could make, each of which must be refused by the rule meant for it;
 * - writes by anyone outside the responder's group are not matched at all.
 * The test API server (1.20) has no admission policies, so nothing here runs against one.
 */
import { readFileSync } from 'node:fs';
import * as clientNode from '@kubernetes/client-node';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  type KubeConfig,
  type V1ClusterRoleBinding,
  type V1ValidatingAdmissionPolicy,
  type V1ValidatingAdmissionPolicyBinding,
} from '@kubernetes/client-node';
import { parse as parseCel } from '@bufbuild/cel';
import yaml from 'js-yaml';
import { ValidatingAdmissionPolicy } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
import { ValidatingAdmissionPolicyBinding } from 'kubernetes-models/admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding';
import { describe, expect, it } from 'vitest';
import {
  CORDONED_LABEL,
  FINDING_ANNOTATION,
  ISOLATE_POD_K8S_GROUP,
  QUARANTINE_LABEL,
  networkPolicyName,
} from '../../shared/labels.js';
import {
  CONTAINED_AT_ANNOTATION,
  DETACHED_LABELS_ANNOTATION,
} from '../../functions/isolate-pod/annotations.js';
import { planCordon } from '../../functions/isolate-pod/cordon.js';
import { planDetach } from '../../functions/isolate-pod/detach.js';
import type { FoundPod } from '../../functions/isolate-pod/find-pod.js';
import type { KubeClients } from '../../functions/isolate-pod/kube.js';
import { planLabel } from '../../functions/isolate-pod/label.js';
import { quarantinePolicy } from '../../functions/isolate-pod/network-policy.js';
import { carryOut, type Plan } from '../../functions/isolate-pod/plan.js';
import { TIER_KINDS } from '../../functions/isolate-pod/policy-tier.js';
import { undoPodQuarantine } from '../../functions/isolate-pod/undo.js';
import { admissionPolicy, admissionRequest, type Json, type Verdict } from '../admission.js';
import { mergePatch } from '../helpers.js';

const manifestText = (file: string) =>
  readFileSync(new URL(`../../infra/k8s/${file}`, import.meta.url), 'utf8');

/** The manifest as written (not through client-node's loader, which drops unknown fields). */
const documents = yaml.loadAll(manifestText('admission-policy.yaml')) as Json[];
const policyDocument = documents.find((d) => d.kind === 'ValidatingAdmissionPolicy')!;
const bindingDocument = documents.find((d) => d.kind === 'ValidatingAdmissionPolicyBinding')!;
const policy = policyDocument as V1ValidatingAdmissionPolicy;

// ------------------------------------------------------------------------------- the schema

/**
 * Every field of `value` is one the Kubernetes type `type` has, with a value of its type,
 * all the way down: client-node's models are generated from the Kubernetes OpenAPI and list
 * each type's fields (`attributeTypeMap`), so the walk is closed where the API is.
 */
function unknownOrMistyped(value: unknown, type: string, path: string): string[] {
  const list = /^Array<(.+)>$/.exec(type);
  if (list) {
    return Array.isArray(value)
      ? value.flatMap((item, i) => unknownOrMistyped(item, list[1]!, `${path}[${i}]`))
      : [`${path}: not a list`];
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (map) {
    return isObject
      ? Object.entries(value).flatMap(([k, v]) => unknownOrMistyped(v, map[1]!, `${path}.${k}`))
      : [`${path}: not a map`];
  }
  switch (type) {
    case 'string':
    case 'Date':
      return typeof value === 'string' ? [] : [`${path}: not a string`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: not a boolean`];
    case 'number':
      return Number.isInteger(value) ? [] : [`${path}: not an integer`];
    case 'any':
      return [];
  }
  const model = (clientNode as unknown as Record<string, unknown>)[type] as
    { getAttributeTypeMap(): { baseName: string; type: string }[] } | undefined;
  if (model === undefined) throw new Error(`no Kubernetes model named ${type}`);
  if (!isObject) return [`${path}: not an object`];
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([key, field]) => {
    const fieldType = fields.get(key);
    return fieldType === undefined
      ? [`${path}.${key}: no such field in ${type}`]
      : unknownOrMistyped(field, fieldType, `${path}.${key}`);
  });
}

/**
 * The problems of a document against the schema: required fields, types and enumerations
 * (kubernetes-models' validators, compiled from the Kubernetes OpenAPI schema), and the
 * closed field walk above, which those validators do not do.
 */
function schemaProblems(document: Json): string[] {
  const [Model, type] =
    document.kind === 'ValidatingAdmissionPolicy'
      ? [ValidatingAdmissionPolicy, 'V1ValidatingAdmissionPolicy']
      : [ValidatingAdmissionPolicyBinding, 'V1ValidatingAdmissionPolicyBinding'];
  const problems = unknownOrMistyped(document, type, document.kind as string);
  try {
    new Model(document).validate();
  } catch (error) {
    problems.push(String(error));
  }
  return problems;
}

describe('admission policy manifest', () => {
  it('is a ValidatingAdmissionPolicy and its binding, both valid admissionregistration.k8s.io/v1', () => {
    expect(documents.map((d) => `${d.apiVersion} ${d.kind}`)).toEqual([
      'admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy',
      'admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding',
    ]);
    expect(schemaProblems(policyDocument)).toEqual([]);
    expect(schemaProblems(bindingDocument)).toEqual([]);
  });

  it.each([
    [
      'a misspelt field',
      (p: Json) => (p.spec.matchCondition = p.spec.matchConditions),
      'no such field',
    ],
    [
      'an unknown field in a validation',
      (p: Json) => (p.spec.validations[0].severity = 'high'),
      'no such field',
    ],
    ['a wrong type', (p: Json) => (p.spec.validations[0].expression = true), 'not a string'],
    [
      'a value outside the enumeration',
      (p: Json) => (p.spec.failurePolicy = 'Deny'),
      'allowed values',
    ],
    ['a missing required field', (p: Json) => delete p.spec.validations[0].expression, 'required'],
    [
      'an unknown operation',
      (p: Json) => (p.spec.matchConstraints.resourceRules[0].operations = ['PATCH']),
      'allowed values',
    ],
    [
      'a binding action that is not a list',
      (_: Json, b: Json) => (b.spec.validationActions = 'Deny'),
      'not a list',
    ],
    [
      'a binding action outside the enumeration',
      (_: Json, b: Json) => (b.spec.validationActions = ['Reject']),
      'allowed values',
    ],
  ])('the schema check refuses %s', (_name, change, problem) => {
    const [p, b] = [structuredClone(policyDocument), structuredClone(bindingDocument)];
    change(p, b);
    expect([...schemaProblems(p), ...schemaProblems(b)].join('\n')).toContain(problem);
  });

  it('binds the policy with Deny, fails closed, and matches the group rbac.yaml binds', () => {
    const binding = bindingDocument as V1ValidatingAdmissionPolicyBinding;
    expect(binding.spec?.policyName).toBe(policy.metadata?.name);
    expect(binding.spec?.validationActions).toEqual(['Deny']);
    expect(binding.spec?.paramRef).toBeUndefined();
    expect(policy.spec?.failurePolicy).toBe('Fail');
    expect(policy.spec?.paramKind).toBeUndefined();
    const rbac = yaml.loadAll(manifestText('rbac.yaml')) as Json[];
    const roleBinding = rbac.find((d) => d.kind === 'ClusterRoleBinding') as V1ClusterRoleBinding;
    expect(roleBinding.subjects?.map((s) => s.name)).toEqual([ISOLATE_POD_K8S_GROUP]);
    expect(policy.spec?.matchConditions?.map((c) => c.expression)).toEqual([
      `has(request.userInfo.groups) && '${ISOLATE_POD_K8S_GROUP}' in request.userInfo.groups`,
    ]);
  });

  // Functions and operators of standard CEL (the parser expands has() and the macros into
  // these). The Kubernetes CEL libraries add more (lists, strings, quantity, optionals…); the
  // policy keeps to standard CEL so that the evaluation below is of the same expressions.
  const STANDARD_CEL = new Set([
    ...['_&&_', '_||_', '!_', '_?_:_', '@not_strictly_false', '@in', '_[_]'],
    ...['_==_', '_!=_', '_<_', '_<=_', '_>_', '_>=_', '_+_', '_-_', '_*_', '_/_', '_%_', '-_'],
    ...['size', 'startsWith', 'endsWith', 'contains', 'matches', 'string', 'int', 'bool'],
  ]);

  it('uses only standard CEL', () => {
    const spec = policy.spec!;
    const expressions = [
      ...(spec.matchConditions ?? []),
      ...(spec.variables ?? []),
      ...(spec.validations ?? []),
    ].map((e) => e.expression);
    const called = new Set<string>();
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (typeof node !== 'object' || node === null) return;
      const record = node as Record<string, unknown>;
      if (record.$typeName === 'cel.expr.Expr.Call') called.add(record.function as string);
      Object.values(record).forEach(walk);
    };
    for (const expression of expressions) walk(parseCel(expression).expr);
    expect([...called].filter((name) => !STANDARD_CEL.has(name))).toEqual([]);
    // The walk reaches the calls (the record check's regular expression is one).
    expect(called.has('matches')).toBe(true);
  });
});

// ------------------------------------------------------------------- requests and objects

const admit = admissionPolicy(policy);

/** The isolate-pod role through its EKS access entry, and an operator outside the group. */
const RESPONDER = {
  username: 'arn:aws:sts::123456789012:assumed-role/gdrr-isolate-pod/1767607200000',
  groups: [ISOLATE_POD_K8S_GROUP, 'system:authenticated'],
};
const OPERATOR = { username: 'secops-admin', groups: ['system:masters', 'system:authenticated'] };
type Who = typeof RESPONDER;

/** Which rule each denial message belongs to (a failed expression shows as itself). */
const RULES = {
  scope: 'may only patch pods and nodes',
  fields: 'only labels and annotations of a pod or node',
  nodeSpec: 'may only cordon a node',
  labels: 'adds no label of its own choosing',
  ownLabels: "sets only the pod's quarantine label",
  annotations: 'changes no annotation but its own',
  ownAnnotations: 'annotates only a pod carrying its quarantine label',
  record: 'detached only in the same write',
  delete: 'deletes only a pod carrying',
  created: 'creates only its own quarantine policies',
  networkPolicy: "responder's NetworkPolicy selects only",
  clusterPolicy: 'ClusterNetworkPolicy, in the Admin tier',
  cilium: 'CiliumClusterwideNetworkPolicy selects only',
} as const;
type Rule = keyof typeof RULES;

/** The rules a verdict names (a message that is no rule's, e.g. an error, as itself). */
function brokenRules(verdict: Verdict): string[] | Verdict['kind'] {
  if (verdict.kind !== 'denied') return verdict.kind;
  return verdict.messages.map(
    (message) =>
      (Object.keys(RULES) as Rule[]).find((rule) => message.includes(RULES[rule])) ?? message,
  );
}

const NOW = new Date('2026-01-05T10:15:00Z');
const FINDING = 'a4c7e1b2d3f45678901234567890abcd';
const UID = '5f0b2c1e-8d3a-4c6f-9e21-7a4b3c2d1e0f';
const NODE = 'ip-10-0-1-23.ec2.internal';

/** A Deployment's pod as the API server stores it. */
function storedPod(): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-7c9f8b6d5-x2k4q',
      generateName: 'web-7c9f8b6d5-',
      namespace: 'payments',
      uid: UID,
      resourceVersion: '418223',
      creationTimestamp: '2026-01-05T09:00:00Z',
      labels: { app: 'web', 'pod-template-hash': '7c9f8b6d5', tier: 'frontend' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-01-05T08:59:00Z' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web-7c9f8b6d5',
          uid: '0c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2026-01-05T09:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:labels': {} } },
        },
      ],
    },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'registry.example/payments/web:1.42.0',
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          resources: { limits: { cpu: '500m', memory: '256Mi' } },
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'IfNotPresent',
        },
      ],
      serviceAccountName: 'web',
      nodeName: NODE,
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
    },
    status: { phase: 'Running', podIP: '10.0.1.57', qosClass: 'Burstable' },
  };
}

function storedNode(): Json {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: NODE,
      uid: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
      resourceVersion: '418100',
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: {
        'kubernetes.io/hostname': NODE,
        'eks.amazonaws.com/nodegroup': 'general',
        'topology.kubernetes.io/zone': 'us-east-1a',
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
      managedFields: [],
    },
    spec: {
      providerID: 'aws:///us-east-1a/i-0123456789abcdef0',
      taints: [{ key: 'dedicated', value: 'payments', effect: 'NoSchedule' }],
    },
    status: { capacity: { cpu: '2', memory: '8Gi', pods: '29' } },
  };
}

const replicaSet = (selector: Json): Json => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name: 'web-7c9f8b6d5', namespace: 'payments' },
  spec: { selector },
});

const found = (pod: Json): FoundPod => ({
  pod,
  name: pod.metadata.name,
  namespace: pod.metadata.namespace,
  uid: pod.metadata.uid,
  foundBy: 'name',
});

/**
 * The body of the one write a step of isolate-pod makes, through stub clients that answer
 * its reads (`reads`) and record its writes.
 */
async function bodyOf(
  step: (kube: KubeClients) => Plan | Promise<Plan>,
  reads: { node?: Json; replicaSet?: Json } = {},
): Promise<Json> {
  const bodies: Json[] = [];
  const record = (param: { body: unknown }) => {
    bodies.push(structuredClone(param.body) as Json);
    return Promise.resolve({});
  };
  const kube = {
    core: {
      patchNamespacedPod: record,
      patchNode: record,
      readNode: () => Promise.resolve(structuredClone(reads.node)),
      listNode: () => Promise.resolve({ items: [], metadata: {} }),
    },
    apps: { readNamespacedReplicaSet: () => Promise.resolve(structuredClone(reads.replicaSet)) },
  } as unknown as KubeClients;
  const plan = await step(kube);
  expect(plan.kind).toBe('write');
  const result = await carryOut(plan);
  expect(result.outcome.status).toBe('contained');
  expect(bodies).toHaveLength(1);
  return bodies[0]!;
}

/**
 * The object a merge patch makes of `stored`, as validating admission sees it: the API
 * server has recorded the write in managedFields (and ignores a uid equal to the stored one).
 */
function patched(stored: Json, patch: unknown): Json {
  const next = mergePatch(stored, patch) as Json;
  next.metadata.managedFields = [
    ...(stored.metadata.managedFields as Json[]),
    { manager: 'unknown', operation: 'Update', apiVersion: 'v1', time: NOW.toISOString() },
  ];
  return next;
}

/** `stored` changed in place by `change` (a write that is not a merge patch of the responder). */
function changed(stored: Json, change: (object: Json) => void): Json {
  const next = structuredClone(stored);
  change(next);
  return next;
}

const core = (resource: string, kind: string) => ({ group: '', version: 'v1', resource, kind });

/** An update of a stored pod or node, as validating admission sees it. */
function update(stored: Json, next: Json, who: Who = RESPONDER) {
  const [resource, kind] = stored.kind === 'Node' ? ['nodes', 'Node'] : ['pods', 'Pod'];
  return admit({
    object: next,
    oldObject: stored,
    request: admissionRequest({
      ...core(resource, kind),
      operation: 'UPDATE',
      name: stored.metadata.name,
      namespace: stored.metadata.namespace,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'UpdateOptions' },
      ...who,
    }),
  });
}

function deletePod(stored: Json, who: Who = RESPONDER) {
  return admit({
    object: null,
    oldObject: stored,
    request: admissionRequest({
      ...core('pods', 'Pod'),
      operation: 'DELETE',
      name: stored.metadata.name,
      namespace: stored.metadata.namespace,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 },
      ...who,
    }),
  });
}

/** A create as validating admission sees it: with the fields the API server sets on create. */
function create(
  body: Json,
  resource: { group: string; version: string; resource: string; kind: string },
  who: Who = RESPONDER,
) {
  const object = structuredClone(body);
  object.metadata = {
    ...object.metadata,
    uid: '1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e',
    creationTimestamp: NOW.toISOString(),
    generation: 1,
    managedFields: [{ manager: 'unknown', operation: 'Update', time: NOW.toISOString() }],
  };
  return admit({
    object,
    oldObject: null,
    request: admissionRequest({
      ...resource,
      operation: 'CREATE',
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
      ...who,
    }),
  });
}

const NETWORK_POLICIES = {
  group: 'networking.k8s.io',
  version: 'v1',
  resource: 'networkpolicies',
  kind: 'NetworkPolicy',
};
const tierResource = (tier: (typeof TIER_KINDS)[number]) => ({
  group: tier.group,
  version: tier.version,
  resource: tier.plural,
  kind: tier.kind,
});

// The pod after each step of the responder, from the function's own patches.
const labelBody = () => bodyOf((kube) => planLabel(kube, found(storedPod()), FINDING, NOW));
async function labelledPod(): Promise<Json> {
  return patched(storedPod(), await labelBody());
}
const MATCH_LABELS = { app: 'web', 'pod-template-hash': '7c9f8b6d5' };
const detachBody = (pod: Json, selector: Json = { matchLabels: MATCH_LABELS }) =>
  bodyOf((kube) => planDetach(kube, found(pod)), { replicaSet: replicaSet(selector) });

const cordonBody = (node: Json) =>
  bodyOf((kube) => planCordon(kube, found(storedPod()), FINDING, 3), { node });

/**
 * What release (`npm run release -- eks`, functions/isolate-pod/undo.ts) writes to the pod
 * and its node, through stub clients: no tier objects, the NetworkPolicy deleted.
 */
async function releaseBodies(pod: Json, node: Json): Promise<{ pod: Json; node: Json }> {
  const bodies: Json = {};
  const recordAs = (key: string) => (param: { body: unknown }) => {
    bodies[key] = structuredClone(param.body);
    return Promise.resolve({});
  };
  const clients = new Map<unknown, unknown>([
    [
      CoreV1Api,
      {
        readNamespacedPod: () => Promise.resolve(structuredClone(pod)),
        readNode: () => Promise.resolve(structuredClone(node)),
        patchNamespacedPod: recordAs('pod'),
        patchNode: recordAs('node'),
      },
    ],
    [NetworkingV1Api, { deleteNamespacedNetworkPolicy: () => Promise.resolve({}) }],
    [
      CustomObjectsApi,
      { getClusterCustomObject: () => Promise.reject(new ApiException(404, 'Not Found', '', {})) },
    ],
  ]);
  const kc = { makeApiClient: (api: unknown) => clients.get(api) } as unknown as KubeConfig;
  const report = await undoPodQuarantine(kc, pod.metadata.namespace, pod.metadata.name);
  expect(report.problems).toEqual([]);
  return bodies as { pod: Json; node: Json };
}

// ------------------------------------------------------------- what the responder does

describe('admission policy: the writes isolate-pod makes pass', () => {
  it('labels and annotates the pod (eks:label-pod)', async () => {
    const body = await labelBody();
    expect(body.metadata.labels).toEqual({ [QUARANTINE_LABEL]: UID });
    expect(Object.keys(body.metadata.annotations).sort()).toEqual(
      [CONTAINED_AT_ANNOTATION, FINDING_ANNOTATION].sort(),
    );
    expect(update(storedPod(), patched(storedPod(), body))).toEqual({ kind: 'allowed' });
  });

  it('relabels a pod that carries a stale quarantine label of another pod', async () => {
    const stale = changed(storedPod(), (p) => (p.metadata.labels[QUARANTINE_LABEL] = 'other'));
    const body = await bodyOf((kube) => planLabel(kube, found(stale), FINDING, NOW));
    expect(update(stale, patched(stale, body))).toEqual({ kind: 'allowed' });
  });

  it('detaches the labelled pod from its controller, recording the original values', async () => {
    const labelled = await labelledPod();
    const body = await detachBody(labelled);
    expect(body.metadata.labels).toEqual({
      app: 'quarantined-web',
      'pod-template-hash': 'quarantined-7c9f8b6d5',
    });
    expect(update(labelled, patched(labelled, body))).toEqual({ kind: 'allowed' });
  });

  it('detaches by removing a label the selector only needs to exist, and by cutting a long value', async () => {
    // Cut to 63 characters, the new value would end in '-': the function drops it.
    const long = `${'v'.repeat(50)}-${'w'.repeat(10)}`;
    const pod = changed(await labelledPod(), (p) => (p.metadata.labels.app = long));
    const body = await detachBody(pod, {
      matchLabels: { app: long },
      matchExpressions: [{ key: 'tier', operator: 'Exists' }],
    });
    expect(body.metadata.labels).toEqual({ app: `quarantined-${'v'.repeat(50)}`, tier: null });
    expect(update(pod, patched(pod, body))).toEqual({ kind: 'allowed' });
  });

  it('detaches a pod that was not labelled (the label step failed or was not asked for)', async () => {
    const body = await detachBody(storedPod());
    expect(update(storedPod(), patched(storedPod(), body))).toEqual({ kind: 'allowed' });
  });

  it('cordons the node, with its label and the finding id (eks:cordon-node)', async () => {
    const node = storedNode();
    const body = await cordonBody(node);
    expect(body.spec).toEqual({ unschedulable: true });
    expect(update(node, patched(node, body))).toEqual({ kind: 'allowed' });
  });

  it.each([false, true])(
    'creates the quarantine NetworkPolicy (DNS egress allowed: %s)',
    (allowDnsEgress) => {
      const body = quarantinePolicy(found(storedPod()), FINDING, allowDnsEgress) as Json;
      expect(create(body, NETWORK_POLICIES)).toEqual({ kind: 'allowed' });
    },
  );

  it.each(TIER_KINDS.flatMap((tier) => [false, true].map((dns) => [tier, dns] as const)))(
    'creates the deny in the tier above NetworkPolicies (%o, DNS egress allowed: %s)',
    (tier, allowDnsEgress) => {
      const body = tier.body(found(storedPod()), FINDING, allowDnsEgress);
      expect(create(body, tierResource(tier))).toEqual({ kind: 'allowed' });
    },
  );

  it('deletes a quarantined pod (eks.whenIsolationBypassed: delete-replaceable-pod)', async () => {
    expect(deletePod(await labelledPod())).toEqual({ kind: 'allowed' });
  });
});

// ---------------------------------------------------- what a stolen identity must not do

describe('admission policy: a stolen responder identity is refused', () => {
  it.each<[string, (pod: Json) => void, Rule[]]>([
    [
      'change the image',
      (p) => (p.spec.containers[0].image = 'attacker.example/miner:1'),
      ['fields'],
    ],
    ['add a container command', (p) => (p.spec.containers[0].command = ['/bin/sh']), ['fields']],
    ['add a toleration', (p) => p.spec.tolerations.push({ operator: 'Exists' }), ['fields']],
    ['set a deadline', (p) => (p.spec.activeDeadlineSeconds = 1), ['fields']],
    ['write the status', (p) => (p.status.phase = 'Succeeded'), ['fields']],
    ['drop the owner references', (p) => delete p.metadata.ownerReferences, ['fields']],
    ['add a finalizer', (p) => (p.metadata.finalizers = ['example.com/hold']), ['fields']],
    ['add a label', (p) => (p.metadata.labels.team = 'red'), ['labels']],
    ['change a label', (p) => (p.metadata.labels.tier = 'backend'), ['labels', 'record']],
    ['take a label off without a record', (p) => delete p.metadata.labels.tier, ['record']],
    ['detach without a record', (p) => (p.metadata.labels.app = 'quarantined-web'), ['record']],
    [
      'detach with a record that names another label too',
      (p) => {
        p.metadata.labels.app = 'quarantined-web';
        p.metadata.annotations[DETACHED_LABELS_ANNOTATION] = '{"app":"web","team":"red"}';
      },
      ['record'],
    ],
    [
      'detach with a record of another value',
      (p) => {
        p.metadata.labels.app = 'quarantined-web';
        p.metadata.annotations[DETACHED_LABELS_ANNOTATION] = '{"app":"api"}';
      },
      ['record'],
    ],
    [
      'write a detached-labels record alone',
      (p) => (p.metadata.annotations[DETACHED_LABELS_ANNOTATION] = '{"team":"red"}'),
      ['record'],
    ],
    [
      'put the quarantine label of another pod',
      (p) => (p.metadata.labels[QUARANTINE_LABEL] = 'another-pods-uid'),
      ['ownLabels'],
    ],
    [
      'put a cordoned label on a pod',
      (p) => (p.metadata.labels[CORDONED_LABEL] = 'true'),
      ['ownLabels'],
    ],
    [
      'change an annotation',
      (p) => (p.metadata.annotations['kubectl.kubernetes.io/restartedAt'] = 'now'),
      ['annotations'],
    ],
    ['add an annotation', (p) => (p.metadata.annotations['example.com/x'] = 'y'), ['annotations']],
    [
      'remove an annotation',
      (p) => delete p.metadata.annotations['kubectl.kubernetes.io/restartedAt'],
      ['annotations'],
    ],
    [
      'annotate a pod that carries no quarantine label',
      (p) => (p.metadata.annotations[FINDING_ANNOTATION] = FINDING),
      ['ownAnnotations'],
    ],
    [
      'write an annotation of the responder it never writes',
      (p) => (p.metadata.annotations['guardduty-responder/note'] = 'x'),
      ['ownAnnotations'],
    ],
  ])('on a pod: %s', (_name, change, rules) => {
    const stored = storedPod();
    expect(brokenRules(update(stored, changed(stored, change)))).toEqual(rules);
    // The same write by anyone else is not this policy's business.
    expect(update(stored, changed(stored, change), OPERATOR)).toEqual({ kind: 'not-matched' });
  });

  it('on a quarantined pod: take the quarantine off, or change its annotations to nothing', async () => {
    const labelled = await labelledPod();
    const unlabelled = changed(labelled, (p) => delete p.metadata.labels[QUARANTINE_LABEL]);
    expect(brokenRules(update(labelled, unlabelled))).toEqual(['ownLabels']);
    const unannotated = changed(labelled, (p) => delete p.metadata.annotations[FINDING_ANNOTATION]);
    expect(brokenRules(update(labelled, unannotated))).toEqual(['ownAnnotations']);
  });

  it('release a contained pod and its node (the operator does, with their own credentials)', async () => {
    const labelled = await labelledPod();
    const detached = patched(labelled, await detachBody(labelled));
    const node = storedNode();
    const cordoned = patched(node, await cordonBody(node));
    const release = await releaseBodies(detached, cordoned);
    const [pod, released] = [detached, patched(detached, release.pod)];
    expect(released.metadata.labels).toEqual(storedPod().metadata.labels);
    expect(brokenRules(update(pod, released))).toEqual([
      'labels',
      'ownLabels',
      'ownAnnotations',
      'record',
    ]);
    expect(update(pod, released, OPERATOR)).toEqual({ kind: 'not-matched' });
    const uncordoned = patched(cordoned, release.node);
    expect(brokenRules(update(cordoned, uncordoned))).toEqual([
      'nodeSpec',
      'ownLabels',
      'ownAnnotations',
    ]);
    expect(update(cordoned, uncordoned, OPERATOR)).toEqual({ kind: 'not-matched' });
  });

  it('delete a pod that is not quarantined', () => {
    expect(brokenRules(deletePod(storedPod()))).toEqual(['delete']);
    expect(deletePod(storedPod(), OPERATOR)).toEqual({ kind: 'not-matched' });
  });

  it.each<[string, (node: Json) => void, Rule[]]>([
    ['add a taint', (n) => n.spec.taints.push({ key: 'x', effect: 'NoExecute' }), ['nodeSpec']],
    ['remove the taints', (n) => delete n.spec.taints, ['nodeSpec']],
    ['change the provider id', (n) => (n.spec.providerID = 'aws:///x'), ['nodeSpec']],
    ['cordon without the label', (n) => (n.spec.unschedulable = true), ['nodeSpec']],
    ['label without cordoning', (n) => (n.metadata.labels[CORDONED_LABEL] = 'true'), ['ownLabels']],
    ['add a label', (n) => (n.metadata.labels['node-role.kubernetes.io/x'] = ''), ['labels']],
    ['change a label', (n) => (n.metadata.labels['eks.amazonaws.com/nodegroup'] = 'x'), ['labels']],
    [
      'change an annotation',
      (n) => (n.metadata.annotations['node.alpha.kubernetes.io/ttl'] = '9'),
      ['annotations'],
    ],
    [
      'annotate a node it does not cordon',
      (n) => (n.metadata.annotations[FINDING_ANNOTATION] = FINDING),
      ['ownAnnotations'],
    ],
    ['write the status', (n) => (n.status.capacity.pods = '999'), ['fields']],
  ])('on a node: %s', (_name, change, rules) => {
    const stored = storedNode();
    expect(brokenRules(update(stored, changed(stored, change)))).toEqual(rules);
    expect(update(stored, changed(stored, change), OPERATOR)).toEqual({ kind: 'not-matched' });
  });

  it.each<[string, string, string, Json | null]>([
    ['evict a pod', 'pods', 'eviction', { apiVersion: 'policy/v1', kind: 'Eviction' }],
    ['write a pod status', 'pods', 'status', storedPod()],
    ['add an ephemeral container', 'pods', 'ephemeralcontainers', storedPod()],
    ['exec into a pod', 'pods', 'exec', { kind: 'PodExecOptions', command: ['sh'] }],
    ['write a node status', 'nodes', 'status', storedNode()],
  ])('%s (a subresource)', (_name, resource, subResource, object) => {
    const operation =
      subResource === 'exec' ? 'CONNECT' : subResource === 'eviction' ? 'CREATE' : 'UPDATE';
    const request = (who: Who) =>
      admissionRequest({
        ...core(resource, resource === 'pods' ? 'Pod' : 'Node'),
        subResource,
        operation,
        name: 'x',
        namespace: resource === 'pods' ? 'payments' : undefined,
        ...who,
      });
    const oldObject = operation === 'UPDATE' ? object : null;
    expect(brokenRules(admit({ object, oldObject, request: request(RESPONDER) }))).toEqual([
      'scope',
    ]);
    expect(admit({ object, oldObject, request: request(OPERATOR) })).toEqual({
      kind: 'not-matched',
    });
  });

  it.each<
    [
      string,
      { group: string; version: string; resource: string; kind: string },
      'CREATE' | 'UPDATE' | 'DELETE',
    ]
  >([
    ['create a pod', core('pods', 'Pod'), 'CREATE'],
    [
      'patch a deployment',
      { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment' },
      'UPDATE',
    ],
    ['create a secret', core('secrets', 'Secret'), 'CREATE'],
    ['delete a NetworkPolicy', NETWORK_POLICIES, 'DELETE'],
    ['patch a NetworkPolicy', NETWORK_POLICIES, 'UPDATE'],
    ['delete a node', core('nodes', 'Node'), 'DELETE'],
    [
      'bind a cluster role',
      {
        group: 'rbac.authorization.k8s.io',
        version: 'v1',
        resource: 'clusterrolebindings',
        kind: 'ClusterRoleBinding',
      },
      'CREATE',
    ],
  ])('%s (another resource or verb)', (_name, resource, operation) => {
    const object = operation === 'DELETE' ? null : { metadata: { name: 'x' } };
    const oldObject = operation === 'CREATE' ? null : { metadata: { name: 'x' } };
    const request = (who: Who) =>
      admissionRequest({ ...resource, operation, name: 'x', namespace: 'payments', ...who });
    expect(brokenRules(admit({ object, oldObject, request: request(RESPONDER) }))).toEqual([
      'scope',
    ]);
    expect(admit({ object, oldObject, request: request(OPERATOR) })).toEqual({
      kind: 'not-matched',
    });
  });

  const quarantine = () => quarantinePolicy(found(storedPod()), FINDING, true) as Json;

  it.each<[string, (policy: Json) => void, Rule[]]>([
    ['allow all ingress', (p) => (p.spec.ingress = [{}]), ['networkPolicy']],
    ['allow all egress', (p) => (p.spec.egress = [{}]), ['networkPolicy']],
    ['select every pod', (p) => (p.spec.podSelector = {}), ['networkPolicy']],
    ['govern egress only', (p) => (p.spec.policyTypes = ['Egress']), ['networkPolicy']],
    ['widen the DNS rule to every port', (p) => delete p.spec.egress[0].ports, ['networkPolicy']],
    ['take another name', (p) => (p.metadata.name = 'allow-all'), ['created']],
    ['carry another label', (p) => (p.metadata.labels.app = 'web'), ['created']],
    ['carry no label', (p) => delete p.metadata.labels, ['created', 'networkPolicy']],
    [
      'have an owner',
      (p) => (p.metadata.ownerReferences = [{ kind: 'Pod', name: 'x' }]),
      ['created'],
    ],
    ['have a finalizer', (p) => (p.metadata.finalizers = ['example.com/hold']), ['created']],
  ])('a NetworkPolicy that would %s', (_name, change, rules) => {
    const body = changed(quarantine(), change);
    expect(brokenRules(create(body, NETWORK_POLICIES))).toEqual(rules);
    expect(create(body, NETWORK_POLICIES, OPERATOR)).toEqual({ kind: 'not-matched' });
  });

  const [awsTier, apiTier, ciliumTier] = TIER_KINDS;
  const tierBody = (tier: (typeof TIER_KINDS)[number]) =>
    tier.body(found(storedPod()), FINDING, true);

  it.each<[string, NonNullable<typeof awsTier>, (policy: Json) => void, Rule[]]>([
    [
      'accept all egress',
      awsTier!,
      (p) => (p.spec.egress = [{ action: 'Accept', to: [{ networks: ['0.0.0.0/0'] }] }]),
      ['clusterPolicy'],
    ],
    [
      'pass ingress to the lower tiers',
      apiTier!,
      (p) => (p.spec.ingress[0].action = 'Pass'),
      ['clusterPolicy'],
    ],
    ['select every pod', apiTier!, (p) => (p.spec.subject = { namespaces: {} }), ['clusterPolicy']],
    ['sit in the Baseline tier', awsTier!, (p) => (p.spec.tier = 'Baseline'), ['clusterPolicy']],
    [
      'take another name',
      awsTier!,
      (p) => (p.metadata.name = networkPolicyName('other')),
      ['created'],
    ],
    ['select every endpoint', ciliumTier!, (p) => (p.spec.endpointSelector = {}), ['cilium']],
    [
      'allow ingress',
      ciliumTier!,
      (p) => (p.spec.ingress = [{ fromEntities: ['all'] }]),
      ['cilium'],
    ],
    ['carry several specs', ciliumTier!, (p) => (p.specs = [{ endpointSelector: {} }]), ['cilium']],
  ])('a tier object that would %s', (_name, tier, change, rules) => {
    const body = changed(tierBody(tier), change);
    expect(brokenRules(create(body, tierResource(tier)))).toEqual(rules);
    expect(create(body, tierResource(tier), OPERATOR)).toEqual({ kind: 'not-matched' });
  });
});

describe('admission policy: who it applies to', () => {
  it('matches no request whose user has no groups, without an error', async () => {
    const stored = storedPod();
    const image = changed(stored, (p) => (p.spec.containers[0].image = 'x'));
    expect(update(stored, image, { username: 'system:anonymous', groups: [] })).toEqual({
      kind: 'not-matched',
    });
    expect(update(stored, await labelledPod(), OPERATOR)).toEqual({ kind: 'not-matched' });
  });

  it('matches a member of the group whatever else it is', () => {
    const stored = storedPod();
    const image = changed(stored, (p) => (p.spec.containers[0].image = 'x'));
    const member = { username: 'someone', groups: ['system:masters', ISOLATE_POD_K8S_GROUP] };
    expect(brokenRules(update(stored, image, member))).toEqual(['fields']);
  });
});
