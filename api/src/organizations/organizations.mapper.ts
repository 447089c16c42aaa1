import type { Organization, Site } from '@xspectre/contracts';
import type { OrganizationRow } from './organizations.repository.js';
import type { SiteRow } from './sites.repository.js';

export function toOrganizationDto(org: OrganizationRow): Organization {
  return {
    id: org.id,
    name: org.name,
    kind: org.kind,
    // Customer devices are billed; the company's own infrastructure is not.
    billable: org.kind === 'customer',
    siteCount: org.siteCount,
    createdAt: org.createdAt.toISOString(),
    updatedAt: org.updatedAt.toISOString(),
  };
}

export function toSiteDto(site: SiteRow): Site {
  return {
    id: site.id,
    organizationId: site.organizationId,
    name: site.name,
    timeZone: site.timeZone,
    deviceCount: site.deviceCount,
    createdAt: site.createdAt.toISOString(),
    updatedAt: site.updatedAt.toISOString(),
  };
}
