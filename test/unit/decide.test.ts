import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  actionsEnabledBy,
  containmentRequest,
  evaluate,
  hostCompromiseSignals,
  plan,
} from '../../shared/decide.js';
import { ContainmentRequestSchema } from '../../shared/contracts.js';
import { defaultPolicy, type Mode, type Policy } from '../../shared/policy.js';
import {
  enableEveryOption,
  EVENTS_DIR,
  jsonFiles,
  loadEvent,
  loadRealFixture,
  policyWith,
  REAL_FIXTURES_DIR,
} from '../helpers.js';

const policy = defaultPolicy();
const EKS = ['eks:label-pod', 'eks:isolate-pod-network'];
const EKS_CORDON = [...EKS, 'eks:cordon-node'];
const ECS = ['ecs:capture-task', 'ecs:stop-task'];
const EC2 = ['ec2:quarantine-instance'];

/** Expected outcome for every sample in events/ under the default policy. */
const EXPECTED: Record<
  string,
  { decision: string; actions: string[]; surface: string | null; reason: RegExp }
> = {
  'archived-ec2-reverse-shell.json': {
    decision: 'ignore',
    actions: [],
    surface: null,
    reason: /archived/,
  },
  'bare-finding-ec2-crypto-miner.json': {
    decision: 'contain',
    actions: EC2,
    surface: 'ec2-instance',
    reason: /8\.0 >= 7\.0/,
  },
  'container-docker-socket.json': {
    decision: 'contain',
    actions: EC2,
    surface: 'ec2-instance',
    reason: /standalone container/,
  },
  'ec2-cnc-dns.json': {
    decision: 'contain',
    actions: EC2,
    surface: 'ec2-instance',
    reason: /contain for ec2-instance/,
  },
  'ec2-discovery-low.json': {
    decision: 'notify',
    actions: [],
    surface: 'ec2-instance',
    reason: /policy mode is notify/,
  },
  'ec2-invalid-instance-id.json': {
    decision: 'notify',
    actions: [],
    surface: 'ec2-instance',
    reason: /resource\.instanceDetails\.instanceId is not a valid EC2 instance id/,
  },
  'ec2-suspicious-command.json': {
    decision: 'contain',
    actions: EC2,
    surface: 'ec2-instance',
    reason: /contain/,
  },
  'ecs-ec2-reverse-shell.json': {
    decision: 'contain',
    actions: ECS,
    surface: 'ecs-task',
    reason: /contain for ecs-task/,
  },
  'ecs-fargate-cnc-dns.json': {
    decision: 'contain',
    actions: ECS,
    surface: 'ecs-task',
    reason: /contain/,
  },
  'ecs-fargate-crypto-miner.json': {
    decision: 'contain',
    actions: ECS,
    surface: 'ecs-task',
    reason: /contain/,
  },
  'eks-container-id-only.json': {
    decision: 'contain',
    actions: EKS,
    surface: 'eks-pod',
    reason: /contain for eks-pod/,
  },
  'eks-hostile-fields.json': {
    decision: 'contain',
    actions: EKS,
    surface: 'eks-pod',
    reason: /contain/,
  },
  'eks-invalid-pod-name.json': {
    decision: 'notify',
    actions: [],
    surface: 'eks-pod',
    reason: /kubernetesWorkloadDetails\.namespace is not a valid Kubernetes namespace/,
  },
  'eks-kube-system-crypto-miner.json': {
    decision: 'notify',
    actions: [],
    surface: 'eks-pod',
    reason: /namespace kube-system is protected/,
  },
  'eks-new-binary-below-threshold.json': {
    decision: 'notify',
    actions: [],
    surface: 'eks-pod',
    reason: /severity 5\.0 is below the containment threshold 7\.0/,
  },
  'eks-repeat-delivery.json': {
    decision: 'contain',
    actions: EKS,
    surface: 'eks-pod',
    reason: /contain/,
  },
  'eks-reverse-shell.json': {
    decision: 'contain',
    actions: EKS,
    surface: 'eks-pod',
    reason: /contain/,
  },
  'eks-runc-container-escape.json': {
    decision: 'contain',
    actions: EKS_CORDON,
    surface: 'eks-pod',
    reason: /contain/,
  },
  'eu-eks-elevation-to-root.json': {
    decision: 'contain',
    actions: EKS_CORDON,
    surface: 'eks-pod',
    reason: /7\.5 >= 7\.0/,
  },
  'sample-eks-reverse-shell.json': {
    decision: 'notify',
    actions: [],
    surface: 'eks-pod',
    reason: /sample finding/,
  },
};

describe('every sample in events/', () => {
  it('has an expectation (and every expectation has a file)', () => {
    expect(jsonFiles(EVENTS_DIR)).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s', (file, expected) => {
    const evaluation = evaluate(loadEvent(file), policy);
    expect(evaluation.decision).toBe(expected.decision);
    expect(evaluation.actions).toEqual(expected.actions);
    expect(evaluation.reason).toMatch(expected.reason);
    if (expected.decision !== 'ignore') expect(evaluation.surface).toBe(expected.surface);
    if (expected.decision === 'contain') {
      // The request that leaves the router validates against the contract.
      expect(() =>
        ContainmentRequestSchema.parse(containmentRequest(evaluation, policy)),
      ).not.toThrow();
    } else {
      expect(containmentRequest(evaluation, policy)).toBeNull();
    }
  });
});

describe('real public GuardDuty events (none is a runtime finding)', () => {
  it.each(jsonFiles(REAL_FIXTURES_DIR))('%s is ignored', (file) => {
    const evaluation = evaluate(loadRealFixture(file), policy);
    expect(evaluation.decision).toBe('ignore');
    expect(evaluation.actions).toEqual([]);
  });

  it('gives the reason: detail-type for the CloudTrail event, type for the others', () => {
    const cloudTrail = jsonFiles(REAL_FIXTURES_DIR).find((f) => f.includes('CloudTrail'))!;
    expect(evaluate(loadRealFixture(cloudTrail), policy).reason).toMatch(
      /detail-type "AWS API Call via CloudTrail"/,
    );
    const dropPoint = jsonFiles(REAL_FIXTURES_DIR).find((f) => f.includes('DropPoint'))!;
    expect(evaluate(loadRealFixture(dropPoint), policy).reason).toMatch(
      /"Trojan:EC2\/DropPoint" is not a Runtime Monitoring type/,
    );
  });
});

describe('decision branches', () => {
  const reverseShell = () => loadEvent('eks-reverse-shell.json');

  it('ignores other sources and detail-types', () => {
    expect(evaluate({ ...reverseShell(), source: 'aws.securityhub' }, policy)).toMatchObject({
      decision: 'ignore',
      reason: expect.stringMatching(/source "aws.securityhub"/),
    });
    expect(
      evaluate(
        { ...reverseShell(), 'detail-type': 'GuardDuty Runtime Protection Unhealthy' },
        policy,
      ).decision,
    ).toBe('ignore');
  });

  it('treats the envelope and the bare finding alike', () => {
    const event = reverseShell();
    const fromEnvelope = evaluate(event, policy);
    const fromBare = evaluate(event.detail, policy);
    expect(fromBare.decision).toBe('contain');
    expect(fromBare.target).toEqual(fromEnvelope.target);
    expect(fromBare.actions).toEqual(fromEnvelope.actions);
  });

  it('never contains a sample finding, whichever way it is marked', () => {
    const flat = reverseShell();
    flat.detail.service.additionalInfo = { sample: true };
    expect(evaluate(flat, policy)).toMatchObject({ decision: 'notify', actions: [] });
    const nested = reverseShell();
    nested.detail.service.additionalInfo = { value: '{"sample":true}', type: 'default' };
    expect(evaluate(nested, policy)).toMatchObject({ decision: 'notify', actions: [] });
  });

  it('notifies for a resource type with no surface', () => {
    const event = reverseShell();
    event.detail.resource.resourceType = 'Lambda';
    expect(evaluate(event, policy)).toMatchObject({
      decision: 'notify',
      surface: null,
      reason: expect.stringMatching(/resource type «Lambda» has no containment surface/),
    });
  });

  it('applies surface modes: off ignores, notify notifies', () => {
    expect(
      evaluate(
        reverseShell(),
        policyWith((p) => (p.surfaces['eks-pod'].mode = 'off')),
      ),
    ).toMatchObject({ decision: 'ignore', reason: expect.stringMatching(/mode is off/) });
    expect(
      evaluate(
        reverseShell(),
        policyWith((p) => (p.surfaces['eks-pod'].mode = 'notify')),
      ),
    ).toMatchObject({ decision: 'notify', reason: expect.stringMatching(/mode is notify/) });
  });

  it('lets a finding-type override win over the surface mode and threshold', () => {
    const type = 'Execution:Runtime/ReverseShell';
    const notifyType = policyWith((p) => (p.findingTypes[type] = { mode: 'notify' }));
    expect(evaluate(reverseShell(), notifyType).decision).toBe('notify');
    const containType = policyWith((p) => {
      p.surfaces['eks-pod'].mode = 'notify';
      p.findingTypes[type] = { mode: 'contain' };
    });
    expect(evaluate(reverseShell(), containType).decision).toBe('contain');
    const higherBar = policyWith((p) => (p.findingTypes[type] = { minSeverityToContain: 9 }));
    expect(evaluate(reverseShell(), higherBar)).toMatchObject({
      decision: 'notify',
      reason: expect.stringMatching(/below the containment threshold 9\.0/),
    });
  });

  it('contains at exactly the threshold and not just below it', () => {
    const at = reverseShell();
    at.detail.severity = 7.0;
    expect(evaluate(at, policy).decision).toBe('contain');
    const below = reverseShell();
    below.detail.severity = 6.9;
    expect(evaluate(below, policy).decision).toBe('notify');
  });

  it('respects protected namespaces from the policy', () => {
    const custom = policyWith((p) => p.protectedNamespaces.push('payments'));
    expect(evaluate(reverseShell(), custom)).toMatchObject({
      decision: 'notify',
      reason: expect.stringMatching(/namespace payments is protected/),
    });
  });

  it('honours the exemption tag unless its value is "false"', () => {
    const exempt = loadEvent('ec2-suspicious-command.json');
    exempt.detail.resource.instanceDetails.tags.push({
      key: 'guardduty-responder/exempt',
      value: 'true',
    });
    expect(evaluate(exempt, policy)).toMatchObject({
      decision: 'notify',
      reason: expect.stringMatching(/exemption tag guardduty-responder\/exempt/),
    });
    const notExempt = loadEvent('ec2-suspicious-command.json');
    notExempt.detail.resource.instanceDetails.tags.push({
      key: 'guardduty-responder/exempt',
      value: 'false',
    });
    expect(evaluate(notExempt, policy).decision).toBe('contain');
    const ecsClusterExempt = loadEvent('ecs-fargate-crypto-miner.json');
    ecsClusterExempt.detail.resource.ecsClusterDetails.tags = [
      { key: 'guardduty-responder/exempt', value: '' },
    ];
    expect(evaluate(ecsClusterExempt, policy).decision).toBe('notify');
  });

  it('sends a standalone container to notify when the policy says so', () => {
    const notifyContainers = policyWith((p) => (p.standaloneContainer = 'notify'));
    expect(evaluate(loadEvent('container-docker-socket.json'), notifyContainers)).toMatchObject({
      decision: 'notify',
      reason: expect.stringMatching(/standaloneContainer is notify/),
    });
  });

  it('does not cordon when the policy turns cordoning off', () => {
    const noCordon = policyWith((p) => (p.eks.cordonNodeOnHostCompromise = false));
    expect(evaluate(loadEvent('eks-runc-container-escape.json'), noCordon).actions).toEqual(EKS);
  });

  it('carries dry run and the exemption key from the policy into the request', () => {
    const dry = policyWith((p) => (p.dryRun = true));
    const request = containmentRequest(evaluate(reverseShell(), dry), dry);
    expect(request).toMatchObject({
      dryRun: true,
      exemptionKey: 'guardduty-responder/exempt',
      hostCompromise: false,
      version: 1,
    });
  });
});

describe('host-compromise signals', () => {
  it('names each signal', () => {
    const escape = evaluate(loadEvent('eks-runc-container-escape.json'), policy);
    expect(escape.hostSignals).toEqual(
      expect.arrayContaining(['container-escape finding type', 'privileged container']),
    );
    const root = evaluate(loadEvent('eu-eks-elevation-to-root.json'), policy);
    expect(root.hostSignals.join(' ')).toMatch(/privilege-escalation finding type.*hostNetwork/);
    expect(evaluate(loadEvent('eks-reverse-shell.json'), policy).hostSignals).toEqual([]);
  });

  it('counts host namespaces and privileged containers on any type', () => {
    const event = loadEvent('eks-reverse-shell.json');
    event.detail.resource.kubernetesDetails.kubernetesWorkloadDetails.hostPID = true;
    const evaluation = evaluate(event, policy);
    expect(evaluation.actions).toEqual(EKS_CORDON);
    expect(hostCompromiseSignals(evaluation.finding!)).toEqual([
      'pod shares host namespaces (hostPID)',
    ]);
  });

  it('adds the optional actions the policy enables, after containment', () => {
    const all = policyWith(enableEveryOption);
    expect(plan('eks-pod', [], all)).toEqual([...EKS, 'eks:detach-from-controller']);
    expect(plan('ecs-task', [], all)).toEqual([
      ...ECS,
      'ecs:stop-sibling-tasks',
      'ecs:scale-service-to-zero',
    ]);
    expect(plan('ec2-instance', [], all)).toEqual([
      ...EC2,
      'ec2:snapshot-volumes',
      'ec2:detach-from-autoscaling',
      'ec2:deregister-from-target-groups',
    ]);
    const protect = policyWith((p) => (p.ec2.autoScaling = 'protect-from-scale-in'));
    expect(plan('ec2-instance', [], protect)).toEqual([...EC2, 'ec2:protect-from-scale-in']);
  });

  it('passes EKS settings only in EKS requests', () => {
    const eks = containmentRequest(evaluate(loadEvent('eks-reverse-shell.json'), policy), policy);
    expect(eks?.eks).toEqual({
      allowDnsEgress: false,
      maxCordonedNodes: 3,
      protectedNamespaces: policy.protectedNamespaces,
      whenIsolationBypassed: 'report',
      trustDenyTier: false,
    });
    const ec2 = containmentRequest(
      evaluate(loadEvent('ec2-suspicious-command.json'), policy),
      policy,
    );
    expect(ec2?.eks).toBeUndefined();
  });

  it('plans per surface', () => {
    expect(plan('ecs-task', ['x'], policy)).toEqual(ECS);
    expect(plan('ec2-instance', [], policy)).toEqual(EC2);
    expect(plan('eks-pod', [], policy)).toEqual(EKS);
    expect(plan('eks-pod', ['privileged container'], policy)).toEqual(EKS_CORDON);
  });
});

describe('actions a policy enables (what the roles are granted)', () => {
  const sorted = (actions: Iterable<string>) => [...actions].sort();

  it('the default policy enables the containment actions and no optional one', () => {
    expect(sorted(actionsEnabledBy(policy))).toEqual(sorted([...EKS_CORDON, ...ECS, ...EC2]));
  });

  const OPTIONAL: [string, (p: Policy) => void, string][] = [
    [
      'eks.detachFromController',
      (p) => Object.assign(p.eks, { detachFromController: true }),
      'eks:detach-from-controller',
    ],
    [
      'ecs.stopSiblingTasks',
      (p) => Object.assign(p.ecs, { stopSiblingTasks: true }),
      'ecs:stop-sibling-tasks',
    ],
    [
      'ecs.scaleServiceToZero',
      (p) => Object.assign(p.ecs, { scaleServiceToZero: true }),
      'ecs:scale-service-to-zero',
    ],
    [
      'ec2.snapshotVolumes',
      (p) => Object.assign(p.ec2, { snapshotVolumes: true }),
      'ec2:snapshot-volumes',
    ],
    [
      'ec2.autoScaling detach',
      (p) => Object.assign(p.ec2, { autoScaling: 'detach' }),
      'ec2:detach-from-autoscaling',
    ],
    [
      'ec2.autoScaling protect',
      (p) => Object.assign(p.ec2, { autoScaling: 'protect-from-scale-in' }),
      'ec2:protect-from-scale-in',
    ],
    [
      'ec2.deregisterFromTargetGroups',
      (p) => Object.assign(p.ec2, { deregisterFromTargetGroups: true }),
      'ec2:deregister-from-target-groups',
    ],
  ];

  it.each(OPTIONAL)('%s adds exactly its action', (_name, change, added) => {
    expect(sorted(actionsEnabledBy(policyWith(change)))).toEqual(
      sorted([...EKS_CORDON, ...ECS, ...EC2, added]),
    );
  });

  it('a surface that can never contain enables nothing, unless a finding type can contain there', () => {
    const quiet = policyWith((p) => {
      p.surfaces['ec2-instance'].mode = 'notify';
      p.surfaces['ecs-task'].mode = 'off';
      p.ec2.snapshotVolumes = true;
    });
    expect(sorted(actionsEnabledBy(quiet))).toEqual(sorted(EKS_CORDON));
    const override = policyWith((p) => {
      p.surfaces['ec2-instance'].mode = 'notify';
      p.surfaces['ecs-task'].mode = 'off';
      p.findingTypes['Execution:Runtime/ReverseShell'] = { mode: 'contain' };
    });
    expect(sorted(actionsEnabledBy(override))).toEqual(sorted([...EKS_CORDON, ...ECS, ...EC2]));
  });

  it('covers every action any sample finding is planned, under any policy', () => {
    const mode = fc.constantFrom<Mode>('contain', 'notify', 'off');
    const variant = fc.record({
      modes: fc.tuple(mode, mode, mode),
      override: fc.option(mode, { nil: undefined }),
      threshold: fc.double({ min: 0, max: 10, noNaN: true }),
      cordon: fc.boolean(),
      detach: fc.boolean(),
      siblings: fc.boolean(),
      scale: fc.boolean(),
      snapshots: fc.boolean(),
      autoScaling: fc.constantFrom<Policy['ec2']['autoScaling']>(
        'leave',
        'detach',
        'protect-from-scale-in',
      ),
      deregister: fc.boolean(),
      standalone: fc.constantFrom<Policy['standaloneContainer']>('quarantine-host', 'notify'),
    });
    const events = jsonFiles(EVENTS_DIR).map(loadEvent);
    fc.assert(
      fc.property(variant, (v) => {
        const varied = policyWith((p) => {
          [
            p.surfaces['eks-pod'].mode,
            p.surfaces['ecs-task'].mode,
            p.surfaces['ec2-instance'].mode,
          ] = v.modes;
          if (v.override) p.findingTypes['Execution:Runtime/ReverseShell'] = { mode: v.override };
          p.minSeverityToContain = v.threshold;
          p.eks.cordonNodeOnHostCompromise = v.cordon;
          p.eks.detachFromController = v.detach;
          p.ecs.stopSiblingTasks = v.siblings;
          p.ecs.scaleServiceToZero = v.scale;
          p.ec2.snapshotVolumes = v.snapshots;
          p.ec2.autoScaling = v.autoScaling;
          p.ec2.deregisterFromTargetGroups = v.deregister;
          p.standaloneContainer = v.standalone;
        });
        const enabled = actionsEnabledBy(varied);
        for (const event of events) {
          for (const action of evaluate(event, varied).actions) expect(enabled).toContain(action);
        }
      }),
      { numRuns: 40 },
    );
  });
});
