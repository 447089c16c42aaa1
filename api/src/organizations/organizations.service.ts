import { Injectable } from '@nestjs/common';
import type { Organization, OrganizationKind, Site } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db/pg-errors.js';
import { toOrganizationDto, toSiteDto } from './organizations.mapper.js';
import { OrganizationsRepository, type OrganizationRow } from './organizations.repository.js';
import { SitesRepository } from './sites.repository.js';

@Injectable()
export class OrganizationsService {
  constructor(
    private readonly organizations: OrganizationsRepository,
    private readonly sites: SitesRepository,
  ) {}

  async list(filter: Parameters<OrganizationsRepository['list']>[0]) {
    const { items, total } = await this.organizations.list(filter);
    return { items: items.map(toOrganizationDto), total, limit: filter.limit, offset: filter.offset };
  }

  async get(id: string): Promise<Organization> {
    return toOrganizationDto(await this.require(id));
  }

  async create(input: { name: string; kind: OrganizationKind }): Promise<Organization> {
    try {
      const org = await this.organizations.insert(input);
      return toOrganizationDto(Object.assign(org, { siteCount: 0 }));
    } catch (error) {
      throw this.translate(error, input.name);
    }
  }

  async rename(id: string, name: string): Promise<Organization> {
    await this.require(id);
    try {
      await this.organizations.rename(id, name);
    } catch (error) {
      throw this.translate(error, name);
    }
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    const org = await this.require(id);
    if (org.siteCount > 0)
      throw new AppError('ORGANIZATION_NOT_EMPTY', `${org.name} still has ${org.siteCount} site(s): delete them first`);
    try {
      await this.organizations.delete(id);
    } catch (error) {
      // A site added concurrently: the foreign key refuses, nothing is lost.
      if (isForeignKeyViolation(error, 'fk_sites_organization')) throw new AppError('ORGANIZATION_NOT_EMPTY');
      throw error;
    }
  }

  async listSites(filter: Parameters<SitesRepository['list']>[0]) {
    const { items, total } = await this.sites.list(filter);
    return { items: items.map(toSiteDto), total, limit: filter.limit, offset: filter.offset };
  }

  async getSite(id: string): Promise<Site> {
    const site = await this.sites.findById(id);
    if (!site) throw new AppError('SITE_NOT_FOUND', `no site with id ${id}`);
    return toSiteDto(site);
  }

  async createSite(input: { organizationId: string; name: string; timeZone: string }): Promise<Site> {
    await this.require(input.organizationId);
    try {
      return toSiteDto(await this.sites.insert(input));
    } catch (error) {
      throw this.translateSite(error, input.name);
    }
  }

  async updateSite(id: string, changes: { name?: string; timeZone?: string }): Promise<Site> {
    await this.getSite(id);
    try {
      await this.sites.update(id, changes);
    } catch (error) {
      throw this.translateSite(error, changes.name ?? '');
    }
    return this.getSite(id);
  }

  async deleteSite(id: string): Promise<void> {
    const site = await this.sites.findById(id);
    if (!site) throw new AppError('SITE_NOT_FOUND', `no site with id ${id}`);
    // Retired devices count too: their history (audit, telemetry) stays attached to the site.
    if (site.deviceCount > 0)
      throw new AppError(
        'SITE_NOT_EMPTY',
        `${site.name} still has ${site.deviceCount} device(s), retired ones included: a site with history is kept`,
      );
    try {
      await this.sites.delete(id);
    } catch (error) {
      // A device created concurrently: the foreign key refuses, nothing is lost.
      if (isForeignKeyViolation(error, 'fk_devices_site')) throw new AppError('SITE_NOT_EMPTY');
      throw error;
    }
  }

  private async require(id: string): Promise<OrganizationRow> {
    const org = await this.organizations.findById(id);
    if (!org) throw new AppError('ORGANIZATION_NOT_FOUND', `no organization with id ${id}`);
    return org;
  }

  private translate(error: unknown, name: string): unknown {
    if (isUniqueViolation(error, 'uq_organizations_name_lower'))
      return new AppError('ORGANIZATION_NAME_TAKEN', `an organization named "${name}" exists`);
    if (isUniqueViolation(error, 'uq_organizations_single_internal')) return new AppError('ORGANIZATION_INTERNAL_EXISTS');
    return error;
  }

  private translateSite(error: unknown, name: string): unknown {
    if (isUniqueViolation(error, 'uq_sites_organization_name_lower'))
      return new AppError('SITE_NAME_TAKEN', `the organization already has a site named "${name}"`);
    if (isForeignKeyViolation(error, 'fk_sites_organization')) return new AppError('ORGANIZATION_NOT_FOUND');
    return error;
  }
}
