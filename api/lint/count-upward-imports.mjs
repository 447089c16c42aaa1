// Counts relative imports in api/src that break the layering in layers.mjs (same judgement as the
// ESLint rule feature-boundaries). A regex, not a parser: no dependency beyond node.
// Usage: node api/lint/count-upward-imports.mjs   (exit 1 when any is found)
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyImport } from './layers.mjs';

const apiDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const srcDir = path.join(apiDir, 'src');
// `from '...'` (import/export ... from), `import('...')` and side-effect `import '...'`; relative only.
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)(['"])(\.\.?\/[^'"\n]*)\1/gm;

const files = readdirSync(srcDir, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.ts') && !f.split(path.sep).includes('node_modules'))
  .sort();

let count = 0;
for (const file of files) {
  const absolute = path.join(srcDir, file);
  for (const match of readFileSync(absolute, 'utf8').matchAll(IMPORT)) {
    const found = classifyImport(absolute, match[2]);
    if (!found) continue;
    count++;
    console.log(`${path.posix.join('api/src', file.replaceAll(path.sep, '/'))}: ${match[2]} -> ${found.message}`);
  }
}
console.log(`upward imports in api/src: ${count}`);
process.exitCode = count > 0 ? 1 : 0;
