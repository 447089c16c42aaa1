import { Writable } from 'node:stream';
import fastify from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RequestLogController } from './request-log.js';

async function serverLogging() {
  const lines: Array<{ msg: string; level: number; req?: { url: string } }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  const app = fastify({ loggerInstance: pino({ level: 'info' }, stream), logController: new RequestLogController() });
  app.post('/api/v1/agent/heartbeats', async (request, reply) => {
    const status = Number((request.body as { status?: number }).status ?? 200);
    if (status === 500) throw new Error('boom');
    return reply.status(status).send({ ok: status < 400 });
  });
  app.get('/api/v1/health', async () => ({ ok: true }));
  return { app, lines };
}

describe('RequestLogController', () => {
  it('logs no line for a successful heartbeat, but logs failed ones and other routes as before', async () => {
    const { app, lines } = await serverLogging();
    await app.inject({ method: 'POST', url: '/api/v1/agent/heartbeats', payload: { status: 200 } });
    expect(lines).toEqual([]);

    await app.inject({ method: 'POST', url: '/api/v1/agent/heartbeats', payload: { status: 503 } });
    expect(lines.map((l) => l.msg)).toEqual(['request failed']);
    expect(lines[0]!.req?.url).toBe('/api/v1/agent/heartbeats');

    lines.length = 0;
    await app.inject({ method: 'POST', url: '/api/v1/agent/heartbeats', payload: { status: 500 } });
    expect(lines.map((l) => l.msg)).toEqual(['boom', 'request failed']);

    lines.length = 0;
    await app.inject({ method: 'GET', url: '/api/v1/health' });
    expect(lines.map((l) => l.msg)).toEqual(['incoming request', 'request completed']);
    await app.close();
  });
});
