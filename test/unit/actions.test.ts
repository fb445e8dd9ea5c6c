import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACTIONS, CONTAINMENT_FUNCTIONS, actionsOf } from '../../shared/actions.js';
import { ACTION_IDS, SURFACES } from '../../shared/contracts.js';
import { actionsTable, releasePermissions } from '../../scripts/actions-table.js';

describe('action registry', () => {
  it('has one entry per action id, keyed by its own id', () => {
    expect(Object.keys(ACTIONS).sort()).toEqual([...ACTION_IDS].sort());
    for (const [id, action] of Object.entries(ACTIONS)) expect(action.id).toBe(id);
  });

  it('every surface has a function with at least one action, and IAM actions are service:Action', () => {
    for (const surface of SURFACES) {
      expect(CONTAINMENT_FUNCTIONS[surface]).toBeDefined();
      expect(actionsOf(surface).length).toBeGreaterThan(0);
    }
    for (const action of Object.values(ACTIONS)) {
      for (const iam of action.iamActions) expect(iam).toMatch(/^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$/);
    }
  });

  it('the README documents exactly the permissions the registry declares', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    expect(readme).toContain(actionsTable());
    expect(readme).toContain(releasePermissions());
  });
});
