import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EnrollResponse } from '@xspectre/contracts';
import { COMMAND_KEY_ID, COMMAND_KEY_PEM, CREDENTIAL } from '../test/fixtures.js';
import { agentConfigFrom, buildEnrollRequest, interpretEnrollAnswer, readSshHostKey } from './enroll.js';
import { AgentError, ExitCode } from './errors.js';
import type { HostFacts } from './facts.js';

const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq8hMkn4mGqL0jJpRkvZcbQn8gZ5Qe2Zs8G2gq3vJ4y';

const facts: HostFacts = {
  hostname: 'scanner-01',
  localIps: ['192.0.2.5'],
  macs: ['52:54:00:12:34:56'],
  nics: [{ name: 'eth0', mac: '52:54:00:12:34:56', physical: true, addresses: ['192.0.2.5'] }],
  hardware: {
    vendor: null,
    model: null,
    serial: null,
    cpu: { model: 'x', cores: 2, id: null },
    ramBytes: 1024,
    disks: [],
    os: { name: 'Debian GNU/Linux', version: '12', kernel: '6.1.0' },
  },
};

const answer = (): EnrollResponse => ({
  deviceId: '0b9f3c1e-6f5a-4c43-9d0e-2f4b1a7c8d90',
  deviceName: 'scanner-01',
  deviceType: 'scanner',
  tunnel: {
    address: '10.10.0.21',
    prefixLength: 24,
    hubPublicKey: 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=',
    hubEndpoint: '198.18.0.1:51820',
    hubAddress: '10.10.0.1',
    allowedIps: ['10.10.0.1/32'],
    persistentKeepaliveSeconds: 25,
  },
  apiUrl: 'http://10.10.0.1:3000/api/v1',
  deviceCredential: CREDENTIAL,
  commandSigningPublicKey: COMMAND_KEY_PEM,
  commandSigningKeys: [{ keyId: COMMAND_KEY_ID, publicKeyPem: COMMAND_KEY_PEM }],
  heartbeatIntervalSeconds: 30,
  modules: { docker: true, scanner: true, backups: 'file' },
});

const problem = (status: number, code: string, detail = 'detail text') => ({
  status,
  body: undefined,
  problem: { type: 'about:blank', title: 'Title', status, detail, code, requestId: 'req-1' },
});

function failure(fn: () => unknown): AgentError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AgentError) return err;
    throw err;
  }
  throw new Error('expected an AgentError');
}

describe('interpretEnrollAnswer', () => {
  it('accepts a contract-valid 201', () => {
    expect(interpretEnrollAnswer({ status: 201, body: answer(), problem: undefined })).toEqual(answer());
  });

  it('maps claim code problems to exit 3 with the code and detail', () => {
    for (const code of ['CLAIM_CODE_INVALID', 'CLAIM_CODE_EXPIRED', 'CLAIM_CODE_USED', 'CLAIM_CODE_REVOKED']) {
      const error = failure(() =>
        interpretEnrollAnswer(problem(code === 'CLAIM_CODE_INVALID' ? 404 : 409, code, 'the code\u001b[31m expired')),
      );
      expect(error.exitCode).toBe(ExitCode.CLAIM_REJECTED);
      expect(error.message).toContain(code);
      expect(error.message).toContain('the code [31m expired'); // escape sequences neutralised
      expect(error.message).toContain('req-1');
    }
  });

  it('maps other problems to exit 8 and non-problems to exit 5', () => {
    expect(failure(() => interpretEnrollAnswer(problem(429, 'RATE_LIMITED'))).exitCode).toBe(ExitCode.API_REFUSED);
    expect(failure(() => interpretEnrollAnswer(problem(400, 'VALIDATION_FAILED'))).message).toContain('VALIDATION_FAILED');
    expect(failure(() => interpretEnrollAnswer({ status: 404, body: '<html>', problem: undefined })).exitCode).toBe(ExitCode.BAD_ANSWER);
  });

  it('rejects answers outside the contract without echoing the credential', () => {
    const missing = { ...answer(), deviceId: 'nope' };
    const error = failure(() => interpretEnrollAnswer({ status: 201, body: missing, problem: undefined }));
    expect(error.exitCode).toBe(ExitCode.BAD_ANSWER);
    expect(error.message).toContain('deviceId');
    expect(error.message).not.toContain(CREDENTIAL);
    const injected = answer();
    injected.tunnel.hubEndpoint = '198.18.0.1:51820\nPostUp = id';
    expect(failure(() => interpretEnrollAnswer({ status: 201, body: injected, problem: undefined })).message).toContain(
      'tunnel.hubEndpoint',
    );
  });

  it('pins every command-signing key of the answer, refusing key material that is not Ed25519', () => {
    expect(agentConfigFrom(answer(), new Date()).commandSigningKeys).toEqual([{ keyId: COMMAND_KEY_ID, publicKeyPem: COMMAND_KEY_PEM }]);
    const fake = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n';
    const error = failure(() =>
      agentConfigFrom({ ...answer(), commandSigningKeys: [{ keyId: COMMAND_KEY_ID, publicKeyPem: fake }] }, new Date()),
    );
    expect(error.exitCode).toBe(ExitCode.BAD_ANSWER);
    expect(error.message).toContain('commandSigningKeys.0.publicKeyPem');
  });

  it('refuses an API URL that is not http(s) before anything is written', () => {
    expect(failure(() => agentConfigFrom({ ...answer(), apiUrl: 'file:///etc/passwd' }, new Date())).exitCode).toBe(ExitCode.BAD_ANSWER);
    expect(agentConfigFrom(answer(), new Date('2025-01-01T00:00:00Z'))).toMatchObject({
      overlayAddress: '10.10.0.21',
      enrolledAt: '2025-01-01T00:00:00.000Z',
    });
  });
});

describe('buildEnrollRequest', () => {
  const input = {
    claimCode: 'ABCDEFGHJKLMNPQRSTUV',
    facts,
    installationSalt: 'a'.repeat(43),
    wgPublicKey: 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=',
    sshHostKey: SSH_KEY,
  };

  it('builds a contract-valid request', () => {
    expect(buildEnrollRequest(input)).toMatchObject({ protocolVersion: 1, claimCode: 'ABCDEFGHJKLMNPQRSTUV', macs: facts.macs });
  });

  it('fails locally (exit 6) when the host gives no MAC address', () => {
    const error = failure(() => buildEnrollRequest({ ...input, facts: { ...facts, macs: [] } }));
    expect(error.exitCode).toBe(ExitCode.LOCAL_ERROR);
    expect(error.message).toContain('macs');
  });
});

describe('readSshHostKey', () => {
  it('keeps type and key, drops the comment, rejects other files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xspectre-ssh-'));
    try {
      await writeFile(join(dir, 'ok.pub'), `${SSH_KEY} root@scanner-01\n`);
      expect(await readSshHostKey(join(dir, 'ok.pub'))).toBe(SSH_KEY);
      await writeFile(join(dir, 'private'), '-----BEGIN OPENSSH PRIVATE KEY-----\n');
      await expect(readSshHostKey(join(dir, 'private'))).rejects.toMatchObject({ exitCode: ExitCode.LOCAL_ERROR });
      await expect(readSshHostKey(join(dir, 'missing.pub'))).rejects.toMatchObject({ exitCode: ExitCode.LOCAL_ERROR });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
