import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
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

  it('every catalog entry is a 4xx or 5xx with a title', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOG)) {
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
      expect(entry.title.length, code).toBeGreaterThan(5);
    }
  });
});
