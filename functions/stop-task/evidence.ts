/**
 * Evidence from ECS descriptions, as plain JSON. Every string ECS returns about the workload
 * (names, images, commands, tags, log options) was chosen by whoever deployed or started it,
 * so each one passes `cleanText`. Secrets never enter evidence: environment variables and
 * secrets are recorded by name only, and credential-like log options are redacted.
 */
import type {
  Attachment,
  Container,
  ContainerDefinition,
  ContainerOverride,
  Service,
  Task,
  TaskDefinition,
} from '@aws-sdk/client-ecs';
import { cleanText, type CleanText, type FieldKind } from '../../shared/sanitize.js';
import { taskIdOf } from './task-facts.js';

/** At most this many items of any list go into evidence (bounded size, one alert). */
const MAX_ITEMS = 20;

type Json = Record<string, unknown>;

const clean = (value: string | undefined, kind: FieldKind = 'name'): CleanText | undefined =>
  value === undefined || value === '' ? undefined : cleanText(value, kind);

const cleanList = (values: readonly string[] | undefined, kind: FieldKind = 'name') =>
  values === undefined ? undefined : values.slice(0, MAX_ITEMS).map((v) => cleanText(v, kind));

const iso = (value: Date | undefined): string | undefined => value?.toISOString();

/** Drop undefined values so evidence stays small and readable. */
function compact(value: Json): Json {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

/** Log option keys whose values may be credentials (e.g. the Splunk driver's `splunk-token`). */
const SENSITIVE_OPTION = /token|secret|passw|credential|auth|key|signature/i;

function logOptions(options: Record<string, string> | undefined): Json | undefined {
  if (options === undefined) return undefined;
  const entries = Object.entries(options)
    .slice(0, MAX_ITEMS)
    .map(([key, value]): [string, string] => [
      cleanText(key, 'short'),
      SENSITIVE_OPTION.test(key) ? '[redacted]' : cleanText(value, 'path'),
    ]);
  return Object.fromEntries(entries);
}

function attachmentEvidence(attachment: Attachment): Json {
  const details = (attachment.details ?? [])
    .slice(0, MAX_ITEMS)
    .filter((detail) => detail.name !== undefined)
    .map((detail) => [cleanText(detail.name ?? '', 'short'), clean(detail.value, 'path')]);
  return compact({
    type: clean(attachment.type, 'short'),
    status: clean(attachment.status, 'short'),
    details: Object.fromEntries(details),
  });
}

function containerEvidence(container: Container): Json {
  return compact({
    name: clean(container.name),
    image: clean(container.image, 'path'),
    imageDigest: clean(container.imageDigest),
    runtimeId: clean(container.runtimeId),
    lastStatus: clean(container.lastStatus, 'short'),
    healthStatus: clean(container.healthStatus, 'short'),
    exitCode: container.exitCode,
    networkInterfaces: container.networkInterfaces?.slice(0, MAX_ITEMS).map((eni) =>
      compact({
        attachmentId: clean(eni.attachmentId),
        privateIpv4Address: clean(eni.privateIpv4Address, 'short'),
        ipv6Address: clean(eni.ipv6Address, 'short'),
      }),
    ),
  });
}

function overrideEvidence(override: ContainerOverride): Json {
  return compact({
    name: clean(override.name),
    command: cleanList(override.command, 'path'),
    environmentNames: cleanList(
      override.environment?.map((variable) => variable.name ?? ''),
      'short',
    ),
  });
}

/** The task as DescribeTasks reported it: containers, images, who started it, network. */
export function taskEvidence(task: Task): Json {
  return compact({
    taskArn: clean(task.taskArn, 'path'),
    clusterArn: clean(task.clusterArn, 'path'),
    taskDefinitionArn: clean(task.taskDefinitionArn, 'path'),
    lastStatus: clean(task.lastStatus, 'short'),
    desiredStatus: clean(task.desiredStatus, 'short'),
    launchType: clean(task.launchType, 'short'),
    capacityProviderName: clean(task.capacityProviderName),
    platformVersion: clean(task.platformVersion, 'short'),
    platformFamily: clean(task.platformFamily, 'short'),
    availabilityZone: clean(task.availabilityZone, 'short'),
    containerInstanceArn: clean(task.containerInstanceArn, 'path'),
    startedBy: clean(task.startedBy),
    group: clean(task.group),
    cpu: clean(task.cpu, 'short'),
    memory: clean(task.memory, 'short'),
    enableExecuteCommand: task.enableExecuteCommand,
    createdAt: iso(task.createdAt),
    startedAt: iso(task.startedAt),
    stoppedAt: iso(task.stoppedAt),
    stoppedReason: clean(task.stoppedReason, 'tag'),
    tags: task.tags
      ?.slice(0, MAX_ITEMS)
      .map((tag) => ({ key: clean(tag.key, 'tag'), value: clean(tag.value, 'tag') })),
    containers: task.containers?.slice(0, MAX_ITEMS).map(containerEvidence),
    containerOverrides: task.overrides?.containerOverrides
      ?.slice(0, MAX_ITEMS)
      .map(overrideEvidence),
    attachments: task.attachments?.slice(0, MAX_ITEMS).map(attachmentEvidence),
  });
}

function containerDefinitionEvidence(definition: ContainerDefinition): Json {
  const log = definition.logConfiguration;
  return compact({
    name: clean(definition.name),
    image: clean(definition.image, 'path'),
    essential: definition.essential,
    privileged: definition.privileged,
    user: clean(definition.user, 'short'),
    readonlyRootFilesystem: definition.readonlyRootFilesystem,
    entryPoint: cleanList(definition.entryPoint, 'path'),
    command: cleanList(definition.command, 'path'),
    environmentNames: cleanList(
      definition.environment?.map((variable) => variable.name ?? ''),
      'short',
    ),
    secretNames: cleanList(
      definition.secrets?.map((secret) => secret.name ?? ''),
      'short',
    ),
    addedCapabilities: cleanList(definition.linuxParameters?.capabilities?.add, 'short'),
    mountPoints: definition.mountPoints?.slice(0, MAX_ITEMS).map((mount) =>
      compact({
        sourceVolume: clean(mount.sourceVolume),
        containerPath: clean(mount.containerPath, 'path'),
        readOnly: mount.readOnly,
      }),
    ),
    logConfiguration: log
      ? compact({
          logDriver: clean(log.logDriver, 'short'),
          options: logOptions(log.options),
          secretOptionNames: cleanList(
            log.secretOptions?.map((option) => option.name ?? ''),
            'short',
          ),
        })
      : undefined,
  });
}

/** The task definition: what the containers run, with which roles, where they log. */
export function taskDefinitionEvidence(definition: TaskDefinition): Json {
  return compact({
    taskDefinitionArn: clean(definition.taskDefinitionArn, 'path'),
    family: clean(definition.family),
    revision: definition.revision,
    status: clean(definition.status, 'short'),
    networkMode: clean(definition.networkMode, 'short'),
    requiresCompatibilities: cleanList(definition.requiresCompatibilities, 'short'),
    cpu: clean(definition.cpu, 'short'),
    memory: clean(definition.memory, 'short'),
    taskRoleArn: clean(definition.taskRoleArn, 'path'),
    executionRoleArn: clean(definition.executionRoleArn, 'path'),
    pidMode: clean(definition.pidMode, 'short'),
    ipcMode: clean(definition.ipcMode, 'short'),
    registeredAt: iso(definition.registeredAt),
    registeredBy: clean(definition.registeredBy, 'path'),
    containers: definition.containerDefinitions
      ?.slice(0, MAX_ITEMS)
      .map(containerDefinitionEvidence),
    volumes: definition.volumes?.slice(0, MAX_ITEMS).map((volume) =>
      compact({
        name: clean(volume.name),
        hostSourcePath: clean(volume.host?.sourcePath, 'path'),
        efsFileSystemId: clean(volume.efsVolumeConfiguration?.fileSystemId, 'short'),
      }),
    ),
  });
}

/** Where one container's logs are, as far as the task definition says. */
export interface LogLocation {
  container: CleanText;
  driver: CleanText;
  /** awslogs: CloudWatch Logs group, region and the stream of this task's container. */
  group?: CleanText;
  region?: CleanText;
  stream?: CleanText;
  /** For other drivers: the destination in words. */
  destination?: CleanText;
}

function awslogsLocation(
  definition: ContainerDefinition,
  options: Record<string, string>,
  taskId: string,
  defaultRegion: string,
): Pick<LogLocation, 'group' | 'region' | 'stream' | 'destination'> {
  const prefix = options['awslogs-stream-prefix'];
  const name = definition.name ?? '';
  return {
    group: clean(options['awslogs-group'], 'path'),
    region: cleanText(options['awslogs-region'] ?? defaultRegion, 'short'),
    // Without a prefix, awslogs names the stream after the Docker container id.
    ...(prefix
      ? { stream: cleanText(`${prefix}/${name}/${taskId}`, 'path') }
      : { destination: cleanText('stream named by the Docker container id', 'short') }),
  };
}

function otherLocation(
  driver: string,
  options: Record<string, string>,
): Pick<LogLocation, 'destination'> {
  if (driver === 'awsfirelens') {
    const name = options.Name;
    return { destination: cleanText(`FireLens output ${name ?? '(see the log router)'}`, 'path') };
  }
  const shown = logOptions(options) ?? {};
  const summary = Object.entries(shown)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(', ');
  return summary ? { destination: cleanText(summary, 'path') } : {};
}

/** Where the logs of each container of this task went. */
export function logLocations(
  definition: TaskDefinition,
  taskArn: string,
  defaultRegion: string,
): LogLocation[] {
  const taskId = taskIdOf(taskArn);
  return (definition.containerDefinitions ?? [])
    .slice(0, MAX_ITEMS)
    .filter((container) => container.logConfiguration?.logDriver !== undefined)
    .map((container) => {
      const log = container.logConfiguration;
      const driver = log?.logDriver ?? '';
      const options = log?.options ?? {};
      const where =
        driver === 'awslogs'
          ? awslogsLocation(container, options, taskId, defaultRegion)
          : otherLocation(driver, options);
      return {
        container: cleanText(container.name ?? 'unnamed'),
        driver: cleanText(driver, 'short'),
        ...where,
      } satisfies LogLocation;
    });
}

/** One line per container log location, for notes. */
export function describeLogLocation(location: LogLocation): string {
  if (location.group !== undefined) {
    const stream = location.stream ? `, stream ${location.stream}` : ` (${location.destination})`;
    return `${location.container}: CloudWatch Logs group ${location.group} in ${location.region}${stream}`;
  }
  return `${location.container}: ${location.driver}${location.destination ? ` (${location.destination})` : ''}`;
}

/** The service (and the deployment that started the task): desired count and network. */
export function serviceEvidence(service: Service, startedBy: string | undefined): Json {
  const deployment = service.deployments?.find((candidate) => candidate.id === startedBy);
  const network = (deployment?.networkConfiguration ?? service.networkConfiguration)
    ?.awsvpcConfiguration;
  return compact({
    serviceArn: clean(service.serviceArn, 'path'),
    serviceName: clean(service.serviceName),
    status: clean(service.status, 'short'),
    desiredCount: service.desiredCount,
    runningCount: service.runningCount,
    pendingCount: service.pendingCount,
    taskDefinition: clean(service.taskDefinition, 'path'),
    deploymentOfTask: clean(deployment?.id),
    networkConfiguration: network
      ? compact({
          subnets: cleanList(network.subnets, 'short'),
          securityGroups: cleanList(network.securityGroups, 'short'),
          assignPublicIp: clean(network.assignPublicIp, 'short'),
        })
      : undefined,
  });
}
