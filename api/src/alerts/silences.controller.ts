import { Controller, Delete, Get, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  CreateSilenceSchema,
  IdParamSchema,
  ListSilencesQuerySchema,
  SilencePageSchema,
  SilenceSchema,
  type CreateSilence,
} from '@xspectre/contracts';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { Audited, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { SilencesService } from './silences.service.js';

type Id = z.infer<typeof IdParamSchema>;

/** Maintenance windows: alerts in scope are recorded, not delivered. Creating and ending them is `alerts.ack`. */
@ApiTags('alerts')
@Controller('silences')
export class SilencesController {
  constructor(private readonly silences: SilencesService) {}

  @Get()
  @ApiSummary('List silences (maintenance windows)')
  @RequirePermission('alerts.view')
  @ZodResponse(200, SilencePageSchema)
  list(@ZodQuery(ListSilencesQuerySchema) query: z.infer<typeof ListSilencesQuerySchema>) {
    return this.silences.list(query);
  }

  @Post()
  @ApiSummary('Silence a device, site or organization for a time window')
  @RequirePermission('alerts.ack')
  @Audited('silence.create', 'silence')
  @ZodResponse(201, SilenceSchema)
  create(@ZodBody(CreateSilenceSchema) body: CreateSilence, @CurrentActor() actor: Actor) {
    return this.silences.create(actor, body);
  }

  @Delete(':id')
  @ApiSummary('End a silence now (alerts it held back that are still open are delivered)')
  @RequirePermission('alerts.ack')
  @Audited('silence.end', 'silence')
  @ZodResponse(200, SilenceSchema)
  end(@ZodParams(IdParamSchema) params: Id, @CurrentActor() actor: Actor) {
    return this.silences.end(actor, params.id);
  }
}
