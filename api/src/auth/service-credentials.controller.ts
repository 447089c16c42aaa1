import { Controller, Delete, Get, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  CreatedServiceCredentialSchema,
  CreateServiceCredentialSchema,
  IdParamSchema,
  ServiceCredentialListSchema,
  ServiceCredentialSchema,
  type CreateServiceCredential,
} from '@xspectre/contracts';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { Audited, Critical, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { ServiceCredentialsService } from './service-credentials.service.js';

/** Credentials for the product's own services (the backup server): Super Admin's, with step-up to create or revoke. */
@ApiTags('service-credentials')
@Controller('service-credentials')
export class ServiceCredentialsController {
  constructor(private readonly credentials: ServiceCredentialsService) {}

  @Get()
  @ApiSummary('List service credentials (never their secrets)')
  @RequirePermission('settings.manage')
  @ZodResponse(200, ServiceCredentialListSchema)
  async list() {
    return { items: await this.credentials.list() };
  }

  @Post()
  @ApiSummary('Create a service credential (the secret is shown once)')
  @RequirePermission('settings.manage')
  @Critical()
  @Audited('service_credential.create', 'service_credential')
  @ZodResponse(201, CreatedServiceCredentialSchema)
  create(@ZodBody(CreateServiceCredentialSchema) body: CreateServiceCredential, @CurrentActor() actor: Actor) {
    return this.credentials.create(actor, body);
  }

  @Delete(':id')
  @ApiSummary('Revoke a service credential', { errors: ['SERVICE_CREDENTIAL_NOT_FOUND'] })
  @RequirePermission('settings.manage')
  @Critical()
  @Audited('service_credential.revoke', 'service_credential')
  @ZodResponse(200, ServiceCredentialSchema)
  revoke(@ZodParams(IdParamSchema) params: z.infer<typeof IdParamSchema>) {
    return this.credentials.revoke(params.id);
  }
}
