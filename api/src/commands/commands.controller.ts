import { Controller, Get, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  CommandPageSchema,
  CommandRequestSchema,
  CommandSchema,
  IdParamSchema,
  ListCommandsQuerySchema,
  ListDeviceCommandsQuerySchema,
  type CommandRequest,
} from '@xspectre/contracts';
import { Audited, Critical, RequirePermission } from '../common/http/route-access.decorators.js';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { CommandsService } from './commands.service.js';

type Id = z.infer<typeof IdParamSchema>;

@ApiTags('commands')
@Controller()
export class CommandsController {
  constructor(private readonly commands: CommandsService) {}

  /** Restart, start or stop a unit or a container, collect diagnostics: signed, valid 5 minutes. */
  @Post('devices/:id/commands')
  @ApiSummary('Queue a command for a device')
  @RequirePermission('devices.manage')
  @Audited('command.queue', 'device')
  @ZodResponse(201, CommandSchema)
  queue(@ZodParams(IdParamSchema) params: Id, @ZodBody(CommandRequestSchema) body: CommandRequest, @CurrentActor() actor: Actor) {
    return this.commands.queue(actor, params.id, body, 'normal');
  }

  /** Reboot and the other critical actions: Super Admin with a fresh TOTP step-up. */
  @Post('devices/:id/critical-commands')
  @ApiSummary('Queue a critical command for a device')
  @RequirePermission('devices.critical_actions')
  @Critical()
  @Audited('command.queue_critical', 'device')
  @ZodResponse(201, CommandSchema)
  queueCritical(@ZodParams(IdParamSchema) params: Id, @ZodBody(CommandRequestSchema) body: CommandRequest, @CurrentActor() actor: Actor) {
    return this.commands.queue(actor, params.id, body, 'critical');
  }

  @Get('devices/:id/commands')
  @ApiSummary("A device's commands, newest first")
  @RequirePermission('devices.view')
  @ZodResponse(200, CommandPageSchema)
  listForDevice(
    @ZodParams(IdParamSchema) params: Id,
    @ZodQuery(ListDeviceCommandsQuerySchema) query: z.infer<typeof ListDeviceCommandsQuerySchema>,
  ) {
    return this.commands.listForDevice(params.id, query);
  }

  @Get('commands')
  @ApiSummary('Commands across the fleet, newest first')
  @RequirePermission('devices.view')
  @ZodResponse(200, CommandPageSchema)
  list(@ZodQuery(ListCommandsQuerySchema) query: z.infer<typeof ListCommandsQuerySchema>) {
    return this.commands.list(query);
  }

  @Get('commands/:id')
  @ApiSummary('Get a command')
  @RequirePermission('devices.view')
  @ZodResponse(200, CommandSchema)
  get(@ZodParams(IdParamSchema) params: Id) {
    return this.commands.get(params.id);
  }
}
