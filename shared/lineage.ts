/**
 * The process chain of a finding: the process itself, then its parent, grandparent and so
 * on, ordered by following `parentUuid` links rather than trusting the array order.
 */
import type { WireProcess } from './finding-schema.js';
import { cleanOptional, type CleanText } from './sanitize.js';
import { SHA256 } from './identifiers.js';
import { toIsoTime } from './time.js';

/** One process in the chain. Only the process itself carries user, pwd and hash. */
export interface ProcessEntry {
  name?: CleanText;
  executablePath?: CleanText;
  pid?: number;
  namespacePid?: number;
  user?: CleanText;
  userId?: number;
  euid?: number;
  pwd?: CleanText;
  sha256?: string;
  startTime?: string;
}

/** At most this many ancestors are kept; deeper chains are cut (and said to be). */
export const MAX_ANCESTORS = 32;

type WireLineageEntry = NonNullable<WireProcess['lineage']>[number];

const int = (value: number | null | undefined) => (typeof value === 'number' ? value : undefined);

function ancestorEntry(wire: WireLineageEntry): ProcessEntry {
  return {
    name: cleanOptional(wire.name, 'name'),
    executablePath: cleanOptional(wire.executablePath, 'path'),
    pid: int(wire.pid),
    namespacePid: int(wire.namespacePid),
    userId: int(wire.userId),
    euid: int(wire.euid),
    startTime: toIsoTime(wire.startTime),
  };
}

function processEntry(wire: WireProcess): ProcessEntry {
  const sha = wire.executableSha256?.toLowerCase();
  return {
    ...ancestorEntry(wire),
    user: cleanOptional(wire.user, 'name'),
    pwd: cleanOptional(wire.pwd, 'path'),
    sha256: sha !== undefined && SHA256.test(sha) ? sha : undefined,
  };
}

/**
 * Order the ancestors by the uuid chain starting at the process's `parentUuid`. Entries
 * the chain does not reach (or a finding without uuids) keep their array order after the
 * linked ones, and `complete` says whether every entry was reached through a link.
 */
export function buildLineage(process: WireProcess | null | undefined): {
  entries: ProcessEntry[];
  complete: boolean;
} {
  if (!process) return { entries: [], complete: true };
  const ancestors = (process.lineage ?? []).slice(0, MAX_ANCESTORS);
  const byUuid = new Map<string, WireLineageEntry>();
  for (const entry of ancestors) {
    if (typeof entry.uuid === 'string' && !byUuid.has(entry.uuid)) byUuid.set(entry.uuid, entry);
  }
  const ordered: WireLineageEntry[] = [];
  const seen = new Set<WireLineageEntry>();
  let next = process.parentUuid ? byUuid.get(process.parentUuid) : undefined;
  while (next !== undefined && !seen.has(next)) {
    ordered.push(next);
    seen.add(next);
    next = next.parentUuid ? byUuid.get(next.parentUuid) : undefined;
  }
  const unlinked = ancestors.filter((entry) => !seen.has(entry));
  const cut = (process.lineage?.length ?? 0) > MAX_ANCESTORS;
  return {
    entries: [processEntry(process), ...[...ordered, ...unlinked].map(ancestorEntry)],
    complete: unlinked.length === 0 && !cut,
  };
}
