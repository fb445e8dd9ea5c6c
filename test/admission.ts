/**
 * A ValidatingAdmissionPolicy evaluated as the API server evaluates it, with a real CEL
 * implementation (@bufbuild/cel) standing in for the API server's: the resource rules, then
 * the match conditions, then the variables, then every validation. The CEL variables are
 * built as the API server builds them (k8s.io/apiserver admission/plugin/cel): `object` and
 * `oldObject` are the objects as unstructured JSON (null for a CREATE's oldObject and a
 * DELETE's object), `request` is the AdmissionRequest as unstructured JSON, whose
 * `omitempty` fields (subResource, namespace, name, userInfo.groups) are absent when empty.
 * JSON integers are CEL ints, as the unstructured converter gives int64.
 */
import { isCelError, parse, plan, celEnv, type CelInput } from '@bufbuild/cel';
import type {
  V1MatchCondition,
  V1NamedRuleWithOperations,
  V1ValidatingAdmissionPolicy,
  V1Validation,
  V1Variable,
} from '@kubernetes/client-node';

export type Json = Record<string, any>;

export interface AdmissionInput {
  object: Json | null;
  oldObject: Json | null;
  request: Json;
}

export type Verdict =
  /** The policy does not apply: no resource rule or a false match condition. */
  | { kind: 'not-matched' }
  | { kind: 'allowed' }
  /** Messages of the validations that were false, or `error: …` for one that failed. */
  | { kind: 'denied'; messages: string[] };

/** JSON as CEL input: integers as CEL ints (bigint), everything else as it is. */
export function celInput(value: unknown): CelInput {
  if (Array.isArray(value)) return value.map(celInput);
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, celInput(v)]));
  }
  return value as CelInput;
}

const env = celEnv();

/** An expression compiled once; its result, or the error it raised. */
function compile(expression: string): (bindings: Record<string, CelInput>) => unknown {
  const run = plan(env, parse(expression));
  return (bindings) => run(bindings);
}

const listHas = (list: readonly string[] | undefined, value: string): boolean =>
  (list ?? []).includes('*') || (list ?? []).includes(value);

/** A resource rule as the webhook rule matcher reads it (scope not modelled). */
function ruleMatches(rule: V1NamedRuleWithOperations, request: Json): boolean {
  const { group, version, resource } = request.resource as Record<string, string>;
  const sub = (request.subResource as string | undefined) ?? '';
  const resources = rule.resources ?? [];
  const resourceMatches = sub
    ? resources.includes('*/*') ||
      resources.includes(`${resource}/*`) ||
      resources.includes(`*/${sub}`) ||
      resources.includes(`${resource}/${sub}`)
    : resources.includes('*') || resources.includes(resource!);
  return (
    listHas(rule.apiGroups, group!) &&
    listHas(rule.apiVersions, version!) &&
    listHas(rule.operations, request.operation as string) &&
    resourceMatches
  );
}

/** The policy, compiled: call it with one admission request. */
export function admissionPolicy(
  policy: V1ValidatingAdmissionPolicy,
): (input: AdmissionInput) => Verdict {
  const spec = policy.spec!;
  const rules = spec.matchConstraints?.resourceRules ?? [];
  const conditions = (spec.matchConditions ?? []).map((c: V1MatchCondition) => ({
    name: c.name,
    run: compile(c.expression),
  }));
  const variables = (spec.variables ?? []).map((v: V1Variable) => ({
    name: v.name,
    run: compile(v.expression),
  }));
  const validations = (spec.validations ?? []).map((v: V1Validation) => ({
    message: v.message ?? v.expression,
    run: compile(v.expression),
  }));
  const failClosed = (spec.failurePolicy ?? 'Fail') === 'Fail';

  return ({ object, oldObject, request }) => {
    if (!rules.some((rule) => ruleMatches(rule, request))) return { kind: 'not-matched' };
    const base: Record<string, CelInput> = {
      object: celInput(object),
      oldObject: celInput(oldObject),
      request: celInput(request),
    };
    const errors: string[] = [];
    for (const condition of conditions) {
      const result = condition.run(base);
      if (isCelError(result)) {
        errors.push(`error: matchCondition ${condition.name}: ${result.message}`);
      } else if (result !== true) {
        return { kind: 'not-matched' };
      }
    }
    if (errors.length > 0) {
      return failClosed ? { kind: 'denied', messages: errors } : { kind: 'not-matched' };
    }
    // The API server evaluates a variable when an expression first reads it; one that
    // fails fails only the expressions that read it. Evaluated in order here, a failed one
    // is left out, so reading it fails the same way.
    const values: Record<string, CelInput> = {};
    for (const variable of variables) {
      const value = variable.run({ ...base, variables: values });
      if (!isCelError(value)) values[variable.name] = value as CelInput;
    }
    const messages: string[] = [];
    for (const validation of validations) {
      const result = validation.run({ ...base, variables: values });
      if (isCelError(result)) {
        if (failClosed) messages.push(`error: ${result.message}`);
      } else if (result !== true) {
        messages.push(validation.message);
      }
    }
    return messages.length > 0 ? { kind: 'denied', messages } : { kind: 'allowed' };
  };
}

export interface RequestFields {
  group: string;
  version: string;
  resource: string;
  kind: string;
  subResource?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  name?: string;
  namespace?: string;
  username: string;
  groups: readonly string[];
  options?: Json;
}

/**
 * The AdmissionRequest the API server gives the policy, as unstructured JSON: empty
 * `omitempty` fields are absent, as `runtime.DefaultUnstructuredConverter` leaves them.
 */
export function admissionRequest(fields: RequestFields): Json {
  const kind = { group: fields.group, version: fields.version, kind: fields.kind };
  const resource = { group: fields.group, version: fields.version, resource: fields.resource };
  const present = <T>(key: string, value: T | undefined) =>
    value === undefined || value === '' ? {} : { [key]: value };
  return {
    kind,
    resource,
    ...present('subResource', fields.subResource),
    requestKind: kind,
    requestResource: resource,
    ...present('requestSubResource', fields.subResource),
    ...present('name', fields.name),
    ...present('namespace', fields.namespace),
    operation: fields.operation,
    userInfo: {
      username: fields.username,
      ...(fields.groups.length > 0 ? { groups: [...fields.groups] } : {}),
    },
    dryRun: false,
    ...present('options', fields.options),
  };
}
