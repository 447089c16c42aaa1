import { Controller, Get, HttpCode, Post, Put, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import type { z } from 'zod';
import {
  IdParamSchema,
  ListRemoteFilesQuerySchema,
  RemoteChmodSchema,
  RemoteDeleteSchema,
  RemoteFileEntrySchema,
  RemoteFileListSchema,
  RemoteFileResultSchema,
  RemoteMkdirSchema,
  RemotePathQuerySchema,
  RemoteRenameSchema,
  RemoteUploadQuerySchema,
  type ListRemoteFilesQuery,
} from '@xspectre/contracts';
import { AppError } from '../../common/errors/app-error.js';
import type { ErrorCode } from '../../common/errors/error-catalog.js';
import { CurrentActor } from '../../common/context/current-actor.decorator.js';
import type { Actor } from '../../common/context/request-context.js';
import { Audited, OwnTransaction, RequirePermission } from '../../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../../common/validation/zod-decorators.js';
import { ApiSummary } from '../../openapi/api-summary.decorator.js';
import { RemoteFilesService } from './remote-files.service.js';
import { contentDisposition } from './sftp-names.js';

type Id = z.infer<typeof IdParamSchema>;
const SESSION_ERRORS: ErrorCode[] = [
  'VALIDATION_FAILED',
  'DEVICE_NOT_FOUND',
  'DEVICE_NOT_ACTIVE',
  'DEVICE_QUARANTINED',
  'DEVICE_NO_SSH_HOST_KEY',
  'SSH_HOST_KEY_MISMATCH',
  'DEVICE_SSH_UNREACHABLE',
  'DEVICE_SSH_REFUSED',
  'REMOTE_ACCESS_UNAVAILABLE',
  'REMOTE_FILE_NOT_FOUND',
  'REMOTE_FILE_PERMISSION_DENIED',
  'REMOTE_FILE_FAILED',
];

/**
 * The file manager on a device, over SFTP as root (api/src/remote-access/files): listing and
 * metadata as JSON, downloads and uploads as raw streams that bypass the JSON pipeline (no
 * transaction held while bytes move; their audit rows are written when the transfer ends).
 */
@ApiTags('remote-access')
@Controller('devices/:id/files')
export class RemoteFilesController {
  constructor(private readonly files: RemoteFilesService) {}

  @Get()
  @ApiSummary('List a directory on the device (directories first, sorted, paged)', {
    errors: [...SESSION_ERRORS, 'REMOTE_FILE_WRONG_TYPE'],
  })
  @RequirePermission('devices.manage')
  @ZodResponse(200, RemoteFileListSchema)
  list(
    @ZodParams(IdParamSchema) params: Id,
    @ZodQuery(ListRemoteFilesQuerySchema) query: ListRemoteFilesQuery,
    @CurrentActor() actor: Actor,
  ) {
    return this.files.list(actor, params.id, query);
  }

  @Get('stat')
  @ApiSummary('One file or directory on the device', { errors: SESSION_ERRORS })
  @RequirePermission('devices.manage')
  @ZodResponse(200, RemoteFileEntrySchema)
  stat(
    @ZodParams(IdParamSchema) params: Id,
    @ZodQuery(RemotePathQuerySchema) query: z.infer<typeof RemotePathQuerySchema>,
    @CurrentActor() actor: Actor,
  ) {
    return this.files.stat(actor, params.id, query.path);
  }

  @Post('mkdir')
  @HttpCode(200)
  @ApiSummary('Create a directory on the device', { errors: [...SESSION_ERRORS, 'REMOTE_FILE_EXISTS'] })
  @RequirePermission('devices.manage')
  @Audited('files.mkdir', 'device')
  @ZodResponse(200, RemoteFileResultSchema)
  mkdir(
    @ZodParams(IdParamSchema) params: Id,
    @ZodBody(RemoteMkdirSchema) body: z.infer<typeof RemoteMkdirSchema>,
    @CurrentActor() actor: Actor,
  ) {
    return this.files.mkdir(actor, params.id, body.path, body.mode);
  }

  @Post('rename')
  @HttpCode(200)
  @ApiSummary('Rename or move a file or directory on the device', { errors: [...SESSION_ERRORS, 'REMOTE_FILE_EXISTS'] })
  @RequirePermission('devices.manage')
  @Audited('files.rename', 'device')
  @ZodResponse(200, RemoteFileResultSchema)
  rename(
    @ZodParams(IdParamSchema) params: Id,
    @ZodBody(RemoteRenameSchema) body: z.infer<typeof RemoteRenameSchema>,
    @CurrentActor() actor: Actor,
  ) {
    return this.files.rename(actor, params.id, body.from, body.to, body.overwrite);
  }

  @Post('delete')
  @HttpCode(200)
  @ApiSummary('Delete a file or directory on the device (confirm repeats the path)', {
    errors: [...SESSION_ERRORS, 'REMOTE_FILE_CONFIRMATION_MISMATCH', 'REMOTE_FILE_NOT_EMPTY', 'REMOTE_FILE_WRONG_TYPE'],
  })
  @RequirePermission('devices.manage')
  @Audited('files.delete', 'device')
  @ZodResponse(200, RemoteFileResultSchema)
  delete(
    @ZodParams(IdParamSchema) params: Id,
    @ZodBody(RemoteDeleteSchema) body: z.infer<typeof RemoteDeleteSchema>,
    @CurrentActor() actor: Actor,
  ) {
    return this.files.delete(actor, params.id, body.path, body.recursive, body.confirm);
  }

  @Post('chmod')
  @HttpCode(200)
  @ApiSummary("Change a file's permission bits on the device", { errors: SESSION_ERRORS })
  @RequirePermission('devices.manage')
  @Audited('files.chmod', 'device')
  @ZodResponse(200, RemoteFileResultSchema)
  chmod(
    @ZodParams(IdParamSchema) params: Id,
    @ZodBody(RemoteChmodSchema) body: z.infer<typeof RemoteChmodSchema>,
    @CurrentActor() actor: Actor,
  ) {
    return this.files.chmod(actor, params.id, body.path, body.mode);
  }

  /** Audited by the service when the response ends (bytes, SHA-256): a GET is outside the unit of work. */
  @Get('download')
  @ApiSummary('Download a file from the device (streamed)', {
    ok: { status: 200, description: 'the file as application/octet-stream (attachment); audited as files.download with bytes and SHA-256' },
    errors: [...SESSION_ERRORS, 'REMOTE_FILE_WRONG_TYPE'],
  })
  @RequirePermission('devices.manage')
  @Audited('files.download', 'device')
  @ApiProduces('application/octet-stream')
  async download(
    @ZodParams(IdParamSchema) params: Id,
    @ZodQuery(RemotePathQuerySchema) query: z.infer<typeof RemotePathQuerySchema>,
    @CurrentActor() actor: Actor,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const download = await this.files.download(actor, params.id, query.path);
    reply.raw.once('close', () => download.finished(reply.raw.writableFinished));
    download.stream.once('error', () => download.finished(false));
    // Not awaited: the stream ends the response itself; an error mid-way resets the connection
    // (the length was promised), which the browser reports as a failed download.
    void reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(download.size))
      .header('content-disposition', contentDisposition(download.name))
      .send(download.stream);
  }

  @Put('upload')
  @ApiSummary('Upload a file to the device (raw body, streamed to a temporary name, then renamed)', {
    errors: [...SESSION_ERRORS, 'REMOTE_FILE_EXISTS', 'REMOTE_FILE_WRONG_TYPE', 'REMOTE_FILE_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'],
  })
  @RequirePermission('devices.manage')
  @Audited('files.upload', 'device')
  @OwnTransaction('a transfer holds no transaction open; its audit row is written detached when it ends (RemoteFilesService.upload)')
  @ApiConsumes('application/octet-stream')
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  @ZodResponse(200, RemoteFileResultSchema)
  @HttpCode(200)
  async upload(
    @ZodParams(IdParamSchema) params: Id,
    @ZodQuery(RemoteUploadQuerySchema) query: z.infer<typeof RemoteUploadQuerySchema>,
    @CurrentActor() actor: Actor,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const body = request.body;
    if (!(body instanceof Readable))
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'send the file as the raw body with content-type application/octet-stream');
    const length = request.headers['content-length'];
    const declared = length !== undefined && /^\d+$/.test(length) ? Number(length) : null;
    try {
      return await this.files.upload(actor, params.id, query.path, query.overwrite, body, declared);
    } catch (error) {
      // Refused before or while the body arrived: answer, then close rather than read the rest.
      if (!body.readableEnded) reply.header('connection', 'close');
      throw error;
    }
  }
}
