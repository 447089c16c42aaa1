// A private CA for a deployment without a public name (infra/proxy/README.md): an ECDSA P-256
// root (10 years) and the proxy's server certificate signed by it, made with openssl.
import { X509Certificate, createHash, createPublicKey, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const Name = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => DNS_NAME.test(v) || isIP(v) !== 0, 'must be a DNS name or an IP address');

export const PrivateCaOptionsSchema = z
  .object({
    dir: z.string().min(1),
    /** The certificate's names: the first is its CN; DNS names and IPs both become SANs. */
    names: z.array(Name).min(1, 'give at least the hostname or IP devices dial'),
    caDays: z.number().int().min(1).default(3650),
    serverDays: z.number().int().min(1).max(3650).default(825),
  })
  .strict();

const exists = (path) =>
  stat(path).then(
    () => true,
    () => false,
  );

async function openssl(args) {
  await execa('openssl', args, { stdin: 'ignore' });
}

async function newP256Key(path) {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
  await chmod(path, 0o600);
}

/** What `curl --pinnedpubkey` takes: sha256// and the base64 SHA-256 of the key's DER SubjectPublicKeyInfo. */
export function spkiPin(keyOrCertPem) {
  const key = keyOrCertPem.includes('CERTIFICATE') ? new X509Certificate(keyOrCertPem).publicKey : createPublicKey(keyOrCertPem);
  return `sha256//${createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('base64')}`;
}

/**
 * Makes what is missing in `dir` (ca.key, ca.crt, server.key; all 0600) and issues server.crt
 * for `names` anew. An existing CA and server key are kept, so the pin in devices' one-liners
 * and the CA they may trust stay the same across renewals.
 */
export async function generatePrivateCa(options) {
  const o = PrivateCaOptionsSchema.parse(options);
  const files = {
    caKey: join(o.dir, 'ca.key'),
    caCert: join(o.dir, 'ca.crt'),
    serverKey: join(o.dir, 'server.key'),
    serverCert: join(o.dir, 'server.crt'),
  };
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  const created = [];
  if (!(await exists(files.caKey)) || !(await exists(files.caCert))) {
    await newP256Key(files.caKey);
    await openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      files.caKey,
      '-sha256',
      '-days',
      String(o.caDays),
      '-subj',
      '/O=xSPECTRE Ops/CN=xSPECTRE Ops private CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      files.caCert,
    ]);
    created.push('ca.key', 'ca.crt');
  }
  if (!(await exists(files.serverKey))) {
    await newP256Key(files.serverKey);
    created.push('server.key');
  }
  // Names are validated above (DNS names, IPs): nothing else reaches the extensions file.
  const sans = o.names.map((n) => (isIP(n) !== 0 ? `IP:${n}` : `DNS:${n}`)).join(',');
  const ext = join(o.dir, `server.ext.${randomBytes(4).toString('hex')}`);
  const csr = join(o.dir, `server.csr.${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(
      ext,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        `subjectAltName=${sans}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    await openssl(['req', '-new', '-key', files.serverKey, '-subj', `/CN=${o.names[0]}`, '-out', csr]);
    await openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      files.caCert,
      '-CAkey',
      files.caKey,
      '-set_serial',
      `0x${randomBytes(16).toString('hex').replace(/^./, '1')}`,
      '-days',
      String(o.serverDays),
      '-sha256',
      '-extfile',
      ext,
      '-out',
      files.serverCert,
    ]);
  } finally {
    await rm(ext, { force: true });
    await rm(csr, { force: true });
  }
  created.push('server.crt');
  for (const path of Object.values(files)) await chmod(path, 0o600);

  const caCert = new X509Certificate(await readFile(files.caCert));
  return {
    files,
    created,
    pin: spkiPin(await readFile(files.serverKey, 'utf8')),
    caFingerprintSha256: caCert.fingerprint256,
    names: o.names,
  };
}
