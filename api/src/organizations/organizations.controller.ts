import { Controller, Delete, Get, HttpCode, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  CreateOrganizationSchema,
  IdParamSchema,
  ListOrganizationsQuerySchema,
  OrganizationPageSchema,
  OrganizationSchema,
  UpdateOrganizationSchema,
} from '@xspectre/contracts';
import { Audited, Critical, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { OrganizationsService } from './organizations.service.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';

type Id = z.infer<typeof IdParamSchema>;

/** Reading is open to every role (fleet views filter by organization); changes need settings.manage. */
@ApiTags('organizations')
@Controller('organizations')
export class OrganizationsController {
  constructor(private readonly organizations: OrganizationsService) {}

  @Get()
  @ApiSummary('List organizations')
  @RequirePermission('devices.view')
  @ZodResponse(200, OrganizationPageSchema)
  list(@ZodQuery(ListOrganizationsQuerySchema) query: z.infer<typeof ListOrganizationsQuerySchema>) {
    return this.organizations.list(query);
  }

  @Post()
  @ApiSummary('Create an organization')
  @RequirePermission('settings.manage')
  @Audited('organization.create', 'organization')
  @ZodResponse(201, OrganizationSchema)
  create(@ZodBody(CreateOrganizationSchema) body: z.infer<typeof CreateOrganizationSchema>) {
    return this.organizations.create(body);
  }

  @Get(':id')
  @ApiSummary('Get an organization')
  @RequirePermission('devices.view')
  @ZodResponse(200, OrganizationSchema)
  get(@ZodParams(IdParamSchema) params: Id) {
    return this.organizations.get(params.id);
  }

  @Patch(':id')
  @ApiSummary('Change an organization')
  @RequirePermission('settings.manage')
  @Audited('organization.update', 'organization')
  @ZodResponse(200, OrganizationSchema)
  update(@ZodParams(IdParamSchema) params: Id, @ZodBody(UpdateOrganizationSchema) body: z.infer<typeof UpdateOrganizationSchema>) {
    return this.organizations.rename(params.id, body.name);
  }

  /** Critical: removing a customer is irreversible, so it needs a fresh TOTP. */
  @Delete(':id')
  @ApiSummary('Delete an organization without sites', { ok: { status: 204, description: 'deleted' } })
  @HttpCode(204)
  @RequirePermission('settings.manage')
  @Critical()
  @Audited('organization.delete', 'organization')
  async remove(@ZodParams(IdParamSchema) params: Id): Promise<void> {
    await this.organizations.delete(params.id);
  }
}
