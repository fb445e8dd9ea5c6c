/**
 * The GuardDuty finding as it arrives on the wire (camelCase, EventBridge `detail`).
 * Tolerant where GuardDuty is loose: timestamps as ISO strings or epoch numbers, optional
 * objects that are `null`, unknown extra fields (dropped), free-form `additionalInfo`.
 * Strict on types: a number must be a number, a string a string, or the event is rejected
 * with the path that failed.
 */
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { z } from 'zod';

const text = z.string().nullish();
const integer = z.number().int().nullish();
const flag = z.boolean().nullish();
/** Epoch seconds (maybe fractional), epoch milliseconds, or an ISO-8601 string. */
const timestamp = z.union([z.number(), z.string()]).nullish();
const list = <T extends z.ZodType>(item: T) => z.array(item).nullish();

const TagSchema = z.object({ key: text, value: text });

const LineageEntrySchema = z.object({
  name: text,
  executablePath: text,
  pid: integer,
  namespacePid: integer,
  userId: integer,
  euid: integer,
  uuid: text,
  parentUuid: text,
  startTime: timestamp,
});

const ProcessSchema = z.object({
  name: text,
  executablePath: text,
  executableSha256: text,
  pwd: text,
  pid: integer,
  namespacePid: integer,
  startTime: timestamp,
  uuid: text,
  parentUuid: text,
  user: text,
  userId: integer,
  euid: integer,
  lineage: list(LineageEntrySchema),
});
export type WireProcess = z.infer<typeof ProcessSchema>;

const RuntimeContextSchema = z.object({
  modifyingProcess: ProcessSchema.nullish(),
  targetProcess: ProcessSchema.nullish(),
  modifiedAt: timestamp,
  scriptPath: text,
  libraryPath: text,
  ldPreloadValue: text,
  socketPath: text,
  runcBinaryPath: text,
  releaseAgentPath: text,
  mountSource: text,
  mountTarget: text,
  fileSystemType: text,
  flags: list(z.string()),
  moduleName: text,
  moduleFilePath: text,
  moduleSha256: text,
  shellHistoryFilePath: text,
  addressFamily: text,
  ianaProtocolNumber: integer,
  memoryRegions: list(z.string()),
  toolName: text,
  toolCategory: text,
  serviceName: text,
  commandLineExample: text,
  threatFilePath: text,
  fileOperation: text,
  filePath: text,
  relatedFilePaths: list(z.string()),
});
export type WireRuntimeContext = z.infer<typeof RuntimeContextSchema>;

const ContainerSchema = z.object({
  containerRuntime: text,
  id: text,
  name: text,
  image: text,
  imagePrefix: text,
  securityContext: z.object({ privileged: flag, allowPrivilegeEscalation: flag }).nullish(),
});

const NetworkInterfaceSchema = z.object({
  networkInterfaceId: text,
  privateIpAddress: text,
  publicIp: text,
  subnetId: text,
  vpcId: text,
  securityGroups: list(z.object({ groupId: text, groupName: text })),
});

const InstanceDetailsSchema = z.object({
  instanceId: text,
  instanceType: text,
  instanceState: text,
  availabilityZone: text,
  imageId: text,
  imageDescription: text,
  // The legacy canary sample carries epoch milliseconds here.
  launchTime: timestamp,
  platform: text,
  tags: list(TagSchema),
  networkInterfaces: list(NetworkInterfaceSchema),
});

const KubernetesWorkloadSchema = z.object({
  name: text,
  type: text,
  uid: text,
  namespace: text,
  serviceAccountName: text,
  hostNetwork: flag,
  hostIPC: flag,
  hostPID: flag,
  containers: list(ContainerSchema),
});

const EcsTaskDetailsSchema = z.object({
  arn: text,
  definitionArn: text,
  version: text,
  startedBy: text,
  group: text,
  launchType: text,
  createdAt: timestamp,
  startedAt: timestamp,
  tags: list(TagSchema),
  containers: list(ContainerSchema),
});

const ResourceSchema = z.object({
  resourceType: z.string(),
  instanceDetails: InstanceDetailsSchema.nullish(),
  eksClusterDetails: z
    .object({ name: text, arn: text, vpcId: text, status: text, tags: list(TagSchema) })
    .nullish(),
  kubernetesDetails: z
    .object({ kubernetesWorkloadDetails: KubernetesWorkloadSchema.nullish() })
    .nullish(),
  ecsClusterDetails: z
    .object({
      name: text,
      arn: text,
      status: text,
      tags: list(TagSchema),
      taskDetails: EcsTaskDetailsSchema.nullish(),
    })
    .nullish(),
  containerDetails: ContainerSchema.nullish(),
});
export type WireResource = z.infer<typeof ResourceSchema>;

const RemoteIpSchema = z.object({
  ipAddressV4: text,
  ipAddressV6: text,
  organization: z.object({ asnOrg: text, org: text, isp: text }).nullish(),
  country: z.object({ countryName: text }).nullish(),
});

const ActionSchema = z.object({
  actionType: text,
  dnsRequestAction: z.object({ domain: text, protocol: text, blocked: flag }).nullish(),
  networkConnectionAction: z
    .object({
      connectionDirection: text,
      protocol: text,
      blocked: flag,
      remoteIpDetails: RemoteIpSchema.nullish(),
      remotePortDetails: z.object({ port: integer, portName: text }).nullish(),
    })
    .nullish(),
});

const ServiceSchema = z.object({
  serviceName: text,
  detectorId: text,
  featureName: text,
  archived: flag,
  count: integer,
  eventFirstSeen: text,
  eventLastSeen: text,
  // Free-form in EventBridge: flattened keys and, since ~2022, a JSON string in `value`.
  additionalInfo: z.record(z.string(), z.unknown()).nullish(),
  action: ActionSchema.nullish(),
  evidence: z
    .object({
      threatIntelligenceDetails: list(
        z.object({ threatListName: text, threatNames: list(z.string()) }),
      ),
    })
    .nullish(),
  runtimeDetails: z
    .object({ process: ProcessSchema.nullish(), context: RuntimeContextSchema.nullish() })
    .nullish(),
});

/** A GuardDuty finding: the EventBridge `detail` object, or a bare finding from an export. */
export const WireFindingSchema = z.object({
  schemaVersion: text,
  accountId: z.string(),
  region: z.string(),
  partition: text,
  id: z.string().min(1),
  arn: text,
  type: z.string().min(1),
  severity: z.number().min(0).max(10),
  title: text,
  description: text,
  createdAt: text,
  updatedAt: text,
  resource: ResourceSchema,
  service: ServiceSchema.nullish(),
});
export type WireFinding = z.infer<typeof WireFindingSchema>;

/** The EventBridge envelope (Powertools' schema); `detail` is parsed on its own later. */
export const EnvelopeSchema = EventBridgeSchema;
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** Turn a zod error into one line naming each failing path, e.g. `detail.severity: expected number`. */
export function describeIssues(error: z.ZodError, prefix: string): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}
