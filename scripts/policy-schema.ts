/** Write `shared/policy.schema.json` from the policy's zod schema (a test checks it is current). */
import { writeFileSync } from 'node:fs';
import { policyJsonSchema } from '../shared/policy.js';

writeFileSync('shared/policy.schema.json', `${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
process.stdout.write('wrote shared/policy.schema.json\n');
