// Shared by the remote-access benchmarks: OpenSSH's own client (ssh, sftp) as the baseline needs
// a session key and a certificate, issued here from the API's ssh-user-ca key exactly as
// SshCertificateAuthority.issue does (api/src/ssh/ssh-certificate-authority.ts).
import { createPublicKey } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { sshPrincipalOf } from '@xspectre/contracts';
import { KeyStore } from '../dist/keys/key-store.js';
import { issueUserCertificate } from '../dist/ssh/openssh-certificate.js';

/** Writes `id_ed25519` and `id_ed25519-cert.pub` into dir (valid an hour, from sourceAddress only); returns the key's path. */
export async function sessionCredentials({ keyStoreDir, deviceId, dir, keyId, sourceAddress }) {
  const store = new KeyStore({ API_KEY_STORE_DIR: keyStoreDir, API_SECRET_KEY: 'unused-for-ssh-user-ca' });
  await store.open('ssh-user-ca');
  const ca = await store.currentSigningKey('ssh-user-ca');
  const pair = ssh2.utils.generateKeyPairSync('ed25519');
  const raw = Buffer.from(pair.public.split(' ')[1], 'base64').subarray(-32);
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  const { line } = issueUserCertificate({
    publicKey,
    caKey: ca.privateKey,
    keyId,
    principals: [sshPrincipalOf(deviceId)],
    validAfter: new Date(Date.now() - 60_000),
    validBefore: new Date(Date.now() + 3_600_000),
    sourceAddress: `${sourceAddress}/32`,
  });
  const key = join(dir, 'id_ed25519');
  await writeFile(key, pair.private, { mode: 0o600 });
  await chmod(key, 0o600);
  await writeFile(`${key}-cert.pub`, `${line}\n`);
  return key;
}

/** OpenSSH client options of the baseline: this certificate only, from sourceAddress, the lab's fresh host keys not remembered. */
export function opensshOptions(key, sourceAddress) {
  return [
    '-i',
    key,
    '-o',
    `CertificateFile=${key}-cert.pub`,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `BindAddress=${sourceAddress}`,
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
  ];
}
