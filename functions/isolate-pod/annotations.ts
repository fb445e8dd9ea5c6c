/**
 * Annotations only isolate-pod writes (the names shared with other code are in
 * `shared/labels.ts`).
 */

/** On the pod: when the responder labelled it (ISO 8601). */
export const CONTAINED_AT_ANNOTATION = 'guardduty-responder/contained-at';

/**
 * On a pod relabelled out of its controller's selector: the original values of the labels
 * that changed (JSON object; a label removed because the selector only needed it to exist
 * is recorded too), so the pod can be put back even without the alert.
 */
export const DETACHED_LABELS_ANNOTATION = 'guardduty-responder/detached-labels';
