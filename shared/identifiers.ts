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

/** An RFC 1123 subdomain (at most 253 characters): Kubernetes object names such as pods and nodes. */
const DNS_1123_SUBDOMAIN =
  /^(?=.{1,253}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

/** Kubernetes pod name. */
export const K8S_POD_NAME = DNS_1123_SUBDOMAIN;

/**
 * Kubernetes node name. Also what may go into a `spec.nodeName=` field selector: a subdomain
 * has no `,`, `=`, `!` or `\\`, the characters a selector would read as syntax.
 */
export const K8S_NODE_NAME = DNS_1123_SUBDOMAIN;

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

/** SHA-256 as lowercase hex. */
export const SHA256 = /^[0-9a-f]{64}$/;

/** True when `value` is a string that matches `pattern` in full. */
export function matches(pattern: RegExp, value: unknown): value is string {
  return typeof value === 'string' && pattern.test(value);
}
