/**
 * The release command line, read without side effects: what to release and how, or why
 * the words given do not say. The release line an alert prints is read back through this
 * same function by the tests, so a pasted line is one the command accepts.
 */
import { parseArgs } from 'node:util';
import { INSTANCE_ID, K8S_NAMESPACE, K8S_POD_NAME, REGION } from '../shared/identifiers.js';
import { cleanText } from '../shared/sanitize.js';

export const RELEASE_USAGE = `usage: npm run -s release -- ec2 <instance-id> [--region REGION] [--json]
       npm run -s release -- eks <namespace>/<pod> [--kubeconfig FILE] [--json]
       npm run -s release -- ecs [--json]
  --region      the instance's region (default: AWS_REGION, then AWS_DEFAULT_REGION)
  --kubeconfig  the cluster's kubeconfig (default: KUBECONFIG, then ~/.kube/config)
  --json        one JSON record on stdout: surface, target, released, steps, problems, notes`;

export type ReleaseCommand =
  | { surface: 'ec2'; instanceId: string; region: string; json: boolean }
  | {
      surface: 'eks';
      namespace: string;
      pod: string;
      kubeconfig: string | undefined;
      json: boolean;
    }
  | { surface: 'ecs'; json: boolean };

export type ParsedRelease = ReleaseCommand | { help: true } | { usageError: string };

const SURFACES = ['ec2', 'eks', 'ecs'] as const;

/** Which options each surface takes (--json and --help go with all of them). */
const OPTIONS_OF: Record<(typeof SURFACES)[number], readonly string[]> = {
  ec2: ['region'],
  eks: ['kubeconfig'],
  ecs: [],
};

/**
 * Read the arguments after `npm run release --`; the environment gives the region when
 * --region does not.
 */
export function parseReleaseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ParsedRelease {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        region: { type: 'string' },
        kubeconfig: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    // Node's message goes on to explain `--` for positionals; its first sentence is the point.
    return { usageError: cleanText((error as Error).message.split('. ')[0]!, 'name') };
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  const [surface, target, ...extra] = positionals;
  if (surface === undefined) return { usageError: 'name what to release: ec2, eks or ecs' };
  if (!isSurface(surface))
    return { usageError: `unknown surface ${shown(surface)}: ec2, eks or ecs` };
  const unexpected = surface === 'ecs' ? target : extra[0];
  if (unexpected !== undefined) return { usageError: `unexpected argument ${shown(unexpected)}` };
  const misplaced = (['region', 'kubeconfig'] as const).find(
    (option) => values[option] !== undefined && !OPTIONS_OF[surface].includes(option),
  );
  if (misplaced !== undefined) {
    return { usageError: `--${misplaced} does not apply to ${surface}` };
  }
  const { json } = values;
  switch (surface) {
    case 'ec2': {
      if (target === undefined || !INSTANCE_ID.test(target))
        return { usageError: 'expected a valid EC2 instance id (i-0123456789abcdef0)' };
      const region = values.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION);
      if (!region) return { usageError: 'no region: pass --region or set AWS_REGION' };
      if (!REGION.test(region))
        return { usageError: `region ${shown(region)} is not a region name (us-east-1)` };
      return { surface, instanceId: target, region, json };
    }
    case 'eks': {
      const [namespace, pod, ...rest] = (target ?? '').split('/');
      if (rest.length > 0 || !K8S_NAMESPACE.test(namespace ?? '') || !K8S_POD_NAME.test(pod ?? ''))
        return { usageError: 'expected <namespace>/<pod> with valid Kubernetes names' };
      return { surface, namespace: namespace!, pod: pod!, kubeconfig: values.kubeconfig, json };
    }
    case 'ecs':
      return { surface, json };
  }
}

/** A word of the command line, quoted and made visible as any input shown in a terminal. */
const shown = (word: string): string => `"${cleanText(word, 'short')}"`;

const isSurface = (word: string): word is (typeof SURFACES)[number] =>
  (SURFACES as readonly string[]).includes(word);
