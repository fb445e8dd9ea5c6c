/**
 * A private apt configuration in the cache directory, derived from the machine's own
 * Debian sources: the same mirrors and keys, with the other suites the environment needs
 * (trixie for moto, bookworm's source packages). The system's apt state is never touched.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { capture, progress, runLogged, TestenvError } from './exec.js';

/** One repository line, whichever format it was written in. */
export interface SourceEntry {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  signedBy?: string;
  architectures?: string;
}

/** Parses deb822 `.sources` text (stanzas of `Field: value`, continuation lines indented). */
export function parseDeb822(text: string): SourceEntry[] {
  const entries: SourceEntry[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let current: string | undefined;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      const continuation = /^\s+(.*)$/.exec(line);
      if (continuation && current) {
        const more = continuation[1] === '.' ? '' : (continuation[1] ?? '');
        fields.set(current, `${fields.get(current) ?? ''}\n${more}`);
        continue;
      }
      const field = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (!field?.[1]) continue;
      current = field[1].toLowerCase();
      fields.set(current, field[2] ?? '');
    }
    if (fields.get('enabled')?.trim().toLowerCase() === 'no') continue;
    const words = (name: string) => (fields.get(name) ?? '').split(/\s+/).filter(Boolean);
    if (words('types').length === 0 || words('uris').length === 0) continue;
    entries.push({
      types: words('types'),
      uris: words('uris'),
      suites: words('suites'),
      components: words('components'),
      signedBy: fields.get('signed-by')?.trim() || undefined,
      architectures: fields.get('architectures')?.trim() || undefined,
    });
  }
  return entries;
}

/** Parses one-line `sources.list` text: `deb [options] uri suite components...`. */
export function parseOneLine(text: string): SourceEntry[] {
  const entries: SourceEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const match = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!match?.[1] || !match[3] || !match[4]) continue;
    const options = new Map<string, string>();
    for (const option of (match[2] ?? '').split(/\s+/).filter(Boolean)) {
      const [key, value] = option.split('=');
      if (key && value) options.set(key.toLowerCase(), value);
    }
    entries.push({
      types: [match[1]],
      uris: [match[3]],
      suites: [match[4]],
      components: (match[5] ?? '').split(/\s+/).filter(Boolean),
      signedBy: options.get('signed-by'),
      architectures: options.get('arch'),
    });
  }
  return entries;
}

/** The machine's enabled Debian repositories, read where its apt reads them. */
export async function readMachineSources(): Promise<{ entries: SourceEntry[]; codename: string }> {
  const shell = await capture('apt-config', [
    'shell',
    'LIST',
    'Dir::Etc::sourcelist/f',
    'PARTS',
    'Dir::Etc::sourceparts/d',
  ]);
  const value = (name: string) => new RegExp(`^${name}='([^']*)'`, 'm').exec(shell)?.[1];
  const entries: SourceEntry[] = [];
  const list = value('LIST');
  if (list && existsSync(list)) entries.push(...parseOneLine(readFileSync(list, 'utf8')));
  const parts = value('PARTS');
  if (parts && existsSync(parts)) {
    for (const name of readdirSync(parts).sort()) {
      const file = path.join(parts, name);
      if (name.endsWith('.list')) entries.push(...parseOneLine(readFileSync(file, 'utf8')));
      if (name.endsWith('.sources')) entries.push(...parseDeb822(readFileSync(file, 'utf8')));
    }
  }
  return { entries, codename: readCodename() };
}

function readCodename(): string {
  const osRelease = readFileSync('/etc/os-release', 'utf8');
  const codename = /^VERSION_CODENAME=("?)([a-z]+)\1$/m.exec(osRelease)?.[2];
  if (!codename) throw new TestenvError('cannot tell the Debian release from /etc/os-release');
  return codename;
}

/**
 * The private sources: every machine repository of its own release (base, -updates,
 * -security) as deb and deb-src, plus the base repository under each extra suite.
 * Third-party repositories (other suite names) are left out.
 */
export function derivePrivateSources(
  entries: SourceEntry[],
  codename: string,
  extraSuites: string[],
  keyFileFor: (embeddedKey: string) => string,
): string {
  const lines = new Set<string>();
  for (const entry of entries) {
    if (!entry.types.includes('deb')) continue;
    const ownSuites = entry.suites.filter((s) => s === codename || s.startsWith(`${codename}-`));
    if (ownSuites.length === 0) continue;
    const options = optionsOf(entry, keyFileFor);
    for (const uri of entry.uris) {
      const components = entry.components.join(' ');
      for (const suite of ownSuites) {
        lines.add(`deb ${options}${uri} ${suite} ${components}`);
        lines.add(`deb-src ${options}${uri} ${suite} ${components}`);
      }
      if (!ownSuites.includes(codename)) continue;
      for (const suite of extraSuites.filter((s) => s !== codename)) {
        lines.add(`deb ${options}${uri} ${suite} ${components}`);
        lines.add(`deb-src ${options}${uri} ${suite} ${components}`);
      }
    }
  }
  if (lines.size === 0) {
    throw new TestenvError(
      `no Debian ${codename} repository found in the machine's apt sources; ` +
        'the test environment fetches its packages through the same mirrors',
    );
  }
  return [...lines].join('\n') + '\n';
}

function optionsOf(entry: SourceEntry, keyFileFor: (embeddedKey: string) => string): string {
  const options: string[] = [];
  if (entry.signedBy) {
    const key = entry.signedBy.includes('BEGIN PGP') ? keyFileFor(entry.signedBy) : entry.signedBy;
    options.push(`signed-by=${key}`);
  }
  if (entry.architectures) options.push(`arch=${entry.architectures.replace(/\s+/g, ',')}`);
  return options.length > 0 ? `[${options.join(' ')}] ` : '';
}

/** apt-get and apt-cache bound to a configuration and state under `root`. */
export class PrivateApt {
  private readonly sourcesFile: string;

  constructor(
    private readonly root: string,
    private readonly logFile: string,
    /** The machine's own suites win; extra suites are used only where named (`pkg/suite`). */
    private readonly extraSuites: string[],
  ) {
    this.sourcesFile = path.join(root, 'etc', 'sources.list');
  }

  /** Writes the configuration and fetches the package indexes when they are missing or stale. */
  async ensureIndexes(): Promise<void> {
    const { entries, codename } = await readMachineSources();
    for (const dir of ['etc/sources.list.d', 'etc/preferences.d', 'keys', 'state/lists/partial']) {
      mkdirSync(path.join(this.root, dir), { recursive: true });
    }
    mkdirSync(path.join(this.root, 'cache', 'archives', 'partial'), { recursive: true });
    const statusFile = path.join(this.root, 'state', 'status');
    if (!existsSync(statusFile)) writeFileSync(statusFile, '');
    const sources = derivePrivateSources(entries, codename, this.extraSuites, (key) =>
      this.writeEmbeddedKey(key),
    );
    writeFileSync(path.join(this.root, 'etc', 'preferences'), this.preferences(codename));
    const previous = existsSync(this.sourcesFile) ? readFileSync(this.sourcesFile, 'utf8') : '';
    writeFileSync(this.sourcesFile, sources);
    if (previous !== sources || !this.hasIndexes()) await this.update();
  }

  /** Re-reads the package indexes (a mirror may have dropped the version we had). */
  async update(): Promise<void> {
    progress('fetching Debian package indexes for the private apt configuration');
    await runLogged('apt-get', [...this.options(), 'update'], {
      description: 'apt-get update (private configuration)',
      logFile: this.logFile,
      timeoutMs: 10 * 60_000,
    });
  }

  /** apt-cache / apt-get output for a query, with the private configuration. */
  async query(tool: 'apt-cache' | 'apt-get', args: string[]): Promise<string> {
    return capture(tool, [...this.options(), ...args]);
  }

  /** Downloads `.deb` files into `dir`; retries once after refreshing stale indexes. */
  async download(packages: string[], dir: string): Promise<void> {
    await this.withRefresh(() =>
      runLogged('apt-get', [...this.options(), 'download', ...packages], {
        description: `apt-get download ${packages.join(' ')}`,
        logFile: this.logFile,
        cwd: dir,
        timeoutMs: 10 * 60_000,
      }),
    );
  }

  /** Downloads a source package (.dsc and tarballs) into `dir` without unpacking it. */
  async downloadSource(sourcePackage: string, dir: string): Promise<void> {
    await this.withRefresh(() =>
      runLogged('apt-get', [...this.options(), 'source', '--download-only', sourcePackage], {
        description: `apt-get source ${sourcePackage}`,
        logFile: this.logFile,
        cwd: dir,
        timeoutMs: 10 * 60_000,
      }),
    );
  }

  private async withRefresh(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch {
      await this.update();
      await action();
    }
  }

  private options(): string[] {
    const option = (name: string, value: string) => ['-o', `${name}=${value}`];
    return [
      ...option('Dir::Etc::sourcelist', this.sourcesFile),
      ...option('Dir::Etc::sourceparts', path.join(this.root, 'etc', 'sources.list.d')),
      ...option('Dir::Etc::preferences', path.join(this.root, 'etc', 'preferences')),
      ...option('Dir::Etc::preferencesparts', path.join(this.root, 'etc', 'preferences.d')),
      ...option('Dir::State', path.join(this.root, 'state')),
      ...option('Dir::State::status', path.join(this.root, 'state', 'status')),
      ...option('Dir::Cache', path.join(this.root, 'cache')),
      ...option('Acquire::Languages', 'none'),
      ...option('APT::Get::List-Cleanup', 'false'),
      // The cache belongs to whoever runs this; apt's _apt sandbox user cannot write to it.
      ...(process.getuid?.() === 0 ? option('APT::Sandbox::User', 'root') : []),
      '-q',
    ];
  }

  private preferences(codename: string): string {
    return this.extraSuites
      .filter((suite) => suite !== codename)
      .map((suite) => `Package: *\nPin: release n=${suite}\nPin-Priority: 100\n`)
      .join('\n');
  }

  private hasIndexes(): boolean {
    const lists = path.join(this.root, 'state', 'lists');
    return readdirSync(lists).some((name) => name.endsWith('_Packages'));
  }

  private writeEmbeddedKey(key: string): string {
    const digest = createHash('sha256').update(key).digest('hex').slice(0, 16);
    const file = path.join(this.root, 'keys', `embedded-${digest}.asc`);
    writeFileSync(file, key.endsWith('\n') ? key : `${key}\n`);
    return file;
  }
}
