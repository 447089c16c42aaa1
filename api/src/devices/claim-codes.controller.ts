import { Controller, Get, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { ClaimCodePageSchema, ClaimCodeSchema, IdParamSchema, ListClaimCodesQuerySchema } from '@xspectre/contracts';
import { Audited, RequirePermission } from '../common/http/route-access.decorators.js';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { DevicesService } from './devices.service.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';

/** Codes are listed without their secret (only hashes are stored); issuing happens under devices/:id. */
@ApiTags('claim-codes')
@Controller('claim-codes')
export class ClaimCodesController {
  constructor(private readonly devices: DevicesService) {}

  @Get()
  @ApiSummary('List claim codes')
  @RequirePermission('devices.manage')
  @ZodResponse(200, ClaimCodePageSchema)
  list(@ZodQuery(ListClaimCodesQuerySchema) query: z.infer<typeof ListClaimCodesQuerySchema>) {
    return this.devices.listClaimCodes(query);
  }

  @Post(':id/revoke')
  @ApiSummary('Revoke a claim code')
  @RequirePermission('devices.manage')
  @Audited('claim_code.revoke', 'claim_code')
  @ZodResponse(201, ClaimCodeSchema)
  revoke(@ZodParams(IdParamSchema) params: { id: string }, @CurrentActor() actor: Actor) {
    return this.devices.revokeClaimCode(actor, params.id);
  }
}
