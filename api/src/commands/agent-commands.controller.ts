import { createReadStream } from 'node:fs';
import { Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import {
  AgentCommandsQuerySchema,
  AgentCommandsResponseSchema,
  AgentScriptResponseSchema,
  CommandSchema,
  CommandStatusReportSchema,
  IdParamSchema,
  type CommandStatusReport,
} from '@xspectre/contracts';
import { Audited, DeviceAuthenticated } from '../common/http/route-access.decorators.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { CommandsService } from './commands.service.js';

function currentDevice() {
  const device = requestContext.get()?.device;
  if (!device) throw new AppError('DEVICE_AUTH_REQUIRED');
  return device;
}

@ApiTags('agent')
@Controller('agent/commands')
export class AgentCommandsController {
  constructor(private readonly commands: CommandsService) {}

  /** Long poll: answers at once when commands wait, else holds the request up to `waitSeconds`. */
  @Get()
  @ApiSummary('Fetch signed commands (agent, long poll)')
  @DeviceAuthenticated()
  @ZodResponse(200, AgentCommandsResponseSchema)
  async poll(@ZodQuery(AgentCommandsQuerySchema) query: z.infer<typeof AgentCommandsQuerySchema>, @Req() request: FastifyRequest) {
    const device = currentDevice();
    // A poll whose agent went away stops waiting at once instead of holding its slot.
    const gone = new AbortController();
    request.raw.once('close', () => gone.abort());
    const commands = await this.commands.poll(device, query.waitSeconds, gone.signal);
    return { commands, serverTime: new Date().toISOString() };
  }

  /** The content of this device's script run in progress (base64 of its bytes; the agent checks the signed SHA-256). */
  @Get(':id/script')
  @ApiSummary("Fetch a script run's script (agent)")
  @DeviceAuthenticated()
  @ZodResponse(200, AgentScriptResponseSchema)
  script(@ZodParams(IdParamSchema) params: z.infer<typeof IdParamSchema>) {
    return this.commands.scriptFor(currentDevice(), params.id);
  }

  /**
   * The executable of this device's agent update in progress: the build whose SHA-256 the command
   * signed (the agent checks it again before anything is swapped).
   */
  @Get(':id/agent-build')
  @ApiSummary("Download an agent update's executable (agent)", {
    ok: { status: 200, description: 'the executable' },
    errors: ['COMMAND_NOT_FOUND', 'AGENT_BUILD_NOT_FOUND'],
  })
  @DeviceAuthenticated()
  @ApiProduces('application/octet-stream')
  async agentBuild(@ZodParams(IdParamSchema) params: z.infer<typeof IdParamSchema>, @Res() reply: FastifyReply) {
    const build = await this.commands.agentBuildFor(currentDevice(), params.id);
    await reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(build.sizeBytes))
      .header('cache-control', 'no-store')
      .send(createReadStream(build.path));
  }

  /** Running, then the result; or rejected with the agent's reason. */
  @Post(':id/status')
  @ApiSummary('Report the status of a command (agent)')
  @HttpCode(200)
  @DeviceAuthenticated()
  @Audited('command.status', 'command')
  @ZodResponse(200, CommandSchema)
  report(@ZodParams(IdParamSchema) params: z.infer<typeof IdParamSchema>, @ZodBody(CommandStatusReportSchema) body: CommandStatusReport) {
    return this.commands.report(currentDevice(), params.id, body);
  }
}
