import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { HeartbeatAckSchema, HeartbeatBatchSchema, HeartbeatSchema } from '@xspectre/contracts';
import { DeviceAuthenticated, NotAudited, OwnTransaction } from '../common/http/route-access.decorators.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { ZodBody, ZodResponse } from '../common/validation/zod-decorators.js';
import { HeartbeatsService } from './heartbeats.service.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';

const HeartbeatOrBatchSchema = z.union([HeartbeatSchema, HeartbeatBatchSchema]);

@ApiTags('agent')
@Controller('agent')
export class AgentController {
  constructor(private readonly heartbeats: HeartbeatsService) {}

  /** One heartbeat, or a batch replayed from the agent's offline journal. */
  @Post('heartbeats')
  @ApiSummary('Send heartbeats (agent)')
  @HttpCode(200)
  @DeviceAuthenticated()
  @NotAudited('telemetry at fleet rate; stored in device_heartbeats')
  @OwnTransaction('written in group commits shared by many requests (HeartbeatWriter)')
  @ZodResponse(200, HeartbeatAckSchema)
  ingest(@ZodBody(HeartbeatOrBatchSchema) body: z.infer<typeof HeartbeatOrBatchSchema>) {
    const device = requestContext.get()?.device;
    if (!device) throw new AppError('DEVICE_AUTH_REQUIRED');
    return this.heartbeats.ingest(device, 'heartbeats' in body ? body.heartbeats : [body]);
  }
}
