'use client';

import { OrganizationPageSchema, SitePageSchema, type Organization, type Site } from '@xspectre/contracts';
import { api } from './api-client';
import { useResource } from './use-api';

/** Organizations and sites for filters and labels (one page of 500 each: far more than the fleet has). */
export function useOrganizationsAndSites() {
  return useResource('orgs-sites', async (signal) => {
    const [orgs, sites] = await Promise.all([
      api('organizations', { query: { limit: 500 }, schema: OrganizationPageSchema, signal }),
      api('sites', { query: { limit: 500 }, schema: SitePageSchema, signal }),
    ]);
    return {
      organizations: orgs.items,
      sites: sites.items,
      orgById: new Map<string, Organization>(orgs.items.map((o) => [o.id, o])),
      siteById: new Map<string, Site>(sites.items.map((s) => [s.id, s])),
    };
  });
}
