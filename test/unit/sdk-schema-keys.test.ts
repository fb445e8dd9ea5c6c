/**
 * The SDK schema rewrite must build exactly the objects the SDK's own module builds, for
 * every schema module a function bundles, and must keep unused schemas out of the bundles.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionBundleOptions } from '../../scripts/bundle-options.js';
import {
  SDK_SCHEMA_MODULE,
  inlineTraitKeys,
  sdkSchemaKeys,
} from '../../scripts/sdk-schema-keys.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FUNCTIONS = ['router', 'quarantine-ec2', 'stop-task', 'isolate-pod'];

describe('inlineTraitKeys', () => {
  it('writes computed keys naming a string constant as that string', () => {
    const source = [
      'const _xN = "xmlName";',
      'const _e = "error";',
      'export var A$ = [3, n0, _A, { [_e]: _c, [_xN]: _B }, [() => B$, { [_xN]: `x` }]];',
      'export var B$ = [3, n0, _B, {',
      '    [_xN]: _C }];',
    ].join('\n');
    const { code, inlined } = inlineTraitKeys(source);
    expect(inlined).toBe(4);
    expect(code).toContain('{ "error": _c, "xmlName": _B }');
    expect(code).toContain('{ "xmlName": `x` }');
    expect(code).toContain('{\n    "xmlName": _C }');
    expect(code).not.toMatch(/\[_(?:e|xN)\]/);
  });

  it('leaves keys naming anything but a string constant, and non-key brackets, alone', () => {
    const source = [
      'const _xN = "xmlName";',
      'const _n = 5;',
      'let _l = "let";',
      'export var A$ = { [_n]: 1, [_l]: 2, [other]: 3 };',
      'export var B$ = flag ? [_xN]: [];',
      'export var C$ = [[_xN], 1];',
    ].join('\n');
    expect(inlineTraitKeys(source)).toEqual({ code: source, inlined: 0 });
  });

  it('reads a string table written with CRLF line ends', () => {
    const source = 'const _xN = "xmlName";\r\nexport var A$ = { [_xN]: 1 };\r\n';
    expect(inlineTraitKeys(source)).toEqual({
      code: 'const _xN = "xmlName";\r\nexport var A$ = { "xmlName": 1 };\r\n',
      inlined: 1,
    });
  });

  it('warns when a schema module keeps computed keys (the rewrite no longer applies)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gdrr-schema-warn-'));
    const schemas = join(dir, 'node_modules/@aws-sdk/client-x/dist-es/schemas');
    mkdirSync(schemas, { recursive: true });
    writeFileSync(
      join(schemas, 'schemas_0.js'),
      // A string table the rewrite does not recognise (exported constants).
      'export const _a = "a";\nexport var A$ = { [_a]: 1 };\n',
    );
    try {
      const result = await build({
        stdin: {
          contents: `export { A$ } from './node_modules/@aws-sdk/client-x/dist-es/schemas/schemas_0.js';`,
          resolveDir: dir,
        },
        bundle: true,
        write: false,
        format: 'esm',
        plugins: [sdkSchemaKeys()],
        logLevel: 'silent',
      });
      expect(result.warnings.map((w) => w.text)).toEqual([
        '1 computed schema keys were left as they are: unused SDK schemas stay in the bundle',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is idempotent: rewritten code has nothing left to rewrite', () => {
    const once = inlineTraitKeys('const _a = "a";\nexport var X = { [_a]: 1 };').code;
    expect(inlineTraitKeys(once)).toEqual({ code: once, inlined: 0 });
  });
});

/**
 * A text form of everything reachable from a module's exports: arrays and objects by
 * content, zero-argument functions (the schemas' lazy references) by what they return,
 * classes by name, shared and circular references by their first position.
 */
function canonical(root: unknown): string {
  const ids = new Map<unknown, number>();
  const visit = (value: unknown): string => {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
      return typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value));
    }
    const known = ids.get(value);
    if (known !== undefined) return `#${known}`;
    ids.set(value, ids.size);
    if (typeof value === 'function') {
      const source = Function.prototype.toString.call(value);
      if (source.startsWith('class')) return `class ${value.name}`;
      return value.length === 0
        ? `() => ${visit((value as () => unknown)())}`
        : `fn/${value.length}`;
    }
    if (Array.isArray(value)) return `[${value.map(visit).join(',')}]`;
    if (value instanceof Map) {
      return `Map{${[...value].map(([k, v]) => `${visit(k)}=>${visit(v)}`).join(',')}}`;
    }
    const name = Object.getPrototypeOf(value)?.constructor?.name ?? 'null';
    const fields = Object.keys(value).map(
      (key) => `${JSON.stringify(key)}:${visit((value as Record<string, unknown>)[key])}`,
    );
    return `${name}{${fields.join(',')}}`;
  };
  return visit(root);
}

describe('SDK schema modules in the production bundles', () => {
  let dir: string;
  const metafiles = new Map<string, Metafile>();
  /** Every output file's text, per function. */
  const texts = new Map<string, string[]>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gdrr-schema-keys-'));
    for (const name of FUNCTIONS) {
      const result = await build({
        ...functionBundleOptions(join(ROOT, 'functions', name, 'handler.ts'), join(dir, name)),
        write: false,
        metafile: true,
        logLevel: 'silent',
      });
      metafiles.set(name, result.metafile);
      texts.set(
        name,
        result.outputFiles.filter((f) => f.path.endsWith('.mjs')).map((f) => f.text),
      );
    }
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const schemaModules = () =>
    [...new Set([...metafiles.values()].flatMap((meta) => Object.keys(meta.inputs)))]
      .filter((input) => SDK_SCHEMA_MODULE.test(input))
      .sort();

  /** Bundle `export *` of one schema module, with or without the rewrite, and import it. */
  async function loadSchemas(input: string, rewrite: boolean, index: number) {
    const outfile = join(dir, `${index}-${rewrite ? 'rewritten' : 'original'}.mjs`);
    const result = await build({
      stdin: { contents: `export * from ${JSON.stringify(join(ROOT, input))};`, resolveDir: ROOT },
      bundle: true,
      format: 'esm',
      platform: 'node',
      mainFields: ['module', 'main'],
      plugins: rewrite ? [sdkSchemaKeys()] : [],
      write: false,
      logLevel: 'silent',
    });
    writeFileSync(outfile, result.outputFiles[0]!.text);
    return (await import(pathToFileURL(outfile).href)) as Record<string, unknown>;
  }

  it('every bundled schema module builds the same objects rewritten as the SDK ships it', async () => {
    const modules = schemaModules();
    // The four functions use eight service clients, plus the nested STS/SSO clients.
    expect(modules.filter((m) => m.includes('/client-')).length).toBeGreaterThanOrEqual(8);
    for (const [index, input] of modules.entries()) {
      const original = await loadSchemas(input, false, index);
      const rewritten = await loadSchemas(input, true, index);
      expect(Object.keys(rewritten).sort(), input).toEqual(Object.keys(original).sort());
      expect(Object.keys(original).length, input).toBeGreaterThan(1);
      const names = Object.keys(original).sort();
      expect(canonical(names.map((n) => rewritten[n])), input).toBe(
        canonical(names.map((n) => original[n])),
      );
    }
  }, 120_000);

  it('quarantine-ec2 bundles only the Auto Scaling and load balancer commands it sends', () => {
    const code = texts.get('quarantine-ec2')!.join('\n');
    for (const used of ['"DetachInstances"', '"SetInstanceProtection"', '"DeregisterTargets"'])
      expect(code, used).toContain(used);
    for (const unused of ['"CreateAutoScalingGroup"', '"PutScalingPolicy"', '"CreateLoadBalancer"'])
      expect(code, unused).not.toContain(unused);
  });

  it('keeps only the schemas a function uses (EC2: under 80 KB of its 3,400 shapes)', () => {
    const schemaBytes = (fn: string, client: string) =>
      Object.entries(metafiles.get(fn)!.outputs)
        .flatMap(([, output]) => Object.entries(output.inputs))
        .filter(([input]) => input.includes(`/${client}/`) && SDK_SCHEMA_MODULE.test(input))
        .reduce((sum, [, { bytesInOutput }]) => sum + bytesInOutput, 0);
    const ec2 = schemaBytes('quarantine-ec2', 'client-ec2');
    expect(ec2).toBeGreaterThan(0);
    expect(ec2).toBeLessThan(80 * 1024);
    expect(schemaBytes('router', 'client-lambda')).toBeLessThan(20 * 1024);
  });
});
