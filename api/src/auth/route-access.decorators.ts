import { SetMetadata, applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiExtension, ApiResponse } from '@nestjs/swagger';
import type { Permission } from '@xspectre/contracts';

/** What a route demands of its caller. Every route declares exactly one (rbac tests check). */
export type RouteAccess =
  { kind: 'public' } | { kind: 'authenticated'; allowDuringTotpSetup: boolean } | { kind: 'permission'; permission: Permission };

export const ROUTE_ACCESS = 'xs:route-access';
export const CRITICAL_ROUTE = 'xs:critical';
export const AUDITED_ROUTE = 'xs:audited';

export interface AuditedRoute {
  action: string;
  resourceType: string;
}

const authDocs = () =>
  applyDecorators(ApiBearerAuth(), ApiCookieAuth(), ApiResponse({ status: 401, description: 'not signed in, or the session has ended' }));

/** No session needed (health, login). */
export const Public = () => SetMetadata(ROUTE_ACCESS, { kind: 'public' } satisfies RouteAccess);

/** Any signed-in operator. `allowDuringTotpSetup` keeps the route open while 2FA setup is pending. */
export const Authenticated = (options: { allowDuringTotpSetup?: boolean } = {}) =>
  applyDecorators(
    SetMetadata(ROUTE_ACCESS, { kind: 'authenticated', allowDuringTotpSetup: options.allowDuringTotpSetup ?? false } satisfies RouteAccess),
    authDocs(),
  );

export const RequirePermission = (permission: Permission) =>
  applyDecorators(
    SetMetadata(ROUTE_ACCESS, { kind: 'permission', permission } satisfies RouteAccess),
    ApiExtension('x-permission', permission),
    ApiResponse({ status: 403, description: `needs ${permission}` }),
    authDocs(),
  );

/** Needs a TOTP code verified in this session within API_STEP_UP_TTL_SECONDS (step-up). */
export const Critical = () => applyDecorators(SetMetadata(CRITICAL_ROUTE, true), ApiExtension('x-critical', true));

/** The audit action a mutating route records, on success and on failure. */
export const Audited = (action: string, resourceType: string) =>
  SetMetadata(AUDITED_ROUTE, { action, resourceType } satisfies AuditedRoute);
