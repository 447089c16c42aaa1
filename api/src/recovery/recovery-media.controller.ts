import { createReadStream } from 'node:fs';
import { Controller, Delete, Get, HttpCode, Post, Res } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  IdParamSchema,
  RecoveryMediaListSchema,
  RecoveryMediumCreateSchema,
  RecoveryMediumCreatedSchema,
  RecoveryMediumSchema,
} from '@xspectre/contracts';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { Audited, Critical, OwnTransaction, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { RecoveryMediaService } from './recovery-media.service.js';

type Id = z.infer<typeof IdParamSchema>;
const MediumParamsSchema = z.object({ id: z.uuid(), mediumId: z.uuid() }).strict();
type MediumParams = z.infer<typeof MediumParamsSchema>;

/** A device's recovery sticks (issue 16): create with the personalised image, download it once, revoke. */
@ApiTags('recovery')
@Controller('devices/:id/recovery-media')
export class RecoveryMediaController {
  constructor(private readonly media: RecoveryMediaService) {}

  @Get()
  @ApiSummary("A device's recovery media", { errors: ['DEVICE_NOT_FOUND'] })
  @RequirePermission('devices.view')
  @ZodResponse(200, RecoveryMediaListSchema)
  list(@ZodParams(IdParamSchema) params: Id) {
    return this.media.list(params.id);
  }

  /** Replaces (revokes) the device's active medium. The answer carries no secret: those are only in the image. */
  @Post()
  @ApiSummary('Create a recovery medium and its personalised image', {
    errors: [
      'DEVICE_NOT_FOUND',
      'DEVICE_NOT_ACTIVE',
      'RECOVERY_IMAGE_NOT_BUILT',
      'RECOVERY_IMAGE_INVALID',
      'OVERLAY_POOL_EXHAUSTED',
      'HUB_NOT_CONFIGURED',
    ],
  })
  @RequirePermission('devices.critical_actions')
  @Critical()
  @Audited('recovery_medium.create', 'device')
  @OwnTransaction(
    'the personalised image is written outside any transaction; RecoveryMediaService.create commits the medium and its audit row in one short one',
  )
  @ZodResponse(201, RecoveryMediumCreatedSchema)
  create(@ZodParams(IdParamSchema) params: Id, @ZodBody(RecoveryMediumCreateSchema) _body: unknown, @CurrentActor() actor: Actor) {
    return this.media.create(actor, params.id);
  }

  /** The personalised image (it holds the stick's secrets): while downloadable only; audited by the service. */
  @Get(':mediumId/image')
  @ApiSummary('Download the personalised recovery image', {
    ok: { status: 200, description: 'the raw disk image (X-Image-SHA256 carries its SHA-256)' },
    errors: ['RECOVERY_MEDIUM_NOT_FOUND', 'RECOVERY_IMAGE_GONE'],
  })
  @RequirePermission('devices.critical_actions')
  @Critical()
  @ApiProduces('application/octet-stream')
  async image(@ZodParams(MediumParamsSchema) params: MediumParams, @CurrentActor() actor: Actor, @Res() reply: FastifyReply) {
    const image = await this.media.download(actor, params.id, params.mediumId);
    await reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(image.sizeBytes))
      .header('content-disposition', `attachment; filename="${image.fileName}"`)
      .header('x-image-sha256', image.sha256)
      .header('cache-control', 'no-store')
      .send(createReadStream(image.path));
  }

  @Delete(':mediumId')
  @HttpCode(200)
  @ApiSummary('Revoke a recovery medium (its peer, credential and image go at once)', { errors: ['RECOVERY_MEDIUM_NOT_FOUND'] })
  @RequirePermission('devices.critical_actions')
  @Critical()
  @Audited('recovery_medium.revoke', 'device')
  @ZodResponse(200, RecoveryMediumSchema)
  revoke(@ZodParams(MediumParamsSchema) params: MediumParams, @CurrentActor() actor: Actor) {
    return this.media.revoke(actor, params.id, params.mediumId);
  }
}
