import { describe, expect, it } from 'vitest';
import { buildLineage, MAX_ANCESTORS } from '../../shared/lineage.js';

const ancestor = (uuid: string, parentUuid: string | null, name: string) => ({
  uuid,
  parentUuid,
  name,
  pid: Number(uuid.replace(/\D/g, '')) || 1,
});

describe('buildLineage', () => {
  it('puts the process first, then follows parentUuid whatever the array order', () => {
    const { entries, complete } = buildLineage({
      name: 'bash',
      user: 'app',
      parentUuid: 'u2',
      lineage: [ancestor('u3', null, 'init'), ancestor('u2', 'u3', 'sh')],
    });
    expect(entries.map((e) => e.name)).toEqual(['bash', 'sh', 'init']);
    expect(entries[0]!.user).toBe('app');
    expect(complete).toBe(true);
  });

  it('keeps unlinked entries after the chain and says the chain is incomplete', () => {
    const { entries, complete } = buildLineage({
      name: 'bash',
      parentUuid: 'u2',
      lineage: [ancestor('u9', null, 'orphan'), ancestor('u2', null, 'sh')],
    });
    expect(entries.map((e) => e.name)).toEqual(['bash', 'sh', 'orphan']);
    expect(complete).toBe(false);
  });

  it('stops on a cycle', () => {
    const { entries } = buildLineage({
      name: 'a',
      parentUuid: 'u1',
      lineage: [ancestor('u1', 'u2', 'b'), ancestor('u2', 'u1', 'c')],
    });
    expect(entries.map((e) => e.name)).toEqual(['a', 'b', 'c']);
  });

  it('keeps array order when there are no uuids at all', () => {
    const { entries } = buildLineage({ name: 'a', lineage: [{ name: 'b' }, { name: 'c' }] });
    expect(entries.map((e) => e.name)).toEqual(['a', 'b', 'c']);
  });

  it('caps very deep chains and says so', () => {
    const lineage = Array.from({ length: 100 }, (_, i) => ancestor(`u${i}`, `u${i + 1}`, `p${i}`));
    const { entries, complete } = buildLineage({ name: 'a', parentUuid: 'u0', lineage });
    expect(entries).toHaveLength(MAX_ANCESTORS + 1);
    expect(complete).toBe(false);
  });

  it('sanitizes names and paths and keeps only a well-formed hash', () => {
    const { entries } = buildLineage({
      name: 'x\u202Ey',
      executablePath: '/tmp/\n',
      executableSha256: 'ABC',
      lineage: [],
    });
    expect(entries[0]).toMatchObject({
      name: 'x\\u202Ey',
      executablePath: '/tmp/\\n',
      sha256: undefined,
    });
  });

  it('returns nothing for a finding without a process', () => {
    expect(buildLineage(undefined)).toEqual({ entries: [], complete: true });
  });
});
