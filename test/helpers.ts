/**
 * Test helpers: load the project's sample events and the real public GuardDuty samples; apply
 * a merge patch as the API server does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPolicy, type Policy } from '../shared/policy.js';

export const EVENTS_DIR = join(import.meta.dirname, '..', 'events');
/** Real public GuardDuty events, copied with their provenance (SOURCES.md there). */
export const REAL_FIXTURES_DIR = join(import.meta.dirname, 'fixtures', 'guardduty-real');

/** Names of the JSON files in a folder, sorted. */
export const jsonFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort();

/** A parsed copy of a sample event (a fresh object each call, safe to mutate). */
export function loadEvent(name: string): Record<string, any> {
  return JSON.parse(readFileSync(join(EVENTS_DIR, name), 'utf8')) as Record<string, any>;
}

export const loadRealFixture = (name: string): unknown =>
  JSON.parse(readFileSync(join(REAL_FIXTURES_DIR, name), 'utf8'));

/** The default policy with some keys changed. */
export function policyWith(change: (policy: Policy) => void): Policy {
  const policy = structuredClone(defaultPolicy());
  change(policy);
  return policy;
}

/** RFC 7386 JSON merge patch (what the API server applies for `merge-patch+json`). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** Turn on every optional action of the policy (Auto Scaling: detach). */
export function enableEveryOption(policy: Policy): void {
  policy.eks.detachFromController = true;
  policy.ecs.stopSiblingTasks = true;
  policy.ecs.scaleServiceToZero = true;
  policy.ec2.snapshotVolumes = true;
  policy.ec2.autoScaling = 'detach';
  policy.ec2.deregisterFromTargetGroups = true;
}
