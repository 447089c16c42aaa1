import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { Public } from '../common/http/route-access.decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';

const REPO_AGENT_DIR = fileURLToPath(new URL('../../../agent/', import.meta.url));

/**
 * What bootstrap.sh fetches before the device has any credential: the script, the agent, its
 * checksum, and restic (with its checksum) for devices whose distribution has none.
 */
@ApiTags('agent')
@Controller('agent')
export class AgentDownloadsController {
  private readonly files: Record<string, { path: string; type: string }>;
  private readonly resticPath: string;
  /** restic's SHA-256, computed once per version of the file (size and mtime). */
  private resticSum: { key: string; sha256: string } | null = null;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.resticPath = config.API_RESTIC_BINARY;
    const dist = config.API_AGENT_DIST_DIR;
    this.files = {
      'bootstrap.sh': {
        path: dist ? join(dist, 'bootstrap.sh') : join(REPO_AGENT_DIR, 'bootstrap.sh'),
        type: 'text/x-shellscript; charset=utf-8',
      },
      'xspectre-agent': { path: join(dist ?? join(REPO_AGENT_DIR, 'dist/sea'), 'xspectre-agent'), type: 'application/octet-stream' },
      'xspectre-agent.sha256': {
        path: join(dist ?? join(REPO_AGENT_DIR, 'dist/sea'), 'xspectre-agent.sha256'),
        type: 'text/plain; charset=utf-8',
      },
    };
  }

  @Get('bootstrap.sh')
  @ApiSummary('Download the bootstrap script', { ok: { status: 200, description: 'the script' }, errors: ['AGENT_BINARY_MISSING'] })
  @Public()
  @ApiProduces('text/x-shellscript')
  bootstrap(@Res() reply: FastifyReply) {
    return this.send('bootstrap.sh', reply);
  }

  @Get('download/xspectre-agent')
  @ApiSummary('Download the agent executable', { ok: { status: 200, description: 'the executable' }, errors: ['AGENT_BINARY_MISSING'] })
  @Public()
  @ApiProduces('application/octet-stream')
  agent(@Res() reply: FastifyReply) {
    return this.send('xspectre-agent', reply);
  }

  @Get('download/xspectre-agent.sha256')
  @ApiSummary("Download the agent executable's SHA-256", {
    ok: { status: 200, description: 'its SHA-256 checksum' },
    errors: ['AGENT_BINARY_MISSING'],
  })
  @Public()
  @ApiProduces('text/plain')
  checksum(@Res() reply: FastifyReply) {
    return this.send('xspectre-agent.sha256', reply);
  }

  @Get('download/restic')
  @ApiSummary('Download restic (for devices whose distribution has none)', {
    ok: { status: 200, description: 'the static restic executable' },
    errors: ['RESTIC_BINARY_MISSING'],
  })
  @Public()
  @ApiProduces('application/octet-stream')
  async restic(@Res() reply: FastifyReply) {
    const info = await this.resticInfo();
    await reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(info.size))
      .header('cache-control', 'no-cache')
      .send(createReadStream(this.resticPath));
  }

  @Get('download/restic.sha256')
  @ApiSummary("Download restic's SHA-256", { ok: { status: 200, description: 'its SHA-256 checksum' }, errors: ['RESTIC_BINARY_MISSING'] })
  @Public()
  @ApiProduces('text/plain')
  async resticChecksum(@Res() reply: FastifyReply) {
    const info = await this.resticInfo();
    const key = `${info.size}:${info.mtimeMs}`;
    if (this.resticSum?.key !== key) {
      const hash = createHash('sha256');
      await pipeline(createReadStream(this.resticPath), hash);
      this.resticSum = { key, sha256: hash.digest('hex') };
    }
    await reply
      .header('content-type', 'text/plain; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(`${this.resticSum.sha256}  restic\n`);
  }

  private async resticInfo() {
    const info = await stat(this.resticPath).catch(() => null);
    if (!info?.isFile())
      throw new AppError('RESTIC_BINARY_MISSING', 'this server has no restic executable to hand out (API_RESTIC_BINARY)');
    return info;
  }

  private async send(name: string, reply: FastifyReply): Promise<void> {
    const file = this.files[name]!;
    const info = await stat(file.path).catch(() => null);
    if (!info?.isFile()) throw new AppError('AGENT_BINARY_MISSING', `${name} is not built on this server (npm run build:sea -w agent)`);
    await reply
      .header('content-type', file.type)
      .header('content-length', String(info.size))
      .header('cache-control', 'no-cache')
      .send(createReadStream(file.path));
  }
}
