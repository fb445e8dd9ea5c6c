/**
 * Every command the responder prints is checked here the way a shell would read it: through
 * `shell-quote`, a POSIX lexer independent of the `shlex` quoting that wrote it. A printed
 * command must lex to exactly the intended argv (plain words only, no operator, glob or
 * comment), and a value that lacks its syntax must give no command at all.
 */
import fc from 'fast-check';
import { parse } from 'shell-quote';
import { describe, expect, it } from 'vitest';
import { releaseHint } from '../../shared/alert.js';
import type { EksPodTarget } from '../../shared/contracts.js';
import { evaluate, type Evaluation } from '../../shared/decide.js';
import {
  DNS1123_SUBDOMAIN,
  EKS_CLUSTER_NAME,
  K8S_LABEL_KEY,
  K8S_LABEL_VALUE,
  K8S_NAMESPACE,
  invalidAmong,
} from '../../shared/identifiers.js';
import { CORDONED_LABEL, FINDING_ANNOTATION, QUARANTINE_LABEL } from '../../shared/labels.js';
import { defaultPolicy } from '../../shared/policy.js';
import { ec2ReleaseText } from '../../shared/release-commands.js';
import { shellCommand } from '../../shared/shell.js';
import {
  CONTAINED_AT_ANNOTATION,
  DETACHED_LABELS_ANNOTATION,
} from '../../functions/isolate-pod/annotations.js';
import { readDetachedRecord } from '../../functions/isolate-pod/detached-record.js';
import {
  deletePolicy,
  deleteTierDeny,
  releaseText,
  restoreLabels,
  uncordonNode,
  unlabelPod,
} from '../../functions/isolate-pod/release.js';
import type { Undo } from '../../functions/isolate-pod/plan.js';
import { TIER_KINDS, qualifiedResource } from '../../functions/isolate-pod/policy-tier.js';
import { restoreService } from '../../functions/stop-task/stop-task.js';
import type { EcsTaskRequest } from '../../functions/stop-task/task-facts.js';
import { parseReleaseArgs } from '../../scripts/release-args.js';
import { loadEvent } from '../helpers.js';
import { hostileString } from '../hostile.js';

// shell-quote is slow on long hostile strings; a few hundred runs per property are plenty.
const RUNS = { numRuns: 300 };
const LONG = 60_000;

/** The words a shell sees in one command; fails on anything that is not a plain word. */
function words(command: string): string[] {
  const entries = parse(command);
  for (const entry of entries) expect(typeof entry, JSON.stringify(entry)).toBe('string');
  return entries as string[];
}

/** The commands of a `; `-separated line: `;` must be the only operator, and only between. */
function commandsOf(line: string): string[][] {
  const commands: string[][] = [[]];
  for (const entry of parse(line)) {
    if (typeof entry === 'string') commands[commands.length - 1]!.push(entry);
    else {
      expect(entry).toEqual({ op: ';' });
      commands.push([]);
    }
  }
  for (const command of commands) expect(command.length).toBeGreaterThan(0);
  return commands;
}

/** Shell syntax an attacker would reach for, alone and inside otherwise valid names. */
const SHELL_SYNTAX = [
  ';',
  '|',
  '&',
  '&&',
  '$(id)',
  '`id`',
  '${IFS}',
  '\n',
  "'",
  '"',
  ' ',
  '\\',
  '#',
  '*',
  '>',
  '<',
  '(',
  ')',
  '~',
  'é',
  '\u202E',
];
const metaString = fc
  .array(fc.oneof(fc.constantFrom(...SHELL_SYNTAX), fc.constantFrom('a', 'app', '-', '.', '/')), {
    maxLength: 12,
  })
  .map((parts) => parts.join(''));

const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/);
const labelName = fc.stringMatching(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?$/);
const validKey = fc.oneof(
  labelName,
  fc
    .tuple(fc.array(dnsLabel, { minLength: 1, maxLength: 3 }), labelName)
    .map(([prefix, name]) => `${prefix.join('.')}/${name}`),
);
const validValue = fc.oneof(fc.constant(''), labelName);
/** A name as the API server would give it, or anything an attacker could write. */
const maybeName = fc.oneof(dnsLabel, metaString, hostileString);

describe('shellCommand', () => {
  it(
    'a shell reads back exactly the argv, whatever the arguments hold',
    () => {
      fc.assert(
        fc.property(
          fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), metaString), {
            minLength: 1,
            maxLength: 6,
          }),
          (argv) => {
            expect(words(shellCommand(argv))).toEqual(argv);
          },
        ),
        RUNS,
      );
    },
    LONG,
  );

  it('leaves plain words as they are, so the usual commands read as before', () => {
    expect(shellCommand(['kubectl', '-n', 'payments', 'label', 'pod', 'web', 'a.b/c=d'])).toBe(
      'kubectl -n payments label pod web a.b/c=d',
    );
    expect(shellCommand(['kubectl', 'uncordon', '<node of the pod>'])).toBe(
      "kubectl uncordon '<node of the pod>'",
    );
  });
});

describe('the syntax of label keys and values', () => {
  it.each([
    ['app', true],
    ['app.kubernetes.io/name', true],
    ['a_b.c-d', true],
    ['k'.repeat(63), true],
    ['k'.repeat(64), false],
    [`${'p'.repeat(253)}/name`, true],
    [`${'p'.repeat(254)}/name`, false],
    ['Example.com/name', false],
    ['a/b/c', false],
    ['/name', false],
    ['prefix/', false],
    ['-app', false],
    ['app-', false],
    ['', false],
    ['a b', false],
    ['app\n', false],
  ])('key %j: %s', (key, valid) => {
    expect(K8S_LABEL_KEY.test(key)).toBe(valid);
  });

  it.each([
    ['', true],
    ['v1.2_3-x', true],
    ['v'.repeat(63), true],
    ['v'.repeat(64), false],
    ['a/b', false],
    ['-v', false],
    ['café', false],
  ])('value %j: %s', (value, valid) => {
    expect(K8S_LABEL_VALUE.test(value)).toBe(valid);
  });

  it('names what is invalid, quoted and cut', () => {
    expect(invalidAmong([['namespace', K8S_NAMESPACE, 'a;b']])).toBe('namespace "a;b" is invalid');
    expect(invalidAmong([['label value', K8S_LABEL_VALUE, 7]])).toBe(
      'label value (a number) is invalid',
    );
    expect(invalidAmong([['node name', DNS1123_SUBDOMAIN, 'x'.repeat(500)]])).toBe(
      `node name "${'x'.repeat(80)}"… is invalid`,
    );
    expect(invalidAmong([['namespace', K8S_NAMESPACE, 'ok']])).toBeUndefined();
  });
});

/** The argv each isolate-pod builder means to print, from the names it was given. */
const podArgv = (namespace: string, verb: string, pod: string, ...args: string[]) => [
  'kubectl',
  '-n',
  namespace,
  verb,
  'pod',
  pod,
  ...args,
];

/** kubectl's `key-` arguments, which remove a label or annotation. */
const removals = (...keys: string[]) => keys.map((key) => `${key}-`);

/** Either the intended commands, or no command and a note that the undo is by hand. */
function expectUndo(undo: Undo, valid: boolean, intended: () => string[][]): void {
  if (valid) {
    expect(undo.notes).toEqual([]);
    expect(undo.release.map(words)).toEqual(intended());
  } else {
    expect(undo.release).toEqual([]);
    expect(undo.notes).toHaveLength(1);
    expect(undo.notes[0]).toMatch(/ is invalid.*by hand$/);
  }
}

describe('isolate-pod release commands', () => {
  const isName = (value: string) => DNS1123_SUBDOMAIN.test(value);
  const isNamespace = (value: string) => K8S_NAMESPACE.test(value);

  it(
    'built from valid names only, and read by a shell as intended',
    () => {
      fc.assert(
        fc.property(maybeName, maybeName, maybeName, (namespace, pod, node) => {
          const podValid = isNamespace(namespace) && isName(pod);
          expectUndo(unlabelPod(namespace, pod), podValid, () => [
            podArgv(namespace, 'label', pod, `${QUARANTINE_LABEL}-`),
            podArgv(
              namespace,
              'annotate',
              pod,
              ...removals(FINDING_ANNOTATION, CONTAINED_AT_ANNOTATION),
            ),
          ]);
          expectUndo(deletePolicy(namespace, pod), podValid, () => [
            ['kubectl', '-n', namespace, 'delete', 'networkpolicy', pod],
          ]);
          for (const tier of TIER_KINDS) {
            expectUndo(deleteTierDeny(qualifiedResource(tier), pod), isName(pod), () => [
              ['kubectl', 'delete', qualifiedResource(tier), pod],
            ]);
          }
          expectUndo(uncordonNode(node), isName(node), () => [
            ['kubectl', 'uncordon', node],
            ['kubectl', 'label', 'node', node, `${CORDONED_LABEL}-`],
            ['kubectl', 'annotate', 'node', node, `${FINDING_ANNOTATION}-`],
          ]);
        }),
        RUNS,
      );
    },
    LONG,
  );

  const entry = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(validKey, validValue) },
    { weight: 1, arbitrary: fc.tuple(fc.oneof(validKey, metaString, hostileString), metaString) },
    { weight: 1, arbitrary: fc.tuple(metaString, validValue) },
  );

  it(
    'a detached-labels record restores labels only when every key and value is valid',
    () => {
      fc.assert(
        fc.property(fc.array(entry, { minLength: 1, maxLength: 5 }), (entries) => {
          const labels = Object.fromEntries(entries);
          const record = readDetachedRecord(JSON.stringify(labels));
          const valid = Object.entries(labels).every(
            ([key, value]) =>
              K8S_LABEL_KEY.test(key) &&
              K8S_LABEL_VALUE.test(value) &&
              !key.startsWith('guardduty-responder/'),
          );
          expect(record.kind).toBe(valid ? 'labels' : 'invalid');
          const undo = restoreLabels('payments', 'web-1', record);
          if (valid) {
            expect(undo.release.map(words)).toEqual([
              podArgv(
                'payments',
                'label',
                'web-1',
                '--overwrite',
                ...Object.entries(labels).map(([key, value]) => `${key}=${value}`),
              ),
              podArgv('payments', 'annotate', 'web-1', `${DETACHED_LABELS_ANNOTATION}-`),
            ]);
          } else {
            expect(undo.release).toEqual([]);
            expect(undo.notes).toEqual([
              expect.stringMatching(
                /^the detached-labels record on the pod is invalid \(.+\): restore the pod's labels by hand$/s,
              ),
            ]);
          }
        }),
        RUNS,
      );
    },
    LONG,
  );

  it.each([
    ['not JSON', '{"app":'],
    ['a JSON array', '[["app","x"]]'],
    ['a JSON number', '42'],
    ['null', 'null'],
    ['a non-string value', '{"app":{"nested":"x"}}'],
    ['a boolean value', '{"app":true}'],
    ['no labels', '{}'],
    ['a __proto__ key', '{"__proto__":"x"}'],
    ["the responder's own key", `{"${QUARANTINE_LABEL}":"x"}`],
  ])('a record that is %s is refused', (_, annotation) => {
    const record = readDetachedRecord(annotation);
    expect(record.kind).toBe('invalid');
    expect(restoreLabels('payments', 'web-1', record).release).toEqual([]);
  });

  it(
    'the release line selects the cluster, then runs each command, nothing else',
    () => {
      const region = fc.oneof(
        fc.constantFrom('us-east-1', 'eu-west-2', 'us-gov-west-1'),
        metaString,
      );
      const cluster = fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,20}$/), metaString);
      fc.assert(
        fc.property(region, cluster, maybeName, maybeName, (regionName, clusterName, ns, pod) => {
          const steps = [...deletePolicy(ns, pod).release, ...unlabelPod(ns, pod).release];
          const text = releaseText(regionName, clusterName, steps);
          if (steps.length === 0) {
            expect(text).toBeUndefined();
            return;
          }
          const select = invalidAmong([
            ['region', /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/, regionName],
            ['cluster', /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, clusterName],
          ]);
          if (select !== undefined) {
            expect(text).toMatch(/ is invalid: .* by hand$/s);
            return;
          }
          expect(commandsOf(text!)).toEqual([
            ['aws', 'eks', 'update-kubeconfig', '--region', regionName, '--name', clusterName],
            ...steps.map(words),
          ]);
        }),
        RUNS,
      );
    },
    LONG,
  );

  it('a line too long for the contract ends in an echo that says how many steps are left', () => {
    const steps = Array.from({ length: 40 }, (_, index) =>
      shellCommand(['kubectl', '-n', 'payments', 'delete', 'networkpolicy', `policy-${index}`]),
    );
    const text = releaseText('us-east-1', 'prod', steps)!;
    expect(text.length).toBeLessThanOrEqual(2000);
    const commands = commandsOf(text);
    expect(commands.at(-1)).toEqual([
      'echo',
      `${40 - (commands.length - 2)} more undo steps not shown`,
    ]);
  });
});

describe('release text outside isolate-pod', () => {
  /** The command at the end of a "what it does: command" line. */
  const trailingCommand = (text: string) => words(text.slice(text.lastIndexOf(': ') + 2));

  it(
    'EC2: instance id and region are checked; the command comes last and the release CLI accepts it',
    () => {
      const region = fc.oneof(
        fc.constantFrom('us-east-1', 'eu-west-2', 'us-gov-west-1', 'ap-southeast-4'),
        metaString,
        hostileString,
      );
      fc.assert(
        fc.property(
          fc.oneof(fc.stringMatching(/^i-[0-9a-f]{17}$/), metaString, hostileString),
          region,
          (id, regionName) => {
            const text = ec2ReleaseText(id, regionName);
            const idValid = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(id);
            if (!idValid || !/^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/.test(regionName)) {
              expect(text).toMatch(
                new RegExp(
                  `^${idValid ? 'region' : 'instance id'} .* is invalid: restore .* by hand$`,
                  's',
                ),
              );
              return;
            }
            const argv = trailingCommand(text);
            expect(argv).toEqual([
              'npm',
              'run',
              'release',
              '--',
              'ec2',
              id,
              '--region',
              regionName,
            ]);
            // What npm hands the release script: the words after `--`. No region in the
            // environment, so the one on the line is what the release uses.
            expect(parseReleaseArgs(argv.slice(argv.indexOf('--') + 1), {})).toEqual({
              surface: 'ec2',
              instanceId: id,
              region: regionName,
              json: false,
            });
          },
        ),
        RUNS,
      );
    },
    LONG,
  );

  it(
    'ECS: the service is restored by a command of checked values only',
    () => {
      const CLUSTER = 'arn:aws:ecs:us-east-1:123456789012:cluster/prod';
      const request = { region: 'us-east-1', target: { clusterArn: CLUSTER } } as EcsTaskRequest;
      fc.assert(
        fc.property(
          fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,30}$/), metaString, hostileString),
          fc.nat(1000),
          (service, count) => {
            const text = restoreService(request, service, count);
            if (/^[A-Za-z0-9_-]{1,255}$/.test(service)) {
              expect(text.startsWith('restore the service: ')).toBe(true);
              expect(trailingCommand(text)).toEqual([
                'aws',
                'ecs',
                'update-service',
                '--region',
                'us-east-1',
                '--cluster',
                CLUSTER,
                '--service',
                service,
                '--desired-count',
                String(count),
              ]);
            } else {
              expect(text).toMatch(/^service name .* is invalid: .* by hand$/s);
            }
          },
        ),
        RUNS,
      );
    },
    LONG,
  );

  it(
    "the alert's EKS hint: selects the finding's cluster, checked names, placeholders as single words",
    () => {
      const evaluation = evaluate(loadEvent('eks-runc-container-escape.json'), defaultPolicy());
      expect(evaluation.target?.surface).toBe('eks-pod');
      const target = evaluation.target as EksPodTarget;
      const region = evaluation.finding!.region;
      const withTarget = (change: Partial<EksPodTarget>): Evaluation => ({
        ...evaluation,
        target: { ...target, ...change },
      });
      const cordons = evaluation.actions.includes('eks:cordon-node');
      const clusterName = fc.oneof(
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,20}$/),
        metaString,
      );
      fc.assert(
        fc.property(
          clusterName,
          maybeName,
          fc.option(maybeName, { nil: undefined }),
          (cluster, namespace, podName) => {
            const hint = releaseHint(
              withTarget({ clusterName: cluster, namespace, podName, podUid: undefined }),
            )!;
            if (!EKS_CLUSTER_NAME.test(cluster) || !isNamespaceAndPod(namespace, podName)) {
              expect(hint).toMatch(/ is invalid: undo the pod's quarantine by hand$/s);
              return;
            }
            const pod = podName ?? '<pod>';
            expect(commandsOf(hint)).toEqual([
              ['aws', 'eks', 'update-kubeconfig', '--region', region, '--name', cluster],
              ['kubectl', '-n', namespace, 'delete', 'networkpolicy', 'gdrr-quarantine-<pod-uid>'],
              podArgv(namespace, 'label', pod, `${QUARANTINE_LABEL}-`),
              ...(cordons ? [['kubectl', 'uncordon', '<node of the pod>']] : []),
            ]);
          },
        ),
        RUNS,
      );
    },
    LONG,
  );
});

function isNamespaceAndPod(namespace: string, pod: string | undefined): boolean {
  return K8S_NAMESPACE.test(namespace) && (pod === undefined || DNS1123_SUBDOMAIN.test(pod));
}
