/**
 * The commands the documentation shows work as written. npm prints its own banner
 * (`> package@version script`) on standard output before a script's output unless run with
 * `-s`, so a documented pipe or redirect of `npm run` without it hands the reader a line
 * that is not the command's.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../cli.js';

const DOCUMENTS = ['README.md', 'events/README.md', 'testenv/README.md', 'bench/README.md'];

/** The lines of every ```sh block of a Markdown document, comments cut off. */
function shellLines(markdown: string): string[] {
  const blocks = markdown.match(/^```sh\n[\s\S]*?^```/gm) ?? [];
  return blocks.flatMap((block) =>
    block
      .split('\n')
      .slice(1, -1)
      .map((line) => line.replace(/(^|\s)#.*$/, '').trimEnd()),
  );
}

/**
 * True when the output of an `npm run` without `-s` on this line goes to a pipe, a file or
 * a command substitution (`||`, `&&` and `2>` leave standard output alone).
 */
function pipesNpmBanner(line: string): boolean {
  return [...line.matchAll(/npm run (?!-s )/g)].some(({ index }) => {
    const after = line.slice(index);
    const before = line.slice(0, index);
    return /(?<![|])\|(?![|])|(?<![2&])>/.test(after) || /\$\(\s*$/.test(before);
  });
}

describe('documented commands', { timeout: 30_000 }, () => {
  it('the check finds an npm banner going into a pipe, a redirect or a substitution', () => {
    expect(pipesNpmBanner('npm run replay -- --json events/ | jq .decision')).toBe(true);
    expect(pipesNpmBanner('npm run replay -- --json events/ > out.jsonl')).toBe(true);
    expect(pipesNpmBanner('eval "$(npm run testenv -- up)"')).toBe(true);
    expect(pipesNpmBanner('npm run -s replay -- --json events/ | jq .decision')).toBe(false);
    expect(pipesNpmBanner('npm run typecheck && npm run lint || true')).toBe(false);
    expect(pipesNpmBanner('npm run bench 2>/dev/null')).toBe(false);
  });

  it.each(DOCUMENTS)('%s: every pipe or redirect of an npm script uses npm run -s', (document) => {
    const lines = shellLines(readFileSync(join(ROOT, document), 'utf8'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter(pipesNpmBanner)).toEqual([]);
  });

  it("the README's replay pipe: with -s, standard output is the JSON lines only", () => {
    const readme = shellLines(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    const example = readme.find((line) => line.includes('--json events/ | '));
    expect(example).toBeDefined();
    const producer = example!.slice(0, example!.indexOf(' | '));
    const run = spawnSync('sh', ['-c', producer], { cwd: ROOT, encoding: 'utf8' });
    expect(run.status).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('decision');
  });
});
