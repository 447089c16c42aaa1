import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { HealthSchema, ReadinessSchema } from '@xspectre/contracts';
import { Public } from '../common/http/route-access.decorators.js';
import { ZodResponse } from '../common/validation/zod-decorators.js';
import { REDIS } from '../redis/redis.module.js';
import { API_VERSION } from '../version.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';

const CHECK_TIMEOUT_MS = 2_000;

async function timed(check: () => Promise<unknown>): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
  const started = performance.now();
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS).unref()),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: (error as Error).message };
  }
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  /** Liveness: the process answers. */
  @Get()
  @ApiSummary('Liveness')
  @Public()
  @ZodResponse(200, HealthSchema)
  live() {
    return { status: 'ok' as const, version: API_VERSION };
  }

  /** Readiness: PostgreSQL and Redis both answer a real query; 503 otherwise. */
  @Get('ready')
  @ApiSummary('Readiness (PostgreSQL and Redis)')
  @Public()
  @ZodResponse(200, ReadinessSchema)
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const [postgres, redis] = await Promise.all([timed(() => this.dataSource.query('SELECT 1')), timed(() => this.redis.ping())]);
    const ready = postgres.ok && redis.ok;
    if (!ready) reply.status(503);
    return { status: ready ? ('ready' as const) : ('not_ready' as const), checks: { postgres, redis } };
  }
}
