/**
 * Lets esbuild drop the AWS SDK schemas a function does not use.
 *
 * AWS SDK v3 clients describe every shape of their service in one generated module
 * (`dist-es/schemas/schemas_0.js`), one array literal per shape. Their trait objects use
 * computed keys naming module constants, `{ [_xN]: _II }` with `const _xN = "xmlName"`.
 * esbuild keeps any statement with a computed key (the key expression could run code), so
 * every shape of the service stays in the bundle whether used or not: 3,400 shapes and
 * about 540 KB minified for EC2, most of its cold-import cost. Writing the key as the
 * literal its constant holds builds the same object and makes each shape a pure statement
 * that esbuild can drop. Reported upstream as aws/aws-sdk-js-v3#7607.
 */
import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';

/** The generated schema modules of AWS SDK clients, including the nested STS/SSO ones. */
export const SDK_SCHEMA_MODULE =
  /[\\/]@aws-sdk[\\/][^\\/]+[\\/]dist-es[\\/](?:submodules[\\/][^\\/]+[\\/])?schemas[\\/]schemas_\d+\.js$/;

/** `const _abc = "text";` on a line of its own: the module's string table. */
const STRING_CONSTANT = /^const (_\w+) = ("(?:[^"\\\r\n]|\\.)*");\r?$/gm;

/**
 * A computed key naming an identifier, right after `{` or `,` (where only a property can
 * start), so `cond ? [_a] : b` or an array element is never mistaken for one.
 */
const COMPUTED_KEY = /([{,]\s*)\[(_\w+)\]:/g;

export interface InlinedSource {
  code: string;
  /** How many computed keys were written as literals. */
  inlined: number;
}

/** Rewrite computed keys that name a string constant of the same module as that string. */
export function inlineTraitKeys(source: string): InlinedSource {
  const strings = new Map<string, string>();
  for (const [, name, literal] of source.matchAll(STRING_CONSTANT)) strings.set(name!, literal!);
  let inlined = 0;
  const code = source.replace(COMPUTED_KEY, (whole, before: string, name: string) => {
    const literal = strings.get(name);
    if (literal === undefined) return whole;
    inlined += 1;
    return `${before}${literal}:`;
  });
  return { code, inlined };
}

/**
 * The esbuild plugin applying {@link inlineTraitKeys} to every SDK schema module. A module
 * that still has computed keys after the rewrite (the SDK changed how it writes them) is
 * reported as a build warning, so the pruning cannot stop silently.
 */
export function sdkSchemaKeys(): Plugin {
  return {
    name: 'sdk-schema-keys',
    setup(build) {
      build.onLoad({ filter: SDK_SCHEMA_MODULE }, async ({ path }) => {
        const { code } = inlineTraitKeys(await readFile(path, 'utf8'));
        const left = code.match(COMPUTED_KEY)?.length ?? 0;
        const warnings =
          left === 0
            ? []
            : [
                {
                  text: `${left} computed schema keys were left as they are: unused SDK schemas stay in the bundle`,
                },
              ];
        return { contents: code, loader: 'js', warnings };
      });
    },
  };
}
