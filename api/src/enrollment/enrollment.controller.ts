import { Controller, Post, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { EnrollRequestSchema, EnrollResponseSchema, type EnrollRequest } from '@xspectre/contracts';
import { Audited, Public } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodResponse } from '../common/validation/zod-decorators.js';
import { EnrollmentService } from './enrollment.service.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';

/** The only route devices reach over the underlay (HTTPS in production). Rate-limited per address. */
@ApiTags('agent')
@Controller('enroll')
export class EnrollmentController {
  constructor(private readonly enrollment: EnrollmentService) {}

  @Post()
  @ApiSummary('Enroll a device with a claim code', {
    errors: [
      'VALIDATION_FAILED',
      'CLAIM_CODE_INVALID',
      'CLAIM_CODE_USED',
      'CLAIM_CODE_EXPIRED',
      'CLAIM_CODE_REVOKED',
      'ENROLL_KEY_IN_USE',
      'ENROLL_KEY_IS_HUB',
      'RATE_LIMITED',
    ],
  })
  @Public()
  @Audited('device.enroll', 'device')
  @ZodResponse(201, EnrollResponseSchema, 'tunnel settings and the device credential (shown once)')
  enroll(@ZodBody(EnrollRequestSchema) body: EnrollRequest, @Req() request: FastifyRequest) {
    return this.enrollment.enroll(body, request.ip ?? null);
  }
}
