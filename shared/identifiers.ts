/**
 * Strict patterns for every identifier that may reach an AWS or Kubernetes API call, a URL
 * or a subject line. A value that fails its pattern is never used to act on anything.
 */

/** EC2 instance id: `i-` then 8 (legacy) or 17 lowercase hex characters. */
export const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/** Twelve-digit AWS account id. */
export const ACCOUNT_ID = /^\d{12}$/;

/** AWS region name such as `us-east-1` or `us-gov-west-1`. */
export const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

/** AWS partition names this responder knows how to build console links for. */
export const PARTITION = /^aws(?:-cn|-us-gov)?$/;

/** GuardDuty finding id and detector id: lowercase hex (32 characters in practice). */
export const GUARDDUTY_ID = /^[0-9a-f]{1,64}$/;

/** `ThreatPurpose:Runtime/ThreatFamily.Mechanism!Artifact` (see finding-schema §1). */
export const RUNTIME_FINDING_TYPE = /^[A-Za-z]+:Runtime\/[A-Za-z0-9.!&_-]+$/;

/** Any GuardDuty finding type string, used to tell a runtime type from others. */
export const FINDING_TYPE = /^[A-Za-z]+:[A-Za-z0-9]+\/[A-Za-z0-9.!&_-]+$/;

/** EKS cluster name (AWS: 1–100 chars, starts alphanumeric). */
export const EKS_CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

/** Kubernetes namespace: an RFC 1123 label (at most 63 characters). */
export const K8S_NAMESPACE = /^(?=.{1,63}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;

/** RFC 1123 subdomain (at most 253 characters): Kubernetes object names, label key prefixes. */
const DNS1123_SUBDOMAIN_BODY =
  '[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*';
export const DNS1123_SUBDOMAIN = new RegExp(`^(?=.{1,253}$)${DNS1123_SUBDOMAIN_BODY}$`);

/** Kubernetes pod name: an RFC 1123 subdomain. */
export const K8S_POD_NAME = DNS1123_SUBDOMAIN;

/**
 * Kubernetes node name: an RFC 1123 subdomain. Also what may go into a `spec.nodeName=`
 * field selector: a subdomain has no `,`, `=`, `!` or `\\`, the characters a selector would
 * read as syntax.
 */
export const K8S_NODE_NAME = DNS1123_SUBDOMAIN;

/** Kubernetes NetworkPolicy name: an RFC 1123 subdomain. */
export const K8S_NETWORK_POLICY_NAME = DNS1123_SUBDOMAIN;

// A label name and a non-empty label value share one syntax: at most 63 characters,
// alphanumeric at both ends, `-`, `_` and `.` inside.
const LABEL_NAME_BODY = '(?=[^/]{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?';

/** Kubernetes label key: an optional RFC 1123 subdomain prefix and `/`, then the name. */
export const K8S_LABEL_KEY = new RegExp(
  `^(?:(?=[^/]{1,253}/)${DNS1123_SUBDOMAIN_BODY}/)?${LABEL_NAME_BODY}$`,
);

/** Kubernetes label value: empty, or the syntax of a label name. */
export const K8S_LABEL_VALUE = new RegExp(`^(?:${LABEL_NAME_BODY})?$`);

/** Kubernetes object uid (a UUID). */
export const K8S_UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Container id as the container runtime reports it, with or without `runtime://`. */
export const CONTAINER_ID = /^(?:(?:docker|containerd|cri-o):\/\/)?([0-9a-f]{64})$/;

/** ECS cluster ARN. */
export const ECS_CLUSTER_ARN =
  /^arn:(aws(?:-cn|-us-gov)?):ecs:([a-z]{2}(?:-[a-z]+)+-\d{1,2}):(\d{12}):cluster\/([A-Za-z0-9_-]{1,255})$/;

/**
 * ECS task ARN, both forms: `task/<cluster>/<id>` (current) and `task/<id>` (older). The id
 * is 32 hex characters in current AWS, a dashed UUID in the older form and in emulators.
 */
export const ECS_TASK_ARN =
  /^arn:(aws(?:-cn|-us-gov)?):ecs:([a-z]{2}(?:-[a-z]+)+-\d{1,2}):(\d{12}):task\/(?:([A-Za-z0-9_-]{1,255})\/)?([0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** ECS service name: letters, digits, hyphens and underscores, at most 255. */
export const ECS_SERVICE_NAME = /^[A-Za-z0-9_-]{1,255}$/;

/** EC2 security group id. */
export const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8,17}$/;

/** EC2 network interface id. */
export const NETWORK_INTERFACE_ID = /^eni-[0-9a-f]{8,17}$/;

/** A count as printed in a command: a non-negative decimal integer. */
export const COUNT = /^(?:0|[1-9]\d{0,9})$/;

/** SHA-256 as lowercase hex. */
export const SHA256 = /^[0-9a-f]{64}$/;

/** True when `value` is a string that matches `pattern` in full. */
export function matches(pattern: RegExp, value: unknown): value is string {
  return typeof value === 'string' && pattern.test(value);
}

/** A value with the syntax it must have, named for a human: `['namespace', K8S_NAMESPACE, ns]`. */
export type Expected = readonly [what: string, syntax: RegExp, value: unknown];

// Enough of an invalid value to find it; the rest is marked as cut.
const SHOWN_MAX = 80;

/** How an invalid value is shown: quoted and escaped (JSON), or its type when not a string. */
function shownValue(value: unknown): string {
  if (typeof value !== 'string') return `(a ${typeof value})`;
  const cut = value.length > SHOWN_MAX ? '…' : '';
  return `${JSON.stringify(value.slice(0, SHOWN_MAX))}${cut}`;
}

/**
 * Why the first value that lacks its syntax is refused (`namespace "a;b" is invalid`), or
 * undefined when every value has it. Attacker text is quoted here; the caller still passes
 * the reason through `cleanText` before a human sees it.
 */
export function invalidAmong(expected: readonly Expected[]): string | undefined {
  const bad = expected.find(([, syntax, value]) => !matches(syntax, value));
  return bad === undefined ? undefined : `${bad[0]} ${shownValue(bad[2])} is invalid`;
}
