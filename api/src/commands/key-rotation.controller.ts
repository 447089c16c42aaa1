import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { RotateCommandKeyRequestSchema, RotateCommandKeyResponseSchema, type RotateCommandKeyRequest } from '@xspectre/contracts';
import { Audited, Critical, RequirePermission } from '../common/http/route-access.decorators.js';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { ZodBody, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { KeyAnnouncements } from './key-announcements.service.js';

@ApiTags('keys')
@Controller('keys/command-signing')
export class KeyRotationController {
  constructor(private readonly announcements: KeyAnnouncements) {}

  /**
   * Announces a new command-signing key to every device by a `keys.pin` command signed with the
   * current key; the new key signs from the end of the grace period, when the current one retires.
   */
  @Post('rotate')
  @HttpCode(200)
  @ApiSummary('Rotate the command-signing key (announced to devices first)', { errors: ['KEY_ANNOUNCEMENT_PENDING'] })
  @RequirePermission('settings.manage')
  @Critical()
  @Audited('keys.command_signing_rotate', 'key')
  @ZodResponse(200, RotateCommandKeyResponseSchema)
  rotate(@ZodBody(RotateCommandKeyRequestSchema) body: RotateCommandKeyRequest, @CurrentActor() actor: Actor) {
    return this.announcements.rotate(actor, body.graceHours);
  }
}
