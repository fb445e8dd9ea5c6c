/**
 * Names the responder writes into Kubernetes, shared by isolate-pod, the alerts' release
 * steps and the RBAC tests, so undoing a containment never depends on guessing them.
 */

/** The prefix of every label and annotation key the responder writes. */
export const RESPONDER_LABEL_PREFIX = 'guardduty-responder/';

/** Label on the quarantined pod and its NetworkPolicy; the value is the pod's uid. */
export const QUARANTINE_LABEL = 'guardduty-responder/quarantine';

/** Annotation on the pod, NetworkPolicy and node: the GuardDuty finding id. */
export const FINDING_ANNOTATION = 'guardduty-responder/finding-id';

/** Label on a node the responder cordoned. */
export const CORDONED_LABEL = 'guardduty-responder/cordoned';

/** Deterministic NetworkPolicy name for a pod, so re-runs find the one they created. */
export const networkPolicyName = (podUid: string): string => `gdrr-quarantine-${podUid}`;

/**
 * Kubernetes group the isolate-pod role is mapped to by an EKS access entry; the RBAC in
 * `infra/k8s/rbac.yaml` binds this group to the responder's ClusterRole.
 */
export const ISOLATE_POD_K8S_GROUP = 'gdrr:isolate-pod';
