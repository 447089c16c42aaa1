#!/usr/bin/env node
// Renders the proxy's Caddyfile from its JSON settings (infra/proxy/README.md):
//   node infra/proxy/render.mjs --config proxy.json [--out /etc/caddy/Caddyfile]
// Exit codes: 0 written; 2 usage or invalid settings (every problem listed).
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { renderCaddyfile } from './src/proxy.mjs';

function fail(message) {
  process.stderr.write(`render: ${message}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({ options: { config: { type: 'string' }, out: { type: 'string' } }, strict: true }));
} catch (error) {
  fail(`${error.message}\nusage: render.mjs --config proxy.json [--out Caddyfile]`);
}
if (!values.config) fail('--config is required (usage: render.mjs --config proxy.json [--out Caddyfile])');

let settings;
try {
  settings = JSON.parse(await readFile(values.config, 'utf8'));
} catch (error) {
  fail(`cannot read ${values.config} as JSON: ${error.message}`);
}
let text;
try {
  text = renderCaddyfile(settings);
} catch (error) {
  fail(error.message);
}
if (values.out) {
  // Whole file or nothing: Caddy never reads a half-written config.
  const tmp = `${values.out}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, values.out);
  process.stdout.write(`render: wrote ${values.out}\n`);
} else {
  process.stdout.write(text);
}
