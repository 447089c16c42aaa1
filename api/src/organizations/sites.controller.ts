import { Controller, Delete, Get, HttpCode, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { CreateSiteSchema, IdParamSchema, ListSitesQuerySchema, SitePageSchema, SiteSchema, UpdateSiteSchema } from '@xspectre/contracts';
import { Audited, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { OrganizationsService } from './organizations.service.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';

type Id = z.infer<typeof IdParamSchema>;

@ApiTags('sites')
@Controller('sites')
export class SitesController {
  constructor(private readonly organizations: OrganizationsService) {}

  @Get()
  @ApiSummary('List sites')
  @RequirePermission('devices.view')
  @ZodResponse(200, SitePageSchema)
  list(@ZodQuery(ListSitesQuerySchema) query: z.infer<typeof ListSitesQuerySchema>) {
    return this.organizations.listSites(query);
  }

  @Post()
  @ApiSummary('Create a site')
  @RequirePermission('settings.manage')
  @Audited('site.create', 'site')
  @ZodResponse(201, SiteSchema)
  create(@ZodBody(CreateSiteSchema) body: z.infer<typeof CreateSiteSchema>) {
    return this.organizations.createSite(body);
  }

  @Get(':id')
  @ApiSummary('Get a site')
  @RequirePermission('devices.view')
  @ZodResponse(200, SiteSchema)
  get(@ZodParams(IdParamSchema) params: Id) {
    return this.organizations.getSite(params.id);
  }

  @Patch(':id')
  @ApiSummary('Change a site')
  @RequirePermission('settings.manage')
  @Audited('site.update', 'site')
  @ZodResponse(200, SiteSchema)
  update(@ZodParams(IdParamSchema) params: Id, @ZodBody(UpdateSiteSchema) body: z.infer<typeof UpdateSiteSchema>) {
    return this.organizations.updateSite(params.id, body);
  }

  @Delete(':id')
  @ApiSummary('Delete an empty site', { ok: { status: 204, description: 'deleted' } })
  @HttpCode(204)
  @RequirePermission('settings.manage')
  @Audited('site.delete', 'site')
  async remove(@ZodParams(IdParamSchema) params: Id): Promise<void> {
    await this.organizations.deleteSite(params.id);
  }
}
