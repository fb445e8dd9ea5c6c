import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaultPolicy,
  layered,
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

describe('a partial policy is laid over the default', () => {
  it('objects merge key by key: what the file leaves out is the default', () => {
    const policy = parsePolicy(
      { eks: { allowDnsEgress: true }, budget: { maxContainments: { 'eks-pod': 3 } } },
      'partial.json',
    );
    expect(policy.eks).toEqual({ ...defaultPolicy().eks, allowDnsEgress: true });
    expect(policy.budget.maxContainments).toEqual({
      ...defaultPolicy().budget.maxContainments,
      'eks-pod': 3,
    });
    // Nothing else changed.
    expect({ ...policy, eks: defaultPolicy().eks, budget: defaultPolicy().budget }).toEqual(
      defaultPolicy(),
    );
  });

  it('an empty document is the default policy', () => {
    expect(parsePolicy({}, 'empty.json')).toEqual(defaultPolicy());
  });

  it('arrays and scalars replace', () => {
    const policy = parsePolicy(
      { protectedNamespaces: ['payments'], minSeverityToContain: 5 },
      'partial.json',
    );
    expect(policy.protectedNamespaces).toEqual(['payments']);
    expect(policy.minSeverityToContain).toBe(5);
  });

  it("finding types merge with the default's; a type's own keys merge too", () => {
    const policy = parsePolicy(
      {
        findingTypes: {
          'Execution:Runtime/ReverseShell': { minSeverityToContain: 4 },
          'Discovery:Runtime/SuspiciousCommand': { mode: 'contain' },
        },
      },
      'partial.json',
    );
    expect(thresholdFor(policy, 'Execution:Runtime/ReverseShell')).toBe(4);
    expect(modeFor(policy, 'ec2-instance', 'Discovery:Runtime/SuspiciousCommand')).toBe('contain');
    expect(modeFor(policy, 'ec2-instance', 'Execution:Runtime/SuspiciousShellCreated')).toBe(
      'notify',
    );
  });

  it('an unknown key is still refused, at any depth', () => {
    expect(() => parsePolicy({ minSeverity: 5 }, 'p.json')).toThrow(
      /invalid policy in p\.json: \(root\): Unrecognized key: "minSeverity"$/,
    );
    expect(() => parsePolicy({ eks: { allowDNSEgress: true } }, 'p.json')).toThrow(
      /eks: Unrecognized key: "allowDNSEgress"/,
    );
    expect(() => parsePolicy(JSON.parse('{"__proto__": {"dryRun": true}}'), 'p.json')).toThrow(
      /Unrecognized key: "__proto__"/,
    );
  });

  it('every problem is listed, however many', () => {
    const document = {
      dryRun: 'yes',
      minSeverityToContain: 11,
      exemptionKey: 'exempt me',
      protectedNamespaces: ['Kube_System'],
      surfaces: { lambda: { mode: 'contain' }, 'eks-pod': { mode: 'quarantine' } },
      eks: { maxCordonedNodesPerCluster: -1, allowDNSEgress: true },
      ecs: { stopSiblings: true },
      ec2: { autoScaling: 'terminate' },
      budget: { windowMinutes: 0 },
      duplicateAlertIntervalMinutes: 'hourly',
      minSeverity: 3,
    };
    const message = (() => {
      try {
        parsePolicy(document, 'p.json');
      } catch (error) {
        return (error as PolicyError).message;
      }
      return '';
    })();
    const expected = [
      'dryRun',
      'minSeverityToContain',
      'exemptionKey',
      'protectedNamespaces.0',
      'surfaces: Unrecognized key: "lambda"',
      'surfaces.eks-pod.mode',
      'eks.maxCordonedNodesPerCluster',
      'eks: Unrecognized key: "allowDNSEgress"',
      'ecs: Unrecognized key: "stopSiblings"',
      'ec2.autoScaling',
      'budget.windowMinutes',
      'duplicateAlertIntervalMinutes',
      '(root): Unrecognized key: "minSeverity"',
    ];
    for (const problem of expected) expect(message).toContain(problem);
    expect(message.split('; ')).toHaveLength(expected.length);
  });

  it('a document that is not an object is refused', () => {
    for (const document of [[], null, 'contain', 7]) {
      expect(() => parsePolicy(document, 'p.json')).toThrow(/\(root\): .*expected object/);
    }
  });

  it('layered: own keys only, never the prototype', () => {
    const merged = layered(
      { a: { b: 1, c: [1, 2] } },
      JSON.parse('{"a":{"c":[3]},"__proto__":{"x":1}}'),
    );
    expect(merged).toEqual({ a: { b: 1, c: [3] }, ['__proto__']: { x: 1 } });
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('the published JSON Schema requires no key and still refuses unknown ones', () => {
    const schema = JSON.stringify(policyJsonSchema());
    expect(schema).not.toContain('"required"');
    expect(schema).toContain('"additionalProperties":false');
  });
});

describe('loadPolicyFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gdrr-policy-'));

  it('loads a valid file', () => {
    const path = join(dir, 'ok.json');
    writeFileSync(path, JSON.stringify({ ...base(), minSeverityToContain: 8.5 }));
    expect(loadPolicyFile(path).minSeverityToContain).toBe(8.5);
  });

  it('loads a partial file over the default', () => {
    const path = join(dir, 'partial.json');
    writeFileSync(path, JSON.stringify({ dryRun: true }));
    expect(loadPolicyFile(path)).toEqual({ ...defaultPolicy(), dryRun: true });
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
