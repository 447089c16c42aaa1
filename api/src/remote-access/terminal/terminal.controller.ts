import { Controller, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { CreateTerminalSessionSchema, IdParamSchema, TerminalTicketSchema, type CreateTerminalSession } from '@xspectre/contracts';
import { CurrentActor } from '../../common/context/current-actor.decorator.js';
import type { Actor } from '../../common/context/request-context.js';
import { Audited, RequirePermission } from '../../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodResponse } from '../../common/validation/zod-decorators.js';
import { ApiSummary } from '../../openapi/api-summary.decorator.js';
import { remoteOperatorOf } from '../remote-access-policy.js';
import { TerminalTickets } from './terminal-tickets.js';

/** Opening a terminal is two steps: this route hands out a one-time ticket, the WebSocket redeems it. */
@ApiTags('remote-access')
@Controller('devices')
export class TerminalController {
  constructor(private readonly tickets: TerminalTickets) {}

  @Post(':id/terminal-sessions')
  @ApiSummary(
    'Open a terminal on a device (or, target recovery, on its booted recovery stick: Super Admin): a one-time ticket for the terminal WebSocket',
    {
      errors: [
        'DEVICE_NOT_FOUND',
        'AUTH_INTERNAL_READ_ONLY',
        'DEVICE_NOT_ACTIVE',
        'DEVICE_QUARANTINED',
        'DEVICE_NO_SSH_HOST_KEY',
        'SSH_HOST_KEY_MISMATCH',
        'DEVICE_NOT_IN_RECOVERY_MODE',
        'RECOVERY_SHELL_UNAVAILABLE',
        'TERMINAL_LIMIT_REACHED',
        'REMOTE_ACCESS_UNAVAILABLE',
      ],
    },
  )
  @RequirePermission('devices.manage')
  @Audited('terminal.ticket', 'device')
  @ZodResponse(201, TerminalTicketSchema)
  create(
    @ZodParams(IdParamSchema) params: z.infer<typeof IdParamSchema>,
    @ZodBody(CreateTerminalSessionSchema) body: CreateTerminalSession,
    @CurrentActor() actor: Actor,
  ) {
    return this.tickets.openTerminal(remoteOperatorOf(actor), params.id, body);
  }
}
