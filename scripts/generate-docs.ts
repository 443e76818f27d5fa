// Writes the XSD and the generated docs tables (npm run docs).
import { writeFileSync } from 'node:fs';
import { GENERATED } from '../src/docs/generate.js';

for (const { path, render } of GENERATED) {
  writeFileSync(path, render());
  console.log(`wrote ${path}`);
}
