import { Controller, Delete, Get, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  CreateScriptSchema,
  DeleteScriptResultSchema,
  IdParamSchema,
  ListScriptsQuerySchema,
  ScriptPageSchema,
  ScriptSchema,
  UpdateScriptSchema,
  type CreateScript,
} from '@xspectre/contracts';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { Audited, Critical, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { ScriptsService } from './scripts.service.js';

type Id = z.infer<typeof IdParamSchema>;

/**
 * The script library. Reading is for everyone who sees devices (the commands they ran name the
 * scripts); changing it is Super Admin's (`scripts.manage`) with a fresh TOTP step-up: these are
 * programs every device that allows script runs will run as root.
 */
@ApiTags('scripts')
@Controller('scripts')
export class ScriptsController {
  constructor(private readonly scripts: ScriptsService) {}

  @Get()
  @ApiSummary('List the script library (without contents)')
  @RequirePermission('devices.view')
  @ZodResponse(200, ScriptPageSchema)
  list(@ZodQuery(ListScriptsQuerySchema) query: z.infer<typeof ListScriptsQuerySchema>) {
    return this.scripts.list({ ...query, archived: query.archived === undefined ? undefined : query.archived === 'true' });
  }

  @Get(':id')
  @ApiSummary('Get a script with its content')
  @RequirePermission('devices.view')
  @ZodResponse(200, ScriptSchema)
  get(@ZodParams(IdParamSchema) params: Id) {
    return this.scripts.get(params.id);
  }

  @Post()
  @ApiSummary('Add a script to the library')
  @RequirePermission('scripts.manage')
  @Critical()
  @Audited('script.create', 'script')
  @ZodResponse(201, ScriptSchema)
  create(@ZodBody(CreateScriptSchema) body: CreateScript, @CurrentActor() actor: Actor) {
    return this.scripts.create(actor, body);
  }

  /** The whole script; new content gets a new SHA-256 (commands queued before keep their version). */
  @Put(':id')
  @ApiSummary('Replace a script')
  @RequirePermission('scripts.manage')
  @Critical()
  @Audited('script.update', 'script')
  @ZodResponse(200, ScriptSchema)
  update(@ZodParams(IdParamSchema) params: Id, @ZodBody(UpdateScriptSchema) body: CreateScript, @CurrentActor() actor: Actor) {
    return this.scripts.update(actor, params.id, body);
  }

  /** Deleted, or archived when commands were queued with it (their history keeps naming it). */
  @Delete(':id')
  @ApiSummary('Delete a script (archived when commands ran it)')
  @RequirePermission('scripts.manage')
  @Critical()
  @Audited('script.delete', 'script')
  @ZodResponse(200, DeleteScriptResultSchema)
  remove(@ZodParams(IdParamSchema) params: Id, @CurrentActor() actor: Actor) {
    return this.scripts.remove(actor, params.id);
  }
}
