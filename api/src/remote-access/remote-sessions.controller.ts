import { Controller, Get, Res } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import {
  IdParamSchema,
  ListRemoteSessionsQuerySchema,
  RemoteSessionPageSchema,
  RemoteSessionSchema,
  type ListRemoteSessionsQuery,
} from '@xspectre/contracts';
import { RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { RemoteSessionsService, toRemoteSessionDto } from './remote-sessions.service.js';
import { TerminalRecordings } from './terminal/terminal-recordings.js';

type Id = z.infer<typeof IdParamSchema>;

/** Terminal and file sessions, and terminal recordings: audit evidence, so `audit.view`. */
@ApiTags('remote-access')
@Controller('remote-sessions')
export class RemoteSessionsController {
  constructor(
    private readonly sessions: RemoteSessionsService,
    private readonly recordings: TerminalRecordings,
  ) {}

  @Get()
  @ApiSummary('List terminal and file sessions (newest first)')
  @RequirePermission('audit.view')
  @ZodResponse(200, RemoteSessionPageSchema)
  list(@ZodQuery(ListRemoteSessionsQuerySchema) query: ListRemoteSessionsQuery) {
    return this.sessions.list(query);
  }

  @Get(':id')
  @ApiSummary('One terminal or file session', { errors: ['REMOTE_SESSION_NOT_FOUND'] })
  @RequirePermission('audit.view')
  @ZodResponse(200, RemoteSessionSchema)
  async get(@ZodParams(IdParamSchema) params: Id) {
    return toRemoteSessionDto(await this.sessions.require(params.id));
  }

  /** Streamed from the recordings directory; `x-recording-sha256` is the hash sealed at the session's end. */
  @Get(':id/recording')
  @ApiSummary("Download a terminal session's recording (asciicast v2)", {
    ok: { status: 200, description: 'the recording (attachment <sessionId>.cast); header x-recording-sha256 once sealed' },
    errors: ['REMOTE_SESSION_NOT_FOUND', 'RECORDING_NOT_FOUND'],
  })
  @RequirePermission('audit.view')
  @ApiProduces('application/x-asciicast')
  async recording(@ZodParams(IdParamSchema) params: Id, @Res() reply: FastifyReply) {
    const session = await this.sessions.require(params.id);
    const { stream, size } = await this.recordings.open(session.kind === 'terminal' ? session.recordingFile : null);
    reply
      .header('content-type', 'application/x-asciicast')
      .header('content-disposition', `attachment; filename="${session.id}.cast"`)
      .header('content-length', String(size))
      .header('cache-control', 'no-store');
    if (session.recordingSha256) reply.header('x-recording-sha256', session.recordingSha256);
    await reply.send(stream);
  }
}
