/**
 * One alert per finding: `subject` (ASCII, one line, at most 100 characters, as SNS
 * requires), `text` (plain text for email) and `slack` (an AWS Chatbot custom
 * notification). Every value from the finding is already CleanText; this module only adds
 * the escaping each sink needs, and shows each value delimited after one of the
 * responder's labels (« » in the text, a code span in Slack), so no value can pass for
 * the alert's own words.
 */
import {
  OUTCOME_STATUSES,
  type ActionOutcome,
  type EksPodTarget,
  type OutcomeStatus,
  type Target,
} from './contracts.js';
import { describeAction, type Evaluation } from './decide.js';
import { CONTEXT_LABELS, type ContextFact, type Finding } from './finding.js';
import { MAX_ANCESTORS, type ProcessEntry } from './lineage.js';
import {
  closeCutLine,
  delimited,
  forSlack,
  forSubject,
  isolated,
  MAX_BLANK_RUN,
  MAX_MARKS_PER_BASE,
  slackCode,
  slackText,
  VALUE_CLOSE,
  VALUE_OPEN,
  type CleanText,
} from './sanitize.js';
import { K8S_NAMESPACE, K8S_POD_NAME, K8S_UID } from './identifiers.js';
import { networkPolicyName } from './labels.js';
import {
  clusterNames,
  deletePolicyArgv,
  ec2ReleaseText,
  selectClusterArgv,
  unlabelPodArgv,
} from './release-commands.js';
import { COMMAND_SEPARATOR, printCommands } from './shell.js';

/** The Chatbot custom-notification document sent to Slack. */
export interface SlackNotification {
  version: '1.0';
  source: 'custom';
  id: string;
  content: {
    textType: 'client-markdown';
    title: string;
    description: string;
    nextSteps: string[];
    keywords: string[];
  };
  metadata: {
    threadId: string;
    summary: string;
    eventType: string;
    relatedResources: string[];
    additionalContext: Record<string, string>;
  };
}

export interface Alert {
  subject: string;
  text: string;
  slack: SlackNotification;
}

/** What happened after the decision: outcomes for `contain`, nothing for `notify`. */
export interface Response {
  outcomes: readonly ActionOutcome[];
  /** The containment call itself failed (timeout, function error, bad response). */
  failure?: CleanText;
  /** How to undo the containment, from the containment function. */
  release?: CleanText;
  notes: readonly CleanText[];
}

export type Status =
  | 'CONTAINED'
  | 'ALREADY CONTAINED'
  | 'PARTIALLY CONTAINED'
  | 'DRY RUN'
  | 'NOT CONTAINED'
  | 'CONTAINMENT FAILED';

/** Size limits of the rendered parts; `snsMessage` (functions/router/publish.ts) then proves the whole fits SNS. */
export const TEXT_MAX_BYTES = 60_000;
export const SLACK_DESCRIPTION_MAX_CHARS = 7_000;
const SLACK_LINEAGE_MAX = 8;

const SEVERITY_WORDS = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;

/** Severity word by GuardDuty's bands. */
export function severityWord(severity: number): (typeof SEVERITY_WORDS)[number] {
  if (severity >= 9) return 'CRITICAL';
  if (severity >= 7) return 'HIGH';
  if (severity >= 4) return 'MEDIUM';
  return 'LOW';
}

/**
 * The overall result. A planned action with no outcome, or any failed one, makes the whole
 * containment FAILED: success is never assumed.
 */
export function overallStatus(evaluation: Evaluation, response: Response): Status {
  if (evaluation.decision !== 'contain') return 'NOT CONTAINED';
  const byAction = new Map(response.outcomes.map((outcome) => [outcome.action, outcome.status]));
  const statuses = evaluation.actions.map((action) => byAction.get(action));
  if (response.failure !== undefined || statuses.some((s) => s === undefined || s === 'failed')) {
    return 'CONTAINMENT FAILED';
  }
  if (statuses.every((s) => s === 'dry-run')) return 'DRY RUN';
  if (statuses.every((s) => s === 'already-contained')) return 'ALREADY CONTAINED';
  if (statuses.every((s) => s === 'contained' || s === 'already-contained')) return 'CONTAINED';
  if (statuses.every((s) => s === 'skipped')) return 'NOT CONTAINED';
  return 'PARTIALLY CONTAINED';
}

/** The GuardDuty console page of the finding (id and region are validated patterns). */
export function consoleUrl(finding: Finding): string {
  const host =
    finding.partition === 'aws-cn'
      ? 'console.amazonaws.cn'
      : finding.partition === 'aws-us-gov'
        ? 'console.amazonaws-us-gov.com'
        : 'console.aws.amazon.com';
  return `https://${host}/guardduty/home?region=${finding.region}#/findings?macros=current&fId=${finding.id}`;
}

/** A short name for the target, built from validated identifiers only. */
export function targetLabel(target: Target): string {
  switch (target.surface) {
    case 'eks-pod': {
      const pod =
        target.podName ?? `pod of container ${target.containerIds[0]?.slice(0, 12) ?? '?'}`;
      return `${target.namespace}/${pod}`;
    }
    case 'ecs-task':
      return target.taskArn.slice(target.taskArn.lastIndexOf('/') + 1);
    case 'ec2-instance':
      return target.instanceId;
  }
}

function targetDescription(target: Target, viaHost: boolean): string {
  switch (target.surface) {
    case 'eks-pod': {
      const node = target.nodeInstanceId ? ` on node ${target.nodeInstanceId}` : '';
      return `EKS pod ${targetLabel(target)} in cluster ${target.clusterName}${node}`;
    }
    case 'ecs-task': {
      const cluster = target.clusterArn.slice(target.clusterArn.lastIndexOf('/') + 1);
      const host = target.containerInstanceId
        ? ` on container instance ${target.containerInstanceId}`
        : '';
      return `ECS task ${targetLabel(target)} (${target.launchType}) in cluster ${cluster}${host}`;
    }
    case 'ec2-instance':
      return viaHost
        ? `EC2 instance ${target.instanceId} (host of the standalone container)`
        : `EC2 instance ${target.instanceId}`;
  }
}

/** How to undo, when the containment function did not say: identifiers only. */
export function releaseHint(evaluation: Evaluation): string | undefined {
  const { target, finding } = evaluation;
  if (evaluation.decision !== 'contain' || target === null || finding === null) return undefined;
  switch (target.surface) {
    case 'eks-pod':
      return eksReleaseHint(target, finding.region, evaluation.actions.includes('eks:cordon-node'));
    case 'ecs-task':
      return 'a stopped task cannot be resumed; once the image is trusted again, the service (if any) runs new tasks as usual';
    case 'ec2-instance':
      return ec2ReleaseText(target.instanceId, finding.region);
  }
}

/**
 * The kubectl steps for a pod, after the command that selects its cluster. What the target
 * does not say (the pod's name or uid when it was found by container id, its node) is a
 * quoted `<placeholder>`: pasted as it is, it is one argument that names nothing, never
 * shell syntax.
 */
function eksReleaseHint(target: EksPodTarget, region: string, cordoned: boolean): string {
  const pod = target.podName ?? '<pod>';
  const policy = networkPolicyName(target.podUid ?? '<pod-uid>');
  const printed = printCommands(
    [
      ...clusterNames(region, target.clusterName),
      ['namespace', K8S_NAMESPACE, target.namespace],
      ...(target.podName === undefined ? [] : [['pod name', K8S_POD_NAME, pod] as const]),
      ...(target.podUid === undefined ? [] : [['pod uid', K8S_UID, target.podUid] as const]),
    ],
    () => [
      selectClusterArgv(region, target.clusterName),
      deletePolicyArgv(target.namespace, policy),
      unlabelPodArgv(target.namespace, pod),
      ...(cordoned ? [['kubectl', 'uncordon', '<node of the pod>']] : []),
    ],
  );
  return 'invalid' in printed
    ? `${printed.invalid}: undo the pod's quarantine by hand`
    : printed.commands.join(COMMAND_SEPARATOR);
}

/**
 * The responder's own words at the start of a line. Every line of an alert's text and Slack
 * description starts with one of these (after its indentation, a bullet or Slack emphasis)
 * or is blank; a value from the finding only ever comes after one, delimited.
 */
const LABEL = {
  headline: 'GuardDuty Runtime Monitoring finding',
  severity: 'Severity',
  type: 'Type',
  title: 'Title',
  decision: 'Decision',
  target: 'Target',
  account: 'Account',
  finding: 'Finding',
  console: 'Console',
  sample: 'Sample',
  actions: 'Actions',
  noAction: 'none',
  failure: 'CONTAINMENT FAILED',
  hostSignals: 'host-compromise signals',
  note: 'note',
  release: 'Release',
  process: 'Process',
  processEntry: 'process',
  cwd: 'cwd',
  sha256: 'sha256',
  started: 'started',
  lineage: 'Lineage',
  context: 'Runtime context',
  network: 'Network',
  domain: 'domain',
  remote: 'remote',
  threatLists: 'threat intelligence',
  resource: 'Resource',
  resourceType: 'resource type',
  eksCluster: 'EKS cluster',
  namespace: 'namespace',
  workload: 'workload',
  serviceAccount: 'service account',
  ecsCluster: 'ECS cluster',
  task: 'task',
  taskDefinition: 'task definition',
  startedBy: 'started by',
  taskGroup: 'task group',
  instance: 'instance',
  container: 'container',
  description: 'Description',
  legend: 'Values from the finding',
  /** Slack: what the message leaves to the email alert. */
  more: '…',
} as const;

const statusTag = (status: OutcomeStatus) => `[${status}]`;
const ancestorNumber = (index: number) => `${index + 1}.`;

/**
 * Width of the label column in the first block of the email text: the widest blank the
 * responder writes is the padding after the shortest label.
 */
export const LABEL_COLUMN = 12;
/** A line of the first block: the label padded to the column, then the value. */
const row = (label: string, value: string) => `${`${label}:`.padEnd(LABEL_COLUMN)}${value}`;
/** A line inside a section of the email text. */
const item = (label: string, value: string) => `  ${label}: ${value}`;
/** A Slack line: the label in bold, then the value. */
const slackRow = (label: string, value: string) => `*${label}:* ${value}`;

/** How a sink shows one value from the finding: delimited, or in a code span. */
type ShowValue = (value: CleanText) => string;

/** A value the finding may lack: `?` (the responder's, outside any delimiter) when absent. */
const valueOr = (value: CleanText | undefined, show: ShowValue) =>
  value === undefined ? '?' : show(value);

/** Facts about the resource worth showing, including attacker-chosen names, each delimited. */
function resourceLines(finding: Finding): string[] {
  const { resource } = finding;
  const lines: string[] = [];
  const add = (label: string, value: CleanText | undefined) => {
    if (value !== undefined && value.length > 0) lines.push(item(label, delimited(value)));
  };
  add(LABEL.resourceType, resource.type);
  add(LABEL.eksCluster, resource.eksCluster?.name);
  add(LABEL.namespace, resource.workload?.namespace);
  const workload = resource.workload;
  if (workload?.name && workload.type) {
    lines.push(item(LABEL.workload, `${delimited(workload.type)} ${delimited(workload.name)}`));
  } else {
    add(LABEL.workload, workload?.name);
  }
  add(LABEL.serviceAccount, resource.workload?.serviceAccountName);
  add(LABEL.ecsCluster, resource.ecsCluster?.name);
  add(LABEL.task, resource.ecsTask?.arn);
  add(LABEL.taskDefinition, resource.ecsTask?.definitionArn);
  add(LABEL.startedBy, resource.ecsTask?.startedBy);
  add(LABEL.taskGroup, resource.ecsTask?.group);
  add(LABEL.instance, resource.instance?.instanceId);
  const containers = [
    ...(resource.workload?.containers ?? []),
    ...(resource.ecsTask?.containers ?? []),
    ...(resource.container ? [resource.container] : []),
  ];
  for (const container of containers.slice(0, 8)) {
    const privileged = container.privileged ? ' (privileged)' : '';
    const image = valueOr(container.image, delimited);
    lines.push(
      item(LABEL.container, `${valueOr(container.name, delimited)} image ${image}${privileged}`),
    );
  }
  return lines;
}

/** `name (pid …, user …) path`, with the name, user and path each shown as a value. */
function processLine(entry: ProcessEntry, show: ShowValue): string {
  const ids = [
    entry.pid !== undefined ? `pid ${entry.pid}` : undefined,
    entry.namespacePid !== undefined ? `ns-pid ${entry.namespacePid}` : undefined,
    entry.user !== undefined ? `user ${show(entry.user)}` : undefined,
    entry.userId !== undefined ? `uid ${entry.userId}` : undefined,
    entry.euid !== undefined ? `euid ${entry.euid}` : undefined,
  ].filter(Boolean);
  return `${valueOr(entry.name, show)} (${ids.join(', ') || 'no ids'}) ${valueOr(entry.executablePath, show)}`;
}

function factValue(fact: ContextFact, show: ShowValue): string {
  if ('value' in fact) return show(fact.value);
  const { name, pid, executablePath } = fact.process;
  const shownPid = pid !== undefined ? ` (pid ${pid})` : '';
  return `${valueOr(name, show)}${shownPid} ${valueOr(executablePath, show)}`;
}

/**
 * `[status] action: detail`. The detail is the containment function's own sentence, which
 * may quote names it read; `show` isolates it so it cannot reorder the line.
 */
function outcomeLine(outcome: ActionOutcome, show: ShowValue): string {
  const retry =
    outcome.status === 'failed' ? (outcome.retryable ? ' (retryable)' : ' (not retryable)') : '';
  return `${statusTag(outcome.status)} ${outcome.action}: ${show(outcome.detail as CleanText)}${retry}`;
}

/** Outcomes in plan order, with a line for every planned action that reported nothing. */
function actionLines(evaluation: Evaluation, response: Response, show: ShowValue): string[] {
  const byAction = new Map(response.outcomes.map((outcome) => [outcome.action, outcome]));
  return evaluation.actions.map((action) => {
    const outcome = byAction.get(action);
    return outcome
      ? outcomeLine(outcome, show)
      : `${statusTag('failed')} ${action}: no outcome reported (${describeAction(action)})`;
  });
}

/**
 * How to undo: the function's own words when it ran; otherwise our hint, but only where
 * something may have changed (a plan, or a failure that may have been partial).
 */
function releaseFor(
  evaluation: Evaluation,
  response: Response,
  status: Status,
): CleanText | undefined {
  if (response.release !== undefined) return response.release;
  // The hint is built from validated identifiers only.
  return status === 'DRY RUN' || status === 'CONTAINMENT FAILED'
    ? (releaseHint(evaluation) as CleanText | undefined)
    : undefined;
}

function releaseLabel(status: Status): string {
  if (status === 'DRY RUN') return `${LABEL.release} (once contained):`;
  if (status === 'CONTAINMENT FAILED') return `${LABEL.release} (undo any partial change):`;
  return `${LABEL.release}:`.padEnd(LABEL_COLUMN - 1);
}

function headline(evaluation: Evaluation, status: Status): string {
  return status === 'NOT CONTAINED' && evaluation.decision === 'notify'
    ? `NOT CONTAINED: ${evaluation.reason}`
    : status;
}

/** The last line of an alert text that had to be cut. */
export const ALERT_CUT_MARKER = '[alert cut to fit the notification size limit]';

/**
 * Every word an alert line may start with (see LABEL), for checking a rendered alert: the
 * labels, severity words, outcome tags, runtime-context labels, lineage numbers and the
 * cut marker.
 */
export const ALERT_LABELS: readonly string[] = [
  ...Object.values(LABEL),
  ...SEVERITY_WORDS,
  ...OUTCOME_STATUSES.map(statusTag),
  ...CONTEXT_LABELS,
  ...Array.from({ length: MAX_ANCESTORS }, (_, index) => ancestorNumber(index)),
  ALERT_CUT_MARKER,
];

/** Room kept for closing what a mid-line cut leaves open (an isolate, a delimiter). */
const CLOSING_BYTES = 8;

/** The longest prefix of `text` that fits `maxBytes` UTF-8 bytes, never half a character. */
function utf8Prefix(text: string, maxBytes: number): string {
  const prefix = Buffer.from(text, 'utf8').subarray(0, Math.max(maxBytes, 0)).toString('utf8');
  return prefix.replace(/\uFFFD$/, '');
}

/**
 * Cut a string to at most `maxBytes` UTF-8 bytes, at a line end when possible. A line cut
 * in the middle gets its open isolate and delimiter closed.
 */
export function capUtf8(text: string, maxBytes: number, marker: string): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const budget = maxBytes - Buffer.byteLength(marker, 'utf8') - 1;
  const cut = utf8Prefix(text, budget);
  const lineEnd = cut.lastIndexOf('\n');
  if (lineEnd > cut.length / 2) return `${cut.slice(0, lineEnd)}\n${marker}`;
  return `${closeCutLineOf(utf8Prefix(text, budget - CLOSING_BYTES))}\n${marker}`;
}

/** `text` with its last line closed again (see `closeCutLine`). */
function closeCutLineOf(text: string): string {
  const lineStart = text.lastIndexOf('\n') + 1;
  return text.slice(0, lineStart) + closeCutLine(text.slice(lineStart));
}

function subjectLine(finding: Finding, evaluation: Evaluation, status: Status): string {
  const on = evaluation.target ? ` on ${targetLabel(evaluation.target)}` : '';
  return forSubject(`[${severityWord(finding.severity)}] ${status}: ${finding.type}${on}`);
}

/** What the email text says about its values, at its end. */
const LEGEND = `${LABEL.legend} are shown between ${VALUE_OPEN} and ${VALUE_CLOSE}, as received except that control, bidi and invisible characters (and ${VALUE_OPEN} ${VALUE_CLOSE}) are escaped (\\x1B, \\u202E, \\n, \\xBB), as are combining marks beyond ${MAX_MARKS_PER_BASE} on one character and blanks beyond ${MAX_BLANK_RUN} in a row; long values are cut.`;

function processSection(finding: Finding): string[] {
  const [process, ...ancestors] = finding.lineage;
  if (!process) return [];
  const lines = ['', LABEL.process, item(LABEL.processEntry, processLine(process, delimited))];
  if (process.pwd) lines.push(item(LABEL.cwd, delimited(process.pwd)));
  if (process.sha256) lines.push(item(LABEL.sha256, process.sha256));
  if (process.startTime) lines.push(item(LABEL.started, process.startTime));
  if (ancestors.length > 0) {
    lines.push(
      `${LABEL.lineage} (parent first${finding.lineageComplete ? '' : '; chain incomplete, unlinked entries last'})`,
    );
    ancestors.forEach((entry, index) =>
      lines.push(`  ${ancestorNumber(index)} ${processLine(entry, delimited)}`),
    );
  }
  return lines;
}

function networkSection(finding: Finding): string[] {
  const { domain, remoteIp, remotePort, remoteOrganization, threatLists } = finding.network;
  const lines: string[] = [];
  if (domain) lines.push(item(LABEL.domain, delimited(domain)));
  if (remoteIp) {
    const port = remotePort !== undefined ? ` port ${remotePort}` : '';
    const organization = remoteOrganization
      ? `, organization ${delimited(remoteOrganization)}`
      : '';
    lines.push(item(LABEL.remote, `${delimited(remoteIp)}${port}${organization}`));
  }
  if (threatLists.length > 0)
    lines.push(item(LABEL.threatLists, threatLists.map(delimited).join(', ')));
  return lines.length > 0 ? ['', LABEL.network, ...lines] : [];
}

function renderText(
  finding: Finding,
  evaluation: Evaluation,
  response: Response,
  status: Status,
): string {
  const lines: string[] = [];
  const push = (...more: string[]) => lines.push(...more);
  push(`${LABEL.headline}: ${headline(evaluation, status)}`, '');
  push(row(LABEL.severity, `${severityWord(finding.severity)} (${finding.severity.toFixed(1)})`));
  push(row(LABEL.type, finding.type));
  if (finding.title) push(row(LABEL.title, delimited(finding.title)));
  push(row(LABEL.decision, `${evaluation.decision} - ${evaluation.reason}`));
  push(
    row(
      LABEL.target,
      evaluation.target
        ? targetDescription(
            evaluation.target,
            evaluation.surface === 'ec2-instance' && finding.resource.type === 'Container',
          )
        : 'none (no validated target)',
    ),
  );
  push(`${row(LABEL.account, finding.accountId)}   Region: ${finding.region}`);
  const seen = finding.count > 1 ? `, seen ${finding.count} times` : '';
  const updated = finding.updatedAt ? `, updated ${finding.updatedAt}` : '';
  push(row(LABEL.finding, `${finding.id}${seen}${updated}`));
  push(row(LABEL.console, consoleUrl(finding)));
  if (finding.sample) push(row(LABEL.sample, 'yes - generated by GuardDuty, not real activity'));

  push('', LABEL.actions);
  if (evaluation.decision === 'contain') {
    for (const line of actionLines(evaluation, response, isolated)) push(`  ${line}`);
    if (response.failure) push(item(LABEL.failure, isolated(response.failure)));
    if (evaluation.hostSignals.length > 0)
      push(item(LABEL.hostSignals, evaluation.hostSignals.join('; ')));
    // The function says this itself when it ran; a plan or dry run needs it said here.
    if (evaluation.actions.includes('eks:isolate-pod-network') && response.notes.length === 0) {
      push(
        item(
          LABEL.note,
          'the NetworkPolicy is enforced only if the cluster network plugin enforces NetworkPolicies; whether established flows are cut depends on that plugin',
        ),
      );
    }
  } else {
    push(`  ${LABEL.noAction} - ${evaluation.reason}`);
  }
  for (const note of response.notes) push(item(LABEL.note, isolated(note)));
  const release = releaseFor(evaluation, response, status);
  if (release) push('', `${releaseLabel(status)} ${isolated(release)}`);

  push(...processSection(finding));
  if (finding.context.length > 0) {
    push('', LABEL.context);
    for (const fact of finding.context) push(item(fact.label, factValue(fact, delimited)));
  }
  push(...networkSection(finding));
  const resource = resourceLines(finding);
  if (resource.length > 0) push('', LABEL.resource, ...resource);
  if (finding.description) push('', `${LABEL.description}: ${delimited(finding.description)}`);
  push('', LEGEND);
  return capUtf8(lines.join('\n'), TEXT_MAX_BYTES, ALERT_CUT_MARKER);
}

function renderSlack(
  finding: Finding,
  evaluation: Evaluation,
  response: Response,
  status: Status,
  subject: string,
): SlackNotification {
  const emoji =
    status === 'CONTAINED' || status === 'ALREADY CONTAINED'
      ? ':shield:'
      : status === 'CONTAINMENT FAILED'
        ? ':rotating_light:'
        : ':warning:';
  const lines: string[] = [];
  const target = evaluation.target
    ? forSlack(
        targetDescription(evaluation.target, finding.resource.type === 'Container') as CleanText,
      )
    : 'none (no validated target)';
  lines.push(
    `*${severityWord(finding.severity)} ${finding.severity.toFixed(1)}* \`${forSlack(finding.type as CleanText)}\``,
  );
  lines.push(
    slackRow(LABEL.decision, `${evaluation.decision}: ${forSlack(evaluation.reason as CleanText)}`),
  );
  lines.push(slackRow(LABEL.target, target));
  lines.push(
    `${slackRow(LABEL.account, finding.accountId)}  *Region:* ${finding.region}  *Seen:* ${finding.count}x`,
  );
  if (evaluation.decision === 'contain') {
    lines.push(`*${LABEL.actions}:*`);
    for (const line of actionLines(evaluation, response, slackText)) lines.push(`• ${line}`);
    if (response.failure) lines.push(slackRow(LABEL.failure, slackCode(response.failure)));
  }
  for (const note of response.notes) lines.push(`_${LABEL.note}:_ ${slackText(note)}`);
  const [process, ...ancestors] = finding.lineage;
  if (process) {
    lines.push(slackRow(LABEL.process, processLine(process, slackCode)));
    ancestors
      .slice(0, SLACK_LINEAGE_MAX)
      .forEach((entry, index) =>
        lines.push(`  ${ancestorNumber(index)} ${processLine(entry, slackCode)}`),
      );
    if (ancestors.length > SLACK_LINEAGE_MAX)
      lines.push(
        `  ${LABEL.more} ${ancestors.length - SLACK_LINEAGE_MAX} more ancestors in the email alert`,
      );
  }
  for (const fact of finding.context.slice(0, 6))
    lines.push(slackRow(fact.label, factValue(fact, slackCode)));
  if (finding.network.domain) lines.push(slackRow(LABEL.domain, slackCode(finding.network.domain)));
  if (finding.network.remoteIp)
    lines.push(slackRow(LABEL.remote, slackCode(finding.network.remoteIp)));
  let description = lines.join('\n');
  if (description.length > SLACK_DESCRIPTION_MAX_CHARS) {
    // Whole lines only, so no code span or isolate is left open.
    const cut = description.slice(0, SLACK_DESCRIPTION_MAX_CHARS);
    description = `${cut.slice(0, Math.max(cut.lastIndexOf('\n'), 0))}\n${LABEL.more} cut; the email alert has everything`;
  }
  const release = releaseFor(evaluation, response, status);
  const nextSteps = [
    `Open the finding: ${forSlack(consoleUrl(finding) as CleanText)}`,
    ...(release ? [`${LABEL.release}: ${slackText(release)}`] : []),
  ];
  return {
    version: '1.0',
    source: 'custom',
    id: finding.id,
    content: {
      textType: 'client-markdown',
      title: `${emoji} GuardDuty ${status}: ${forSlack(finding.type as CleanText)}`,
      description,
      nextSteps,
      keywords: [
        severityWord(finding.severity),
        evaluation.surface ?? 'no-surface',
        evaluation.decision,
      ],
    },
    metadata: {
      threadId: finding.id,
      summary: forSlack(subject as CleanText),
      eventType: 'GuardDutyRuntimeResponse',
      relatedResources: evaluation.target ? [targetLabel(evaluation.target)] : [],
      additionalContext: { findingId: finding.id, decision: evaluation.decision, status },
    },
  };
}

/** Render the one alert for a finding; null for ignore and reject (no alert is sent). */
export function renderAlert(evaluation: Evaluation, response: Response): Alert | null {
  const { finding } = evaluation;
  if (finding === null || (evaluation.decision !== 'contain' && evaluation.decision !== 'notify'))
    return null;
  const status = overallStatus(evaluation, response);
  const subject = subjectLine(finding, evaluation, status);
  return {
    subject,
    text: renderText(finding, evaluation, response, status),
    slack: renderSlack(finding, evaluation, response, status, subject),
  };
}

/** Outcomes a dry run reports: every planned action as `dry-run`, nothing executed. */
export function dryRunResponse(evaluation: Evaluation): Response {
  return {
    outcomes: evaluation.actions.map((action) => ({
      action,
      status: 'dry-run',
      detail: `would ${describeAction(action)}`,
    })),
    notes: [],
  };
}

/** Minimal Chatbot notification for the short alerts below (no finding text in them). */
function shortSlack(
  id: string,
  title: string,
  description: string,
  summary: string,
  nextSteps: string[],
): SlackNotification {
  return {
    version: '1.0',
    source: 'custom',
    id,
    content: {
      textType: 'client-markdown',
      title,
      description,
      nextSteps,
      keywords: ['guardduty-responder'],
    },
    metadata: {
      threadId: id,
      summary: forSlack(summary as CleanText),
      eventType: 'GuardDutyRuntimeResponse',
      relatedResources: [],
      additionalContext: { findingId: id },
    },
  };
}

/**
 * A re-delivered finding that was already handled: no new action, just "still active".
 * Rate-limited by the caller; threaded with the first alert in Slack.
 */
export function renderUpdateAlert(
  evaluation: Evaluation,
  previousOutcome: string | undefined,
): Alert | null {
  const { finding } = evaluation;
  if (finding === null) return null;
  const on = evaluation.target ? ` on ${targetLabel(evaluation.target)}` : '';
  const subject = forSubject(
    `[${severityWord(finding.severity)}] STILL ACTIVE (seen ${finding.count}x): ${finding.type}${on}`,
  );
  const previous = previousOutcome ?? 'in progress';
  const text = [
    `GuardDuty re-sent finding ${finding.id}: the activity recurs (seen ${finding.count} times${finding.updatedAt ? `, last update ${finding.updatedAt}` : ''}).`,
    `The responder already handled it (${previous}) and takes no new action.`,
    `Decision then: ${evaluation.decision} - ${evaluation.reason}`,
    `Console: ${consoleUrl(finding)}`,
  ].join('\n');
  const slack = shortSlack(
    finding.id,
    `GuardDuty STILL ACTIVE: ${forSlack(finding.type as CleanText)}`,
    forSlack(text as CleanText),
    subject,
    [`Open the finding: ${forSlack(consoleUrl(finding) as CleanText)}`],
  );
  return { subject, text, slack };
}

/** A budget refusal, as the one loud alert per window reports it. */
export interface ExhaustedBudget {
  surface: string;
  /** The cluster or account that used its share; null when the whole surface is used up. */
  scope: { label: string; name: string } | null;
  limit: number;
  windowMinutes: number;
  windowEnds: Date;
}

/** The one loud alert when a surface's, or one scope's, containment budget is used up for the window. */
export function renderBudgetAlert(exhausted: ExhaustedBudget): Alert {
  const { surface, scope, limit, windowMinutes, windowEnds } = exhausted;
  const until = windowEnds.toISOString();
  // The scope is built from validated identifiers only (cluster name or ARN, account).
  const who = scope === null ? `${surface} workloads` : `${surface} workloads of ${scope.label}`;
  const subject = forSubject(
    `[CRITICAL] RESPONDER BUDGET EXHAUSTED: ${scope === null ? surface : `${surface} in ${scope.name}`} notify-only until ${until}`,
  );
  const text = [
    `The responder contained ${limit} ${who} in the current ${windowMinutes}-minute window: ${scope === null ? 'the surface' : 'that scope'}'s blast-radius budget is used up.`,
    `Until ${until} further findings about ${who} are only notified, not contained; each still gets its own alert.`,
    scope === null
      ? 'Every cluster and account of this surface is affected.'
      : `Other clusters and accounts keep their own share of the ${surface} budget.`,
    'This can be a real outbreak or an attacker triggering findings to make the responder isolate the fleet. Review the recent alerts.',
    'To change the limits, set budget.maxContainments and budget.maxSharePerScope in the policy file.',
  ].join('\n');
  const slack = shortSlack(
    `budget-${surface}-${windowEnds.getTime()}${scope === null ? '' : `-${scope.name}`}`,
    `:rotating_light: Responder budget exhausted: ${surface}`,
    forSlack(text as CleanText),
    subject,
    [],
  );
  return { subject, text, slack };
}
