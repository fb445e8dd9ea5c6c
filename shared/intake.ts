/**
 * Intake: the one place raw input is parsed. Accepts an EventBridge envelope or a bare
 * finding and yields a sanitized Finding, or says why the input is ignored or rejected.
 */
import { describeIssues, EnvelopeSchema, WireFindingSchema } from './finding-schema.js';
import { toFinding, type Finding } from './finding.js';
import {
  ACCOUNT_ID,
  FINDING_TYPE,
  GUARDDUTY_ID,
  PARTITION,
  REGION,
  RUNTIME_FINDING_TYPE,
} from './identifiers.js';
import { cleanText } from './sanitize.js';

export const GUARDDUTY_SOURCE = 'aws.guardduty';
export const FINDING_DETAIL_TYPE = 'GuardDuty Finding';

/** Identifiers known even when the finding is not acted on (validated or absent). */
export interface Known {
  findingId?: string;
  findingType?: string;
  severity?: number;
}

export type Intake =
  | { kind: 'finding'; finding: Finding }
  | { kind: 'ignore'; reason: string; known: Known }
  | { kind: 'reject'; reason: string; known: Known };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A value for a reason line: a sanitized string in quotes, or what kind of value it is. */
function quoted(value: unknown): string {
  if (typeof value === 'string') return `"${cleanText(value, 'short')}"`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function knownOf(detail: Record<string, unknown>): Known {
  const { id, type, severity } = detail;
  return {
    findingId: typeof id === 'string' && GUARDDUTY_ID.test(id) ? id : undefined,
    findingType: typeof type === 'string' && FINDING_TYPE.test(type) ? type : undefined,
    severity: typeof severity === 'number' && Number.isFinite(severity) ? severity : undefined,
  };
}

/** Unwrap an EventBridge envelope; a bare finding passes through as the detail itself. */
function unwrap(input: Record<string, unknown>): { detail: unknown; prefix: string } | Intake {
  const isEnvelope = 'detail-type' in input || 'source' in input;
  if (!isEnvelope) return { detail: input, prefix: '' };
  if (input.source !== GUARDDUTY_SOURCE) {
    return {
      kind: 'ignore',
      reason: `event source ${quoted(input.source)} is not ${GUARDDUTY_SOURCE}`,
      known: {},
    };
  }
  if (input['detail-type'] !== FINDING_DETAIL_TYPE) {
    return {
      kind: 'ignore',
      reason: `event detail-type ${quoted(input['detail-type'])} is not "${FINDING_DETAIL_TYPE}"`,
      known: {},
    };
  }
  const envelope = EnvelopeSchema.safeParse(input);
  if (!envelope.success) {
    return {
      kind: 'reject',
      reason: `malformed EventBridge envelope: ${describeIssues(envelope.error, '')}`,
      known: {},
    };
  }
  return { detail: envelope.data.detail, prefix: 'detail' };
}

function requiredFieldProblem(detail: Record<string, unknown>, prefix: string): string | undefined {
  const at = (field: string) => (prefix ? `${prefix}.${field}` : field);
  if (typeof detail.id !== 'string') return `${at('id')} is missing or not a string`;
  if (typeof detail.type !== 'string') return `${at('type')} is missing or not a string`;
  if (!isObject(detail.resource)) return `${at('resource')} is missing or not an object`;
  return undefined;
}

/** Parse any JSON value into a Finding, or say why it is ignored or rejected. */
export function intake(input: unknown): Intake {
  if (!isObject(input))
    return { kind: 'reject', reason: `event is ${quoted(input)}, not a JSON object`, known: {} };
  const unwrapped = unwrap(input);
  if ('kind' in unwrapped) return unwrapped;
  const { detail, prefix } = unwrapped;
  const at = (field: string) => (prefix ? `${prefix}.${field}` : field);
  if (!isObject(detail))
    return { kind: 'reject', reason: `${at('(finding)')} is not an object`, known: {} };

  const known = knownOf(detail);
  const missing = requiredFieldProblem(detail, prefix);
  if (missing) return { kind: 'reject', reason: missing, known };
  const type = detail.type as string;
  if (!RUNTIME_FINDING_TYPE.test(type)) {
    return {
      kind: 'ignore',
      reason: `finding type ${quoted(type)} is not a Runtime Monitoring type`,
      known,
    };
  }
  const service = detail.service;
  if (isObject(service) && service.archived === true) {
    return { kind: 'ignore', reason: 'finding is archived', known };
  }

  const parsed = WireFindingSchema.safeParse(detail);
  if (!parsed.success)
    return { kind: 'reject', reason: describeIssues(parsed.error, prefix), known };
  const wire = parsed.data;
  const partition = wire.partition ?? 'aws';
  const checks: [string, RegExp, string][] = [
    ['id', GUARDDUTY_ID, wire.id],
    ['accountId', ACCOUNT_ID, wire.accountId],
    ['region', REGION, wire.region],
    ['partition', PARTITION, partition],
  ];
  for (const [field, pattern, value] of checks) {
    if (!pattern.test(value))
      return { kind: 'reject', reason: `${at(field)} ${quoted(value)} is not valid`, known };
  }
  return {
    kind: 'finding',
    finding: toFinding(wire, {
      id: wire.id,
      type,
      accountId: wire.accountId,
      region: wire.region,
      partition,
    }),
  };
}
