/**
 * The response policy: one JSON document, laid over the bundled default and validated
 * strictly. Unknown keys are errors, so a misspelt setting can never be silently ignored
 * and fall back to containing.
 */
import { readFileSync } from 'node:fs';
import * as z from './zod.js';
import { BYPASS_RESPONSES, type Surface } from './contracts.js';
import { K8S_NAMESPACE, RUNTIME_FINDING_TYPE } from './identifiers.js';
import defaultPolicyDocument from './default-policy.json' with { type: 'json' };

/**
 * Works as an AWS tag key and as a Kubernetes label/annotation key (optional DNS prefix,
 * then a name of at most 63 characters).
 */
const EXEMPTION_KEY =
  /^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

const Mode = z.enum(['contain', 'notify', 'off']);
export type Mode = z.infer<typeof Mode>;
const Severity = z.number().check(z.gte(0), z.lte(10));

const SurfacePolicySchema = z.strictObject({ mode: Mode });

const FindingTypePolicySchema = z.strictObject({
  mode: z.optional(Mode),
  minSeverityToContain: z.optional(Severity),
});

export const PolicySchema = z.strictObject({
  $schema: z.optional(z.string()),
  version: z.literal(1),
  /** Plan and report, but change nothing. */
  dryRun: z.boolean(),
  /** Findings at or above this severity are contained; below, only notified. */
  minSeverityToContain: Severity,
  /** Namespaces whose pods are never contained automatically (notify only). */
  protectedNamespaces: z.array(z.string().check(z.regex(K8S_NAMESPACE))),
  /** Tag key (EC2, ECS) or label/annotation key (pods) that exempts a workload. */
  exemptionKey: z.string().check(z.regex(EXEMPTION_KEY)),
  surfaces: z.strictObject({
    'eks-pod': SurfacePolicySchema,
    'ecs-task': SurfacePolicySchema,
    'ec2-instance': SurfacePolicySchema,
  }),
  eks: z.strictObject({
    /** Cordon the node when the finding signals the host may be compromised. */
    cordonNodeOnHostCompromise: z.boolean(),
    /** Blast-radius cap: at most this many nodes cordoned by the responder per cluster. */
    maxCordonedNodesPerCluster: z.int().check(z.gte(0), z.lte(1000)),
    /** Let an isolated pod still reach cluster DNS (kube-dns, port 53). */
    allowDnsEgress: z.boolean(),
    /** Relabel the pod out of its controller's selector, so a clean replica replaces it. */
    detachFromController: z.boolean(),
    /**
     * When other NetworkPolicies still let traffic reach or leave the quarantined pod:
     * `report` it (the pod is reported NOT isolated, nothing more is changed), or
     * `delete-replaceable-pod` (delete it when a controller replaces it; its memory and
     * files are lost as evidence; needs infra/k8s/rbac-opt-in.yaml). Absent: `report`.
     */
    whenIsolationBypassed: z._default(z.enum(BYPASS_RESPONSES), 'report'),
    /**
     * Count a deny the responder placed in a tier above NetworkPolicies (ClusterNetworkPolicy,
     * CiliumClusterwideNetworkPolicy) as overriding the allows it covers. Set it only when
     * the cluster's network plugin enforces that kind: a served API proves nothing (CRDs
     * outlive an uninstalled plugin). Absent: false, every allow counts.
     */
    trustDenyTier: z._default(z.boolean(), false),
  }),
  ecs: z.strictObject({
    /** Also stop other running tasks of the cluster that run the same image digest. */
    stopSiblingTasks: z.boolean(),
    /** Set the task's service desired count to zero, so no replacement starts. */
    scaleServiceToZero: z.boolean(),
  }),
  ec2: z.strictObject({
    /** Snapshot attached EBS volumes after quarantine (tagged with the finding id). */
    snapshotVolumes: z.boolean(),
    /** Auto Scaling group: leave it, detach the instance (capacity kept), or protect it from scale-in. */
    autoScaling: z.enum(['leave', 'detach', 'protect-from-scale-in']),
    /** Deregister the instance from every load balancer target group. */
    deregisterFromTargetGroups: z.boolean(),
  }),
  /**
   * Blast-radius budget: at most this many workloads contained per surface per window (a
   * finding that changes nothing, such as one about a workload already contained, uses
   * none). Past it the surface is notify-only (one loud alert says so) until the window passes.
   */
  budget: z.strictObject({
    windowMinutes: z.int().check(z.gte(1), z.lte(1440)),
    maxContainments: z.strictObject({
      'eks-pod': z.int().check(z.gte(0), z.lte(10_000)),
      'ecs-task': z.int().check(z.gte(0), z.lte(10_000)),
      'ec2-instance': z.int().check(z.gte(0), z.lte(10_000)),
    }),
    /**
     * Largest share of a surface's window budget one cluster (EKS, ECS) or account (EC2) may
     * use, so one compromised cluster cannot switch containment off for the others. At least
     * one containment per scope while the surface allows any. Added later: absent means 0.5.
     */
    maxSharePerScope: z._default(z.number().check(z.gt(0), z.lte(1)), 0.5),
  }),
  /** A re-delivered finding sends at most one "still active" update per this many minutes. */
  duplicateAlertIntervalMinutes: z.int().check(z.gte(1), z.lte(10_080)),
  /**
   * A standalone container on an EC2 instance (resource type `Container`) has no API of
   * its own to isolate it: quarantine the host instance, or only notify.
   */
  standaloneContainer: z.enum(['quarantine-host', 'notify']),
  /** Per finding type: override the mode or the severity threshold. */
  findingTypes: z.record(z.string().check(z.regex(RUNTIME_FINDING_TYPE)), FindingTypePolicySchema),
});
/** A validated response policy. */
export type Policy = z.infer<typeof PolicySchema>;

/** A policy document that cannot be used; `message` names the file and the bad key. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

/** Every problem, each with the key it is about: a typo must not hide behind the others. */
function describePolicyIssues(error: z.core.$ZodError, source: string): string {
  // An unknown key's message names it (`Unrecognized key: "minSeverity"`).
  return `invalid policy in ${source}: ${z.issueLines(error).join('; ')}`;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `overrides` laid over `base`: objects are merged key by key, anything else (arrays,
 * scalars, null) in `overrides` replaces what `base` has. Built with own properties only,
 * so a `__proto__` key stays a key (and is refused as unknown), never a prototype.
 */
export function layered(base: unknown, overrides: unknown): unknown {
  if (!isObject(base) || !isObject(overrides)) return overrides;
  const keys = new Set([...Object.keys(base), ...Object.keys(overrides)]);
  return Object.fromEntries(
    [...keys].map((key) => [
      key,
      Object.hasOwn(overrides, key)
        ? layered(Object.hasOwn(base, key) ? base[key] : undefined, overrides[key])
        : base[key],
    ]),
  );
}

function validated(document: unknown, source: string): Policy {
  const result = PolicySchema.safeParse(document);
  if (!result.success) throw new PolicyError(describePolicyIssues(result.error, source));
  return result.data;
}

/**
 * A policy document sets only what differs from the bundled default
 * (`shared/default-policy.json`); it is laid over the default, then the whole is validated
 * strictly. Throws a PolicyError naming every bad key.
 */
export function parsePolicy(document: unknown, source = 'policy'): Policy {
  return validated(layered(defaultPolicyDocument, document), source);
}

/** Read a policy file and lay it over the default (see parsePolicy). */
export function loadPolicyFile(path: string): Policy {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PolicyError(`cannot read policy file ${path}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(raw);
  } catch (error) {
    throw new PolicyError(`policy file ${path} is not JSON: ${(error as Error).message}`);
  }
  return parsePolicy(document, path);
}

/** The policy shipped with the responder (`shared/default-policy.json`). */
export function defaultPolicy(): Policy {
  return validated(defaultPolicyDocument, 'shared/default-policy.json');
}

/**
 * The policy in force, as a complete policy document (`replay --print-policy`). The
 * `$schema` reference is left out: it is relative to the file it was read from.
 */
export function effectivePolicyDocument(policy: Policy): Omit<Policy, '$schema'> {
  const settings = { ...policy };
  delete settings.$schema;
  return settings;
}

/** The mode in force for a finding type on a surface: the type's override wins. */
export function modeFor(policy: Policy, surface: Surface, findingType: string): Mode {
  return policy.findingTypes[findingType]?.mode ?? policy.surfaces[surface].mode;
}

/** The severity threshold for a finding type. */
export function thresholdFor(policy: Policy, findingType: string): number {
  return policy.findingTypes[findingType]?.minSeverityToContain ?? policy.minSeverityToContain;
}

/**
 * JSON Schema of a policy file for editors and reviewers, generated from the same zod
 * schema. Every key may be left out (the default fills it), so nothing is required; unknown
 * keys are still refused.
 */
export function policyJsonSchema(): unknown {
  return withoutRequired(z.toJSONSchema(PolicySchema, { target: 'draft-2020-12', io: 'input' }));
}

/** A JSON Schema with every `required` keyword taken out (a property named so is kept). */
function withoutRequired(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutRequired);
  if (!isObject(schema)) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key, value]) => !(key === 'required' && Array.isArray(value)))
      .map(([key, value]) => [key, withoutRequired(value)]),
  );
}
