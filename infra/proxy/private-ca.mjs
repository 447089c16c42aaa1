#!/usr/bin/env node
// Generates the deployment's private CA and the proxy's certificate (infra/proxy/README.md):
//   node infra/proxy/private-ca.mjs --dir /etc/xspectre/proxy-tls --name ops.internal [--name 203.0.113.10]
// Keeps an existing CA and server key (the pin stays), re-issues server.crt. Prints the pin for
// API_BOOTSTRAP_PIN and the CA's SHA-256 fingerprint. Exit codes: 0 ok; 2 usage; 1 openssl failed.
import { parseArgs } from 'node:util';
import { generatePrivateCa } from './src/private-ca.mjs';

const USAGE = 'usage: private-ca.mjs --dir DIR --name HOST [--name IP ...] [--server-days N]';
let values;
try {
  ({ values } = parseArgs({
    options: { dir: { type: 'string' }, name: { type: 'string', multiple: true }, 'server-days': { type: 'string' } },
    strict: true,
  }));
} catch (error) {
  process.stderr.write(`private-ca: ${error.message}\n${USAGE}\n`);
  process.exit(2);
}
if (!values.dir || !values.name?.length) {
  process.stderr.write(`private-ca: --dir and at least one --name are required\n${USAGE}\n`);
  process.exit(2);
}
const serverDays = values['server-days'] === undefined ? undefined : Number(values['server-days']);
let result;
try {
  result = await generatePrivateCa({ dir: values.dir, names: values.name, ...(serverDays === undefined ? {} : { serverDays }) });
} catch (error) {
  const zodIssues = error?.issues?.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  process.stderr.write(`private-ca: ${zodIssues ?? error.stderr ?? error.message}\n`);
  process.exit(zodIssues ? 2 : 1);
}
process.stdout.write(
  [
    `private-ca: ${result.created.join(', ')} written in ${values.dir} (0600; the proxy's user must read server.crt and server.key)`,
    `names (SANs): ${result.names.join(', ')}`,
    `pin (API_BOOTSTRAP_PIN, curl --pinnedpubkey): ${result.pin}`,
    `CA SHA-256 fingerprint: ${result.caFingerprintSha256}`,
    '',
  ].join('\n'),
);
