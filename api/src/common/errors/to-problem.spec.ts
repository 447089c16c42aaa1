import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { AppError } from './app-error.js';
import { ERROR_CATALOG } from './error-catalog.js';
import { toProblem } from './to-problem.js';

describe('toProblem', () => {
  it('maps coded errors through the catalog', () => {
    const { problem, unexpected } = toProblem(new AppError('USER_NOT_FOUND', 'no user 7'), 'req-1');
    expect(problem).toMatchObject({ status: 404, code: 'USER_NOT_FOUND', detail: 'no user 7', requestId: 'req-1', title: 'No such user' });
    expect(unexpected).toBe(false);
  });

  it('unwraps Fastify errors that Nest wrapped', () => {
    const cause = Object.assign(new Error('too big'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 });
    expect(toProblem(new HttpException('too big', 413, { cause }), 'r').problem.code).toBe('PAYLOAD_TOO_LARGE');
    expect(toProblem(new NotFoundException('Cannot GET /x'), 'r').problem.code).toBe('ROUTE_NOT_FOUND');
    expect(toProblem(new BadRequestException('bad'), 'r').problem.status).toBe(400);
  });

  it('hides the message of anything unexpected', () => {
    const { problem, unexpected } = toProblem(new Error('password=hunter2 at db.ts:12'), 'r');
    expect(problem.status).toBe(500);
    expect(problem.detail).not.toContain('hunter2');
    expect(unexpected).toBe(true);
  });

  it('answers 503 with a retry hint when PostgreSQL is unreachable or restarting, and 500 for other database errors', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const shutdown = new QueryFailedError('SELECT 1', [], Object.assign(new Error('terminating connection'), { code: '57P01' }));
    const terminated = new QueryFailedError('SELECT 1', [], new Error('Connection terminated unexpectedly'));
    for (const error of [refused, shutdown, terminated]) {
      const result = toProblem(error, 'r');
      expect(result.problem.code).toBe('SERVICE_UNAVAILABLE');
      expect(result.retryAfterSeconds).toBe(5);
      expect(result.unexpected).toBe(false);
    }
    const syntax = new QueryFailedError('SELEC 1', [], Object.assign(new Error('syntax error'), { code: '42601' }));
    expect(toProblem(syntax, 'r').problem.code).toBe('INTERNAL_ERROR');
    // More parameters than the statement uses: PostgreSQL says protocol_violation, which is a bug, not an outage.
    const bind = new QueryFailedError('SELECT 1', [1], Object.assign(new Error('bind message supplies 1 parameters'), { code: '08P01' }));
    expect(toProblem(bind, 'r').problem.code).toBe('INTERNAL_ERROR');
  });

  it('answers a lost race (deadlock, serialization failure) from any route with 409 CONCURRENT_CHANGE', () => {
    for (const code of ['40P01', '40001']) {
      const error = new QueryFailedError('UPDATE x', [], Object.assign(new Error('deadlock detected'), { code }));
      const result = toProblem(error, 'r');
      expect(result.problem).toMatchObject({ status: 409, code: 'CONCURRENT_CHANGE' });
      expect(result.unexpected).toBe(false);
    }
    const unique = new QueryFailedError('INSERT x', [], Object.assign(new Error('duplicate key'), { code: '23505' }));
    expect(toProblem(unique, 'r').problem.code).toBe('INTERNAL_ERROR');
  });

  it('answers a statement ended by statement_timeout with 503 DATABASE_TIMEOUT, another cancel with 500', () => {
    const timedOut = new QueryFailedError(
      'SELECT 1',
      [],
      Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
    );
    const result = toProblem(timedOut, 'r');
    expect(result.problem).toMatchObject({ status: 503, code: 'DATABASE_TIMEOUT' });
    expect(result.retryAfterSeconds).toBe(5);
    expect(result.unexpected).toBe(false);
    const cancelled = new QueryFailedError(
      'SELECT 1',
      [],
      Object.assign(new Error('canceling statement due to user request'), { code: '57014' }),
    );
    expect(toProblem(cancelled, 'r').problem.code).toBe('INTERNAL_ERROR');
  });

  it('every catalog entry is a 4xx or 5xx with a title', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOG)) {
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
      expect(entry.title.length, code).toBeGreaterThan(5);
    }
  });
});
