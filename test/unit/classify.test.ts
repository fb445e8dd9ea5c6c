import { describe, expect, it } from 'vitest';
import { classify } from '../../shared/classify.js';
import { intake } from '../../shared/intake.js';
import type { Finding } from '../../shared/finding.js';
import { loadEvent } from '../helpers.js';

function findingOf(event: Record<string, any>): Finding {
  const result = intake(event);
  if (result.kind !== 'finding') throw new Error(`not a finding: ${result.reason}`);
  return result.finding;
}

const classifyEvent = (name: string, mutate: (event: any) => void = () => {}) => {
  const event = loadEvent(name);
  mutate(event);
  return classify(findingOf(event));
};

describe('EKS pod', () => {
  it('names the pod, its uid, the node and the container ids', () => {
    const result = classifyEvent('eks-reverse-shell.json');
    expect(result).toMatchObject({ surface: 'eks-pod', viaHost: false });
    expect(result.target).toEqual({
      surface: 'eks-pod',
      clusterName: 'prod-eks',
      namespace: 'payments',
      podName: 'checkout-api-7c9f8b6d5-x2k4q',
      podUid: '988b7e90-95e1-4a54-b3f6-b3495e2c8873',
      containerIds: ['05e0df57df526d5b153c4986d919a119d9060a89e85c92e5b775bebfb8413a1c'],
      nodeInstanceId: 'i-0791d99fc10489698',
      nodeName: 'ip-10-20-45-117.ec2.internal',
    });
  });

  it.each([
    ['a sample finding placeholder', 'GeneratedFindingPrivateDnsName'],
    ['a selector injection', 'ip-10-0-0-1.ec2.internal,metadata.name=x'],
    ['an empty name', ''],
  ])('drops a node name that is not a DNS-1123 subdomain: %s', (_, privateDnsName) => {
    const result = classifyEvent('eks-reverse-shell.json', (event) => {
      event.detail.resource.instanceDetails.networkInterfaces[0].privateDnsName = privateDnsName;
    });
    expect(result.target).toMatchObject({ surface: 'eks-pod', nodeName: undefined });
  });

  it('finds the pod by container id when the workload is a controller', () => {
    const result = classifyEvent('eks-container-id-only.json');
    expect(result.target).toMatchObject({ surface: 'eks-pod', podName: undefined });
    expect(
      result.target?.surface === 'eks-pod' && result.target.containerIds.length,
    ).toBeGreaterThan(0);
  });

  it('accepts container ids with a runtime prefix and drops malformed ones', () => {
    const result = classifyEvent('eks-container-id-only.json', (e) => {
      const containers = e.detail.resource.kubernetesDetails.kubernetesWorkloadDetails.containers;
      containers[0].id = `containerd://${'a'.repeat(64)}`;
      containers.push({ id: 'not-a-container-id; rm -rf /' });
    });
    expect(result.target?.surface === 'eks-pod' && result.target.containerIds).toEqual([
      'a'.repeat(64),
    ]);
  });

  it.each([
    [
      'cluster name',
      (e: any) => (e.detail.resource.eksClusterDetails.name = 'prod eks'),
      /eksClusterDetails\.name is not a valid EKS cluster name/,
    ],
    [
      'missing workload',
      (e: any) => (e.detail.resource.kubernetesDetails.kubernetesWorkloadDetails = null),
      /kubernetesWorkloadDetails is missing/,
    ],
    [
      'namespace',
      (e: any) =>
        (e.detail.resource.kubernetesDetails.kubernetesWorkloadDetails.namespace = 'Pay_ments'),
      /namespace is not a valid Kubernetes namespace/,
    ],
    [
      'pod name',
      (e: any) =>
        (e.detail.resource.kubernetesDetails.kubernetesWorkloadDetails.name = 'pod;reboot'),
      /kubernetesWorkloadDetails\.name is not a valid Kubernetes pod name/,
    ],
    [
      'pod name too long',
      (e: any) =>
        (e.detail.resource.kubernetesDetails.kubernetesWorkloadDetails.name = 'a'.repeat(254)),
      /not a valid Kubernetes pod name/,
    ],
    [
      'no pod name and no container id',
      (e: any) => {
        const workload = e.detail.resource.kubernetesDetails.kubernetesWorkloadDetails;
        workload.type = 'Deployment';
        workload.containers = [];
      },
      /neither a pod name nor a valid container id/,
    ],
  ])('rejects an invalid %s with the field named', (_name, mutate, problem) => {
    const result = classifyEvent('eks-reverse-shell.json', mutate);
    expect(result).toMatchObject({ surface: 'eks-pod', target: null });
    expect(result.problem).toMatch(problem);
  });
});

describe('ECS task', () => {
  it('Fargate: cluster and task ARN, no host', () => {
    expect(classifyEvent('ecs-fargate-crypto-miner.json').target).toMatchObject({
      surface: 'ecs-task',
      launchType: 'FARGATE',
      containerInstanceId: undefined,
    });
  });

  it('EC2 launch type: names the container instance', () => {
    expect(classifyEvent('ecs-ec2-reverse-shell.json').target).toMatchObject({
      surface: 'ecs-task',
      launchType: 'EC2',
      containerInstanceId: expect.stringMatching(/^i-[0-9a-f]{17}$/),
    });
  });

  it('accepts the older task ARN form and dashed task ids', () => {
    const result = classifyEvent('ecs-fargate-crypto-miner.json', (e) => {
      e.detail.resource.ecsClusterDetails.taskDetails.arn =
        'arn:aws:ecs:us-east-1:123456789012:task/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9';
    });
    expect(result.target).toMatchObject({ surface: 'ecs-task' });
  });

  it.each([
    [
      'task ARN of another cluster',
      (e: any) =>
        (e.detail.resource.ecsClusterDetails.taskDetails.arn =
          e.detail.resource.ecsClusterDetails.taskDetails.arn.replace('/prod-ecs/', '/other/')),
      /names another cluster/,
    ],
    [
      'task ARN in another account',
      (e: any) =>
        (e.detail.resource.ecsClusterDetails.taskDetails.arn =
          e.detail.resource.ecsClusterDetails.taskDetails.arn.replace(
            '123456789012',
            '999999999999',
          )),
      /same partition, region and account/,
    ],
    [
      'cluster outside the finding account',
      (e: any) => (e.detail.accountId = '210987654321'),
      /not in the finding's account and region/,
    ],
    [
      'task ARN with a path',
      (e: any) => (e.detail.resource.ecsClusterDetails.taskDetails.arn += '/../x'),
      /taskDetails\.arn is not a valid ECS task ARN/,
    ],
    [
      'missing cluster ARN',
      (e: any) => delete e.detail.resource.ecsClusterDetails.arn,
      /ecsClusterDetails\.arn is missing/,
    ],
  ])('rejects a %s', (_name, mutate, problem) => {
    const result = classifyEvent('ecs-fargate-crypto-miner.json', mutate);
    expect(result.target).toBeNull();
    expect(result.problem).toMatch(problem);
  });
});

describe('EC2 instance and standalone container', () => {
  it('an Instance finding targets the instance', () => {
    expect(classifyEvent('ec2-suspicious-command.json')).toMatchObject({
      surface: 'ec2-instance',
      viaHost: false,
      target: { instanceId: expect.stringMatching(/^i-/) },
    });
  });

  it('a Container finding targets its host instance', () => {
    expect(classifyEvent('container-docker-socket.json')).toMatchObject({
      surface: 'ec2-instance',
      viaHost: true,
    });
  });

  it.each(['i-12345;reboot', 'i-0123456789abcdef', 'i-0123456789ABCDEF0', ' i-0123456789abcdef0'])(
    'rejects instance id %j',
    (id) => {
      const result = classifyEvent(
        'ec2-suspicious-command.json',
        (e) => (e.detail.resource.instanceDetails.instanceId = id),
      );
      expect(result.target).toBeNull();
      expect(result.problem).toMatch(/instanceDetails\.instanceId is not a valid EC2 instance id/);
    },
  );

  it('has no surface for other resource types', () => {
    expect(
      classifyEvent(
        'ec2-suspicious-command.json',
        (e) => (e.detail.resource.resourceType = 'S3Bucket'),
      ),
    ).toMatchObject({ surface: null, target: null });
  });
});
