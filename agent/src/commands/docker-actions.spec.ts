import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { containerActionPath, containerResult, containerVerb, dockerPost } from './docker-actions.js';

describe('container actions', () => {
  it('maps actions to Engine API paths, the name escaped into one segment', () => {
    expect(containerVerb('container.restart')).toBe('restart');
    expect(containerVerb('container.rm')).toBeNull();
    expect(containerVerb('service.restart')).toBeNull();
    expect(containerActionPath('restart', 'web-1')).toBe('/containers/web-1/restart');
    expect(containerActionPath('stop', '../../x?y')).toBe('/containers/..%2F..%2Fx%3Fy/stop');
  });

  it('reads the answer: 204 done, 304 nothing to do, errors with the engine message', () => {
    expect(containerResult('restart', 'web', { status: 204, body: '' })).toEqual({
      status: 'succeeded',
      exitCode: 0,
      stdout: 'container web restarted\n',
    });
    expect(containerResult('start', 'web', { status: 304, body: '' })).toMatchObject({
      status: 'succeeded',
      stdout: 'container web already running\n',
    });
    expect(containerResult('stop', 'web', { status: 404, body: '{"message":"No such container: web"}' })).toEqual({
      status: 'failed',
      exitCode: 1,
      stderr: 'Docker engine: HTTP 404: No such container: web\n',
      stderrTruncated: false,
      reason: 'no such container: web',
    });
    expect(containerResult('stop', 'web', { status: 500, body: 'boom' })).toMatchObject({
      status: 'failed',
      reason: 'the Docker engine answered HTTP 500',
    });
  });

  describe('dockerPost over a unix socket', () => {
    let server: Server | undefined;
    let dir: string | undefined;
    afterEach(async () => {
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('POSTs to the engine and returns status and body', async () => {
      dir = await mkdtemp(join(tmpdir(), 'xspectre-docker-'));
      const socket = join(dir, 'docker.sock');
      const seen: string[] = [];
      server = createServer((req, res) => {
        seen.push(`${req.method} ${req.url}`);
        if (req.url === '/containers/web/restart') res.writeHead(204).end();
        else res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"No such container: db"}');
      });
      await new Promise<void>((resolve) => server!.listen(socket, resolve));
      expect(await dockerPost(socket, containerActionPath('restart', 'web'))).toEqual({ status: 204, body: '' });
      expect(await dockerPost(socket, containerActionPath('stop', 'db'))).toEqual({
        status: 404,
        body: '{"message":"No such container: db"}',
      });
      expect(seen).toEqual(['POST /containers/web/restart', 'POST /containers/db/stop']);
      await expect(dockerPost(join(dir, 'missing.sock'), '/x')).rejects.toThrow(/ENOENT/);
    });
  });
});
