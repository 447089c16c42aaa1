import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  BulkCommandRequestSchema,
  BulkCommandResultSchema,
  CommandPageSchema,
  CommandRequestSchema,
  CommandSchema,
  IdParamSchema,
  ListCommandsQuerySchema,
  ListDeviceCommandsQuerySchema,
  type BulkCommandRequest,
  type CommandRequest,
} from '@xspectre/contracts';
import { Audited, Critical, OwnTransaction, RequirePermission } from '../common/http/route-access.decorators.js';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { CommandsService } from './commands.service.js';

type Id = z.infer<typeof IdParamSchema>;

/** Why the bulk routes open their own transactions (CommandsService.queueBulk). */
const BULK_TRANSACTIONS =
  "one transaction per device, holding its command and its audit row: one device's refusal does not undo the others";

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

  /**
   * The same for many devices: one command and one audit row per device, each committed on its
   * own; a device that cannot take it gets an error entry instead of stopping the others.
   */
  @Post('commands/bulk')
  @ApiSummary('Queue a command for several devices')
  @HttpCode(200)
  @RequirePermission('devices.manage')
  @Audited('command.queue', 'device')
  @OwnTransaction(BULK_TRANSACTIONS)
  @ZodResponse(200, BulkCommandResultSchema)
  queueBulk(@ZodBody(BulkCommandRequestSchema) body: BulkCommandRequest, @CurrentActor() actor: Actor) {
    return this.commands.queueBulk(actor, body, 'normal');
  }

  @Post('critical-commands/bulk')
  @ApiSummary('Queue a critical command for several devices')
  @HttpCode(200)
  @RequirePermission('devices.critical_actions')
  @Critical()
  @Audited('command.queue_critical', 'device')
  @OwnTransaction(BULK_TRANSACTIONS)
  @ZodResponse(200, BulkCommandResultSchema)
  queueCriticalBulk(@ZodBody(BulkCommandRequestSchema) body: BulkCommandRequest, @CurrentActor() actor: Actor) {
    return this.commands.queueBulk(actor, body, 'critical');
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
