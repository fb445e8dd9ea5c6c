import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaultPolicy,
  loadPolicyFile,
  modeFor,
  parsePolicy,
  PolicyError,
  policyJsonSchema,
  thresholdFor,
} from '../../shared/policy.js';

const base = () => structuredClone(defaultPolicy()) as Record<string, any>;

describe('default policy', () => {
  it('has the documented defaults', () => {
    const policy = defaultPolicy();
    expect(policy.minSeverityToContain).toBe(7);
    expect(policy.protectedNamespaces).toEqual([
      'kube-system',
      'kube-public',
      'kube-node-lease',
      'amazon-guardduty',
    ]);
    expect(policy.dryRun).toBe(false);
    expect(Object.values(policy.surfaces).map((s) => s.mode)).toEqual([
      'contain',
      'contain',
      'contain',
    ]);
  });

  it('resolves modes and thresholds with per-type overrides', () => {
    const policy = defaultPolicy();
    expect(modeFor(policy, 'ec2-instance', 'Discovery:Runtime/SuspiciousCommand')).toBe('notify');
    expect(modeFor(policy, 'ec2-instance', 'Execution:Runtime/ReverseShell')).toBe('contain');
    expect(thresholdFor(policy, 'Execution:Runtime/ReverseShell')).toBe(7);
  });

  it('matches the published JSON Schema file', () => {
    const published: unknown = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'shared', 'policy.schema.json'), 'utf8'),
    );
    expect(published).toEqual(policyJsonSchema());
  });
});

describe('invalid policy: a clear error naming the key, never a silent fallback', () => {
  it.each([
    ['misspelt key', (p: any) => (p.minSeverity = 5), /\(root\): .*minSeverity/],
    ['threshold as string', (p: any) => (p.minSeverityToContain = '7'), /minSeverityToContain/],
    ['threshold out of range', (p: any) => (p.minSeverityToContain = 12), /minSeverityToContain/],
    [
      'unknown surface',
      (p: any) => (p.surfaces.lambda = { mode: 'contain' }),
      /surfaces: .*lambda/,
    ],
    [
      'bad mode',
      (p: any) => (p.surfaces['ec2-instance'].mode = 'quarantine'),
      /surfaces\.ec2-instance\.mode/,
    ],
    ['missing surface', (p: any) => delete p.surfaces['ecs-task'], /surfaces\.ecs-task/],
    [
      'invalid namespace',
      (p: any) => p.protectedNamespaces.push('Kube_System'),
      /protectedNamespaces\.4/,
    ],
    ['invalid exemption key', (p: any) => (p.exemptionKey = 'exempt me'), /exemptionKey/],
    [
      'non-runtime finding type',
      (p: any) => (p.findingTypes['Trojan:EC2/DropPoint'] = { mode: 'notify' }),
      /findingTypes/,
    ],
    [
      'unknown per-type key',
      (p: any) =>
        (p.findingTypes['Execution:Runtime/ReverseShell'] = { mode: 'notify', severity: 3 }),
      /findingTypes\.Execution:Runtime\/ReverseShell.*severity/,
    ],
    ['wrong version', (p: any) => (p.version = 2), /version/],
    ['dryRun as string', (p: any) => (p.dryRun = 'false'), /dryRun/],
  ])('%s', (_name, mutate, message) => {
    const document = base();
    mutate(document);
    expect(() => parsePolicy(document, 'test.json')).toThrow(PolicyError);
    expect(() => parsePolicy(document, 'test.json')).toThrow(message);
    expect(() => parsePolicy(document, 'test.json')).toThrow(/invalid policy in test\.json/);
  });
});

describe('loadPolicyFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gdrr-policy-'));

  it('loads a valid file', () => {
    const path = join(dir, 'ok.json');
    writeFileSync(path, JSON.stringify({ ...base(), minSeverityToContain: 8.5 }));
    expect(loadPolicyFile(path).minSeverityToContain).toBe(8.5);
  });

  it('names a missing file', () => {
    expect(() => loadPolicyFile(join(dir, 'nope.json'))).toThrow(
      /cannot read policy file .*nope\.json/,
    );
  });

  it('names a file that is not JSON', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{ minSeverityToContain: 7 ');
    expect(() => loadPolicyFile(path)).toThrow(/policy file .*bad\.json is not JSON/);
  });
});
