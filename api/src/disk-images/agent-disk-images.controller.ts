import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  RecoveryImageReportAckSchema,
  RecoveryImageReportSchema,
  RecoveryImageTokenRequestSchema,
  RecoveryImageTokenResponseSchema,
  type RecoveryImageReport,
} from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { Audited, RecoveryAuthenticated } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { DiskImagesService } from './disk-images.service.js';

/** The recovery agent's image routes: only the stick's own device's images, only for its recovery command under way. */
@ApiTags('agent')
@Controller('agent/recovery')
export class AgentDiskImagesController {
  constructor(private readonly images: DiskImagesService) {}

  @Post('image-tokens')
  @HttpCode(200)
  @ApiSummary('Get a disk-image token for a recovery command (recovery agent)', {
    errors: ['DISK_IMAGE_TOKEN_REFUSED', 'DISK_IMAGE_COMMAND_NOT_RUNNING'],
  })
  @RecoveryAuthenticated()
  @Audited('disk_image.token_issue', 'device')
  @ZodResponse(200, RecoveryImageTokenResponseSchema)
  token(@ZodBody(RecoveryImageTokenRequestSchema) body: z.infer<typeof RecoveryImageTokenRequestSchema>) {
    return this.images.issueToken(this.deviceId(), body);
  }

  /** After the backup server accepted the upload (its complete answer, with what it pruned). */
  @Post('images')
  @HttpCode(200)
  @ApiSummary('Report an image the backup server accepted (recovery agent)', {
    errors: ['DISK_IMAGE_TOKEN_REFUSED', 'DISK_IMAGE_COMMAND_NOT_RUNNING', 'DISK_IMAGE_REPORT_INVALID'],
  })
  @RecoveryAuthenticated()
  @Audited('disk_image.report', 'device')
  @ZodResponse(200, RecoveryImageReportAckSchema)
  report(@ZodBody(RecoveryImageReportSchema) body: RecoveryImageReport) {
    return this.images.report(this.deviceId(), body);
  }

  private deviceId(): string {
    const recovery = requestContext.get()?.recovery;
    if (!recovery) throw new AppError('RECOVERY_AUTH_REQUIRED');
    return recovery.deviceId;
  }
}
