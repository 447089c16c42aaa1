import { Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import {
  AgentCommandsQuerySchema,
  AgentCommandsResponseSchema,
  CommandSchema,
  CommandStatusReportSchema,
  IdParamSchema,
  RecoveryProgressSchema,
  RecoveryRegisterResponseSchema,
  RecoveryRegisterSchema,
  type CommandStatusReport,
  type RecoveryProgress,
  type RecoveryRegister,
} from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { Audited, NotAudited, RecoveryAuthenticated } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { CommandsService } from '../commands/commands.service.js';
import { RecoveryService } from './recovery.service.js';

function currentRecovery() {
  const recovery = requestContext.get()?.recovery;
  if (!recovery) throw new AppError('RECOVERY_AUTH_REQUIRED');
  return recovery;
}

/** The recovery stick's own routes (recovery credential; a device credential is refused). */
@ApiTags('agent')
@Controller('agent/recovery')
export class AgentRecoveryController {
  constructor(
    private readonly recovery: RecoveryService,
    private readonly commands: CommandsService,
  ) {}

  @Post('register')
  @HttpCode(200)
  @ApiSummary('Register in RECOVERY MODE (recovery stick)')
  @RecoveryAuthenticated()
  @Audited('recovery.register', 'device')
  @ZodResponse(200, RecoveryRegisterResponseSchema)
  register(@ZodBody(RecoveryRegisterSchema) body: RecoveryRegister) {
    return this.recovery.register(currentRecovery(), body);
  }

  /** Long poll, like `agent/commands`, but only the device's `recovery.*` commands. */
  @Get('commands')
  @ApiSummary('Fetch signed recovery commands (recovery stick, long poll)')
  @RecoveryAuthenticated()
  @ZodResponse(200, AgentCommandsResponseSchema)
  async poll(@ZodQuery(AgentCommandsQuerySchema) query: z.infer<typeof AgentCommandsQuerySchema>, @Req() request: FastifyRequest) {
    const who = currentRecovery();
    const gone = new AbortController();
    request.raw.once('close', () => gone.abort());
    const commands = await this.commands.poll({ id: who.deviceId, overlayAddress: '' }, query.waitSeconds, gone.signal, 'recovery');
    return { commands, serverTime: new Date().toISOString() };
  }

  @Post('commands/:id/status')
  @ApiSummary('Report the status of a recovery command (recovery stick)', { errors: ['COMMAND_NOT_FOUND', 'COMMAND_TRANSITION_INVALID'] })
  @HttpCode(200)
  @RecoveryAuthenticated()
  @Audited('command.status', 'command')
  @ZodResponse(200, CommandSchema)
  report(@ZodParams(IdParamSchema) params: z.infer<typeof IdParamSchema>, @ZodBody(CommandStatusReportSchema) body: CommandStatusReport) {
    const who = currentRecovery();
    return this.commands.report({ id: who.deviceId, overlayAddress: '' }, params.id, body, 'recovery');
  }

  @Post('progress')
  @HttpCode(204)
  @ApiSummary("Report a recovery command's progress (recovery stick)", {
    ok: { status: 204, description: 'stored (at most once a second per stick)' },
    errors: ['COMMAND_NOT_FOUND', 'RECOVERY_COMMAND_NOT_RUNNING'],
  })
  @RecoveryAuthenticated()
  @NotAudited('progress every second of an image or restore; the command, its status reports and the registration are audited')
  async progress(@ZodBody(RecoveryProgressSchema) body: RecoveryProgress): Promise<void> {
    await this.recovery.progress(currentRecovery(), body);
  }
}
