import { Module } from '@nestjs/common';
import { OrganizationsController } from './organizations.controller.js';
import { OrganizationsRepository } from './organizations.repository.js';
import { OrganizationsService } from './organizations.service.js';
import { SitesController } from './sites.controller.js';
import { SitesRepository } from './sites.repository.js';

@Module({
  controllers: [OrganizationsController, SitesController],
  providers: [OrganizationsService, OrganizationsRepository, SitesRepository],
  exports: [OrganizationsService],
})
export class OrganizationsModule {}
