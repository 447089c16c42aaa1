import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApi } from './support/harness.js';

/** What bootstrap.sh fetches before a device has any credential. */
describe('agent downloads', () => {
  let dir: string;
  let api: TestApi;
  const binary = Buffer.from('#!fake-agent-executable\n'.repeat(1000));
  const checksum = `${createHash('sha256').update(binary).digest('hex')}  xspectre-agent\n`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'xs-agent-dist-'));
    await writeFile(join(dir, 'xspectre-agent'), binary);
    await writeFile(join(dir, 'xspectre-agent.sha256'), checksum);
    await writeFile(join(dir, 'bootstrap.sh'), '#!/usr/bin/env bash\necho bootstrap\n');
    await writeFile(join(dir, 'restic'), Buffer.from('#!fake-restic\n'.repeat(500)));
    api = await TestApi.start({ API_AGENT_DIST_DIR: dir, API_RESTIC_BINARY: join(dir, 'restic') });
  });
  afterAll(async () => {
    await api?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the script, the executable and its checksum without authentication', async () => {
    const script = await api.request('GET', 'agent/bootstrap.sh');
    expect(script.status).toBe(200);
    expect(script.text).toContain('echo bootstrap');
    const sum = await api.request('GET', 'agent/download/xspectre-agent.sha256');
    expect(sum.text).toBe(checksum);
    const response = await fetch(`${api.baseUrl}/api/v1/agent/download/xspectre-agent`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    const body = Buffer.from(await response.arrayBuffer());
    expect(createHash('sha256').update(body).digest('hex')).toBe(checksum.split(' ')[0]);
  });

  it('serves restic and its SHA-256 (computed again when the file changes) for devices whose distribution has none', async () => {
    for (const content of ['#!fake-restic\n'.repeat(500), '#!another-restic-version\n'.repeat(300)]) {
      await writeFile(join(dir, 'restic'), content);
      const expected = createHash('sha256').update(content).digest('hex');
      const sum = await api.request('GET', 'agent/download/restic.sha256');
      expect(sum.status).toBe(200);
      expect(sum.text).toBe(`${expected}  restic\n`);
      const response = await fetch(`${api.baseUrl}/api/v1/agent/download/restic`);
      expect(response.status).toBe(200);
      expect(
        createHash('sha256')
          .update(Buffer.from(await response.arrayBuffer()))
          .digest('hex'),
      ).toBe(expected);
    }
  });

  it("says clearly when there is no restic to hand out, without naming the server's paths", async () => {
    await rm(join(dir, 'restic'));
    for (const path of ['agent/download/restic', 'agent/download/restic.sha256']) {
      const r = await api.request('GET', path);
      expect(r.status).toBe(404);
      expect(r.body.code).toBe('RESTIC_BINARY_MISSING');
      expect(r.body.detail).toMatch(/API_RESTIC_BINARY/);
      expect(r.body.detail).not.toContain(dir);
    }
  });

  it('says clearly when the executable has not been built', async () => {
    await rm(join(dir, 'xspectre-agent'));
    const r = await api.request('GET', 'agent/download/xspectre-agent');
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('AGENT_BINARY_MISSING');
    expect(r.body.detail).toMatch(/build:sea/);
  });
});
