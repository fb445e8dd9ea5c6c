/**
 * The one finding model. `toFinding` turns a schema-checked wire finding into this shape
 * exactly once; every attacker-controlled string in it is `CleanText`, so nothing
 * downstream (decisions, alerts, logs) ever sees raw finding text.
 */
import type {
  WireFinding,
  WireProcess,
  WireResource,
  WireRuntimeContext,
} from './finding-schema.js';
import { buildLineage, type ProcessEntry } from './lineage.js';
import { cleanOptional, cleanText, type CleanText, type FieldKind } from './sanitize.js';
import { toIsoTime } from './time.js';

export interface Tag {
  key: CleanText;
  value: CleanText;
}

export interface ContainerInfo {
  id?: CleanText;
  name?: CleanText;
  image?: CleanText;
  privileged: boolean;
}

export interface KubernetesWorkload {
  name?: CleanText;
  type?: CleanText;
  uid?: CleanText;
  namespace?: CleanText;
  serviceAccountName?: CleanText;
  hostNetwork: boolean;
  hostPID: boolean;
  hostIPC: boolean;
  containers: ContainerInfo[];
}

export interface ResourceFacts {
  type: CleanText;
  instance?: {
    instanceId?: CleanText;
    /** The first network interface's private DNS name: on EKS, usually the node's name. */
    privateDnsName?: CleanText;
    imageDescription?: CleanText;
    tags: Tag[];
  };
  eksCluster?: { name?: CleanText; tags: Tag[] };
  workload?: KubernetesWorkload;
  ecsCluster?: { name?: CleanText; arn?: CleanText; tags: Tag[] };
  ecsTask?: {
    arn?: CleanText;
    definitionArn?: CleanText;
    launchType?: CleanText;
    startedBy?: CleanText;
    group?: CleanText;
    tags: Tag[];
    containers: ContainerInfo[];
  };
  container?: ContainerInfo;
}

/** A process named in the runtime context (the one that modified a file, or was targeted). */
export interface ContextProcess {
  name?: CleanText;
  pid?: number;
  executablePath?: CleanText;
}

/**
 * A labelled runtime-context fact, e.g. `command line example`, shown in alerts: one value,
 * or a process, whose name and path are separate values.
 */
export type ContextFact =
  { label: ContextLabel; value: CleanText } | { label: ContextLabel; process: ContextProcess };

export interface NetworkFacts {
  domain?: CleanText;
  remoteIp?: CleanText;
  remotePort?: number;
  remoteOrganization?: CleanText;
  threatLists: CleanText[];
}

export interface Finding {
  id: string;
  type: string;
  severity: number;
  accountId: string;
  region: string;
  partition: string;
  title?: CleanText;
  description?: CleanText;
  createdAt?: string;
  updatedAt?: string;
  count: number;
  archived: boolean;
  sample: boolean;
  resource: ResourceFacts;
  /** The process and its ancestors: index 0 is the process, then its parent, and so on. */
  lineage: ProcessEntry[];
  /** Whether the ancestors in the finding formed an unbroken uuid/parentUuid chain. */
  lineageComplete: boolean;
  context: ContextFact[];
  network: NetworkFacts;
}

const tags = (list: readonly { key?: string | null; value?: string | null }[] | null | undefined) =>
  (list ?? []).slice(0, 50).map((tag) => ({
    key: cleanText(tag.key ?? '', 'tag'),
    value: cleanText(tag.value ?? '', 'tag'),
  }));

type WireContainer = NonNullable<NonNullable<WireResource['containerDetails']>>;

function container(wire: WireContainer): ContainerInfo {
  return {
    id: cleanOptional(wire.id, 'short'),
    name: cleanOptional(wire.name),
    image: cleanOptional(wire.image, 'path'),
    privileged: wire.securityContext?.privileged === true,
  };
}

const containers = (list: readonly WireContainer[] | null | undefined) =>
  (list ?? []).slice(0, 32).map(container);

function resourceFacts(wire: WireResource): ResourceFacts {
  const instance = wire.instanceDetails;
  const eks = wire.eksClusterDetails;
  const workload = wire.kubernetesDetails?.kubernetesWorkloadDetails;
  const ecs = wire.ecsClusterDetails;
  const task = ecs?.taskDetails;
  return {
    type: cleanText(wire.resourceType, 'short'),
    instance: instance
      ? {
          instanceId: cleanOptional(instance.instanceId, 'short'),
          privateDnsName: cleanOptional(instance.networkInterfaces?.[0]?.privateDnsName, 'name'),
          imageDescription: cleanOptional(instance.imageDescription, 'description'),
          tags: tags(instance.tags),
        }
      : undefined,
    eksCluster: eks ? { name: cleanOptional(eks.name, 'short'), tags: tags(eks.tags) } : undefined,
    workload: workload
      ? {
          name: cleanOptional(workload.name, 'name'),
          type: cleanOptional(workload.type, 'short'),
          uid: cleanOptional(workload.uid, 'short'),
          namespace: cleanOptional(workload.namespace, 'short'),
          serviceAccountName: cleanOptional(workload.serviceAccountName, 'name'),
          hostNetwork: workload.hostNetwork === true,
          hostPID: workload.hostPID === true,
          hostIPC: workload.hostIPC === true,
          containers: containers(workload.containers),
        }
      : undefined,
    ecsCluster: ecs
      ? { name: cleanOptional(ecs.name), arn: cleanOptional(ecs.arn, 'path'), tags: tags(ecs.tags) }
      : undefined,
    ecsTask: task
      ? {
          arn: cleanOptional(task.arn, 'path'),
          definitionArn: cleanOptional(task.definitionArn, 'path'),
          launchType: cleanOptional(task.launchType, 'short'),
          startedBy: cleanOptional(task.startedBy),
          group: cleanOptional(task.group),
          tags: tags(task.tags),
          containers: containers(task.containers),
        }
      : undefined,
    container: wire.containerDetails ? container(wire.containerDetails) : undefined,
  };
}

/** Runtime-context fields worth showing, with the label used in alerts and their limits. */
const CONTEXT_FIELDS = [
  ['commandLineExample', 'command line example', 'commandLine'],
  ['scriptPath', 'script path', 'path'],
  ['threatFilePath', 'threat file path', 'path'],
  ['libraryPath', 'library path', 'path'],
  ['ldPreloadValue', 'LD_PRELOAD value', 'path'],
  ['socketPath', 'socket path', 'path'],
  ['runcBinaryPath', 'runc binary path', 'path'],
  ['releaseAgentPath', 'release agent path', 'path'],
  ['mountSource', 'mount source', 'path'],
  ['mountTarget', 'mount target', 'path'],
  ['fileSystemType', 'file system type', 'short'],
  ['moduleName', 'kernel module', 'name'],
  ['moduleFilePath', 'kernel module path', 'path'],
  ['shellHistoryFilePath', 'shell history file', 'path'],
  ['addressFamily', 'address family', 'short'],
  ['toolName', 'tool', 'name'],
  ['toolCategory', 'tool category', 'name'],
  ['serviceName', 'service', 'name'],
  ['fileOperation', 'file operation', 'short'],
  ['filePath', 'file path', 'path'],
] as const satisfies readonly (readonly [keyof WireRuntimeContext, string, FieldKind])[];

/** Every label a runtime-context fact can carry: alerts start lines with them. */
export const CONTEXT_LABELS = [
  ...CONTEXT_FIELDS.map(([, label]) => label),
  'related file path',
  'modifying process',
  'target process',
] as const;
export type ContextLabel = (typeof CONTEXT_LABELS)[number];

function contextFacts(context: WireRuntimeContext | null | undefined): ContextFact[] {
  if (!context) return [];
  const facts: ContextFact[] = [];
  for (const [field, label, kind] of CONTEXT_FIELDS) {
    const value = cleanOptional(context[field], kind);
    if (value !== undefined) facts.push({ label, value });
  }
  for (const path of (context.relatedFilePaths ?? []).slice(0, 25)) {
    facts.push({ label: 'related file path', value: cleanText(path, 'path') });
  }
  const modifying = context.modifyingProcess;
  if (modifying) facts.push(processFact('modifying process', modifying));
  const target = context.targetProcess;
  if (target) facts.push(processFact('target process', target));
  return facts;
}

function processFact(label: ContextLabel, process: WireProcess): ContextFact {
  return {
    label,
    process: {
      name: cleanOptional(process.name, 'name'),
      pid: typeof process.pid === 'number' ? process.pid : undefined,
      executablePath: cleanOptional(process.executablePath, 'path'),
    },
  };
}

function networkFacts(service: WireFinding['service']): NetworkFacts {
  const action = service?.action;
  const connection = action?.networkConnectionAction;
  const remote = connection?.remoteIpDetails;
  const lists = service?.evidence?.threatIntelligenceDetails ?? [];
  return {
    domain: cleanOptional(action?.dnsRequestAction?.domain, 'path'),
    remoteIp: cleanOptional(remote?.ipAddressV4 ?? remote?.ipAddressV6, 'short'),
    remotePort: connection?.remotePortDetails?.port ?? undefined,
    remoteOrganization: cleanOptional(remote?.organization?.asnOrg ?? remote?.organization?.org),
    threatLists: lists
      .slice(0, 10)
      .flatMap((detail) => [detail.threatListName, ...(detail.threatNames ?? [])])
      .filter((name): name is string => typeof name === 'string' && name.length > 0)
      .map((name) => cleanText(name, 'name')),
  };
}

/**
 * GuardDuty marks its generated sample findings with `additionalInfo.sample: true`, or with
 * `"sample":true` inside the JSON string `additionalInfo.value`.
 */
export function isSampleFinding(
  additionalInfo: Record<string, unknown> | null | undefined,
): boolean {
  if (!additionalInfo) return false;
  if (additionalInfo.sample === true || additionalInfo.sample === 'true') return true;
  const value = additionalInfo.value;
  if (typeof value !== 'string' || value.length > 100_000) return false;
  try {
    const parsed: unknown = JSON.parse(value);
    return (
      typeof parsed === 'object' && parsed !== null && 'sample' in parsed && parsed.sample === true
    );
  } catch {
    return false;
  }
}

/** Build the sanitized model. Identifiers are validated later, by classification. */
export function toFinding(
  wire: WireFinding,
  validated: { id: string; type: string; accountId: string; region: string; partition: string },
): Finding {
  const service = wire.service;
  const runtime = service?.runtimeDetails;
  const { entries, complete } = buildLineage(runtime?.process);
  return {
    ...validated,
    severity: wire.severity,
    title: cleanOptional(wire.title, 'title'),
    description: cleanOptional(wire.description, 'description'),
    createdAt: toIsoTime(wire.createdAt),
    updatedAt: toIsoTime(wire.updatedAt),
    count: typeof service?.count === 'number' && service.count > 0 ? service.count : 1,
    archived: service?.archived === true,
    sample: isSampleFinding(service?.additionalInfo),
    resource: resourceFacts(wire.resource),
    lineage: entries,
    lineageComplete: complete,
    context: contextFacts(runtime?.context),
    network: networkFacts(service),
  };
}
