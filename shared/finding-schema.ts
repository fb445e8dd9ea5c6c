/**
 * The GuardDuty finding as it arrives on the wire (camelCase, EventBridge `detail`).
 * Tolerant where GuardDuty is loose: timestamps as ISO strings or epoch numbers, optional
 * objects that are `null`, unknown extra fields (dropped), free-form `additionalInfo`.
 * Strict on types: a number must be a number, a string a string, or the event is rejected
 * with the path that failed.
 */
import * as z from './zod.js';

const text = z.nullish(z.string());
const integer = z.nullish(z.int());
const flag = z.nullish(z.boolean());
/** Epoch seconds (maybe fractional), epoch milliseconds, or an ISO-8601 string. */
const timestamp = z.nullish(z.union([z.number(), z.string()]));
const list = <T extends z.ZodMiniType>(item: T) => z.nullish(z.array(item));

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
  modifyingProcess: z.nullish(ProcessSchema),
  targetProcess: z.nullish(ProcessSchema),
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
  securityContext: z.nullish(z.object({ privileged: flag, allowPrivilegeEscalation: flag })),
});

const NetworkInterfaceSchema = z.object({
  networkInterfaceId: text,
  privateDnsName: text,
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
  instanceDetails: z.nullish(InstanceDetailsSchema),
  eksClusterDetails: z.nullish(
    z.object({ name: text, arn: text, vpcId: text, status: text, tags: list(TagSchema) }),
  ),
  kubernetesDetails: z.nullish(
    z.object({ kubernetesWorkloadDetails: z.nullish(KubernetesWorkloadSchema) }),
  ),
  ecsClusterDetails: z.nullish(
    z.object({
      name: text,
      arn: text,
      status: text,
      tags: list(TagSchema),
      taskDetails: z.nullish(EcsTaskDetailsSchema),
    }),
  ),
  containerDetails: z.nullish(ContainerSchema),
});
export type WireResource = z.infer<typeof ResourceSchema>;

const RemoteIpSchema = z.object({
  ipAddressV4: text,
  ipAddressV6: text,
  organization: z.nullish(z.object({ asnOrg: text, org: text, isp: text })),
  country: z.nullish(z.object({ countryName: text })),
});

const ActionSchema = z.object({
  actionType: text,
  dnsRequestAction: z.nullish(z.object({ domain: text, protocol: text, blocked: flag })),
  networkConnectionAction: z.nullish(
    z.object({
      connectionDirection: text,
      protocol: text,
      blocked: flag,
      remoteIpDetails: z.nullish(RemoteIpSchema),
      remotePortDetails: z.nullish(z.object({ port: integer, portName: text })),
    }),
  ),
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
  additionalInfo: z.nullish(z.record(z.string(), z.unknown())),
  action: z.nullish(ActionSchema),
  evidence: z.nullish(
    z.object({
      threatIntelligenceDetails: list(
        z.object({ threatListName: text, threatNames: list(z.string()) }),
      ),
    }),
  ),
  runtimeDetails: z.nullish(
    z.object({ process: z.nullish(ProcessSchema), context: z.nullish(RuntimeContextSchema) }),
  ),
});

/** A GuardDuty finding: the EventBridge `detail` object, or a bare finding from an export. */
export const WireFindingSchema = z.object({
  schemaVersion: text,
  accountId: z.string(),
  region: z.string(),
  partition: text,
  id: z.string().check(z.minLength(1)),
  arn: text,
  type: z.string().check(z.minLength(1)),
  severity: z.number().check(z.gte(0), z.lte(10)),
  title: text,
  description: text,
  createdAt: text,
  updatedAt: text,
  resource: ResourceSchema,
  service: z.nullish(ServiceSchema),
});
export type WireFinding = z.infer<typeof WireFindingSchema>;

/**
 * The EventBridge envelope; `detail` is parsed on its own later. The same fields and checks
 * as Powertools' EventBridgeSchema, written here because Powertools' schemas are built on
 * classic zod, which would bring all of it back into every bundle.
 */
export const EnvelopeSchema = z.object({
  version: z.string(),
  id: z.string(),
  source: z.string(),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  'detail-type': z.string(),
  detail: z.unknown(),
  'replay-name': z.optional(z.string()),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** Turn a zod error into one line naming each failing path, e.g. `detail.severity: expected number`. */
export function describeIssues(error: z.core.$ZodError, prefix: string): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}
