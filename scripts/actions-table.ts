/**
 * The README's table of containment actions and the permissions each needs, generated from
 * the action registry (`shared/actions.ts`); a unit test keeps the README in step.
 */
import { ACTIONS, CONTAINMENT_FUNCTIONS, EC2_RELEASE_IAM_ACTIONS } from '../shared/actions.js';

/** Markdown table: action, function, what it does, IAM actions, Kubernetes RBAC. */
export function actionsTable(): string {
  const rows = Object.values(ACTIONS).map((action) => {
    const rbac = action.rbac.map(
      (rule) =>
        `${rule.verbs.join('/')} ${rule.apiGroup ? `${rule.apiGroup}/` : ''}${rule.resource}${rule.optIn ? ` (only with \`${rule.optIn}\`)` : ''}`,
    );
    return `| \`${action.id}\` | ${CONTAINMENT_FUNCTIONS[action.surface]} | ${action.description} | ${action.iamActions.map((a) => `\`${a}\``).join(', ')} | ${rbac.join('; ') || '-'} |`;
  });
  return [
    '| action | function | what it does | IAM actions | Kubernetes RBAC |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** The README's sentence on what releasing an EC2 quarantine needs. */
export function releasePermissions(): string {
  return `Releasing an EC2 quarantine needs ${EC2_RELEASE_IAM_ACTIONS.map((a) => `\`${a}\``).join(', ')}.`;
}

if (process.argv[1]?.endsWith('actions-table.ts')) {
  process.stdout.write(`${actionsTable()}\n\n${releasePermissions()}\n`);
}
