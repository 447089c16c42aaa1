import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiUnreachableError, postJson } from '../src/http.js';
import { keyPinOf, pinnedHttpsAgent } from '../src/pinned-tls.js';

/**
 * The agent's enrollment through a proxy with a private CA (infra/proxy): a real TLS server with
 * a certificate no system CA signed; the request goes through only with that server key's pin,
 * and with a wrong pin nothing (the claim code) reaches the server.
 */
describe('pinned TLS (enroll --pin)', () => {
  let dir: string;
  let server: Server;
  let url: string;
  let pin: string;
  const received: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xs-pinned-tls-'));
    const key = join(dir, 'server.key');
    const cert = join(dir, 'server.crt');
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
    execFileSync('openssl', [
      'req',
      '-new',
      '-x509',
      '-key',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=ops.test',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    pin = keyPinOf(new X509Certificate(readFileSync(cert)));
    // openssl's own computation of the same pin (what curl --pinnedpubkey compares).
    const der = execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-outform', 'DER']);
    const digest = execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der });
    expect(pin).toBe(`sha256//${digest.toString('base64')}`);

    server = createServer({ key: readFileSync(key), cert: readFileSync(cert), minVersion: 'TLSv1.3' }, (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push(body);
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/enroll`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('goes through with the server key pinned, though no CA signed it', async () => {
    const answer = await postJson(url, { claimCode: 'pinned' }, { timeoutMs: 10_000, pin });
    expect(answer).toMatchObject({ status: 201, body: { ok: true } });
    expect(received).toContain('{"claimCode":"pinned"}');
  });

  it('refuses a wrong pin before sending anything, and an unpinned request fails the CA check', async () => {
    const before = received.length;
    const wrong = `sha256//${Buffer.alloc(32, 7).toString('base64')}`;
    const refused = postJson(url, { claimCode: 'must-not-arrive' }, { timeoutMs: 10_000, pin: wrong });
    await expect(refused).rejects.toBeInstanceOf(ApiUnreachableError);
    await expect(refused).rejects.toThrow(/does not match the pin/);
    await expect(postJson(url, { claimCode: 'unpinned' }, { timeoutMs: 10_000 })).rejects.toThrow(/SELF_SIGNED|self.signed|certificate/i);
    expect(received.length).toBe(before);
  });

  it('refuses a malformed pin and a pin over plain HTTP', async () => {
    expect(() => pinnedHttpsAgent('sha256//short=')).toThrow(/key pin/);
    await expect(postJson('http://127.0.0.1:9/api/v1/enroll', {}, { timeoutMs: 1_000, pin })).rejects.toThrow(/needs an https/);
  });
});
