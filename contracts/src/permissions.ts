import { z } from 'zod';

/** Every permission an operator can hold; `ROLE_PERMISSIONS` below grants them by role. */
export const PERMISSIONS = [
  'devices.view',
  'devices.manage',
  'devices.critical_actions',
  'backups.view',
  'backups.trigger',
  'backups.restore',
  'alerts.view',
  'alerts.ack',
  'audit.view',
  'settings.manage',
  'users.manage',
  // The script library: code that devices run as root (Super Admin only, with step-up on changes).
  'scripts.manage',
  // Scan results leave a customer's site only when asked: a one-off report summary (step-up).
  'scanner_results.view',
  // Single sign-on: identity providers decide who gets which role (Super Admin only, step-up on changes).
  'identity_providers.manage',
] as const;
export const PermissionSchema = z.enum(PERMISSIONS);
export type Permission = z.infer<typeof PermissionSchema>;

export const ROLES = ['super_admin', 'soc_operator', 'read_only'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

export const ROLE_LABELS: Record<Role, string> = {
  super_admin: 'Super Admin',
  soc_operator: 'SOC Operator',
  read_only: 'Read-Only',
};

/**
 * The one role → permission table. SOC operators manage customer devices and trigger
 * backups but hold no critical actions; internal-infrastructure resources are further
 * narrowed to read-only for them by `canMutateResource`.
 */
export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  super_admin: PERMISSIONS,
  soc_operator: ['devices.view', 'devices.manage', 'backups.view', 'backups.trigger', 'alerts.view', 'alerts.ack', 'audit.view'],
  read_only: ['devices.view', 'backups.view', 'alerts.view'],
};

export function roleHasPermission(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

export const ORGANIZATION_KINDS = ['customer', 'internal'] as const;
export const OrganizationKindSchema = z.enum(ORGANIZATION_KINDS);
export type OrganizationKind = z.infer<typeof OrganizationKindSchema>;

/**
 * Whether a role may change a resource owned by an organization of the given kind.
 * Internal infrastructure is read-only for everyone but Super Admins.
 */
export function canMutateResource(role: Role, ownerKind: OrganizationKind): boolean {
  return ownerKind === 'customer' || role === 'super_admin';
}
