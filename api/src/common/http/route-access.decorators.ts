import { SetMetadata, applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiExtension, ApiResponse, DECORATORS } from '@nestjs/swagger';
import type { Permission, ServiceKind } from '@xspectre/contracts';

/** What a route demands of its caller. Every route declares exactly one (rbac tests check). */
export type RouteAccess =
  | { kind: 'public' }
  | { kind: 'authenticated'; allowDuringTotpSetup: boolean }
  | { kind: 'permission'; permission: Permission }
  /** An enrolled device, by its credential, from its own overlay address. */
  | { kind: 'device' }
  /** A recovery stick (issue 16), by its recovery credential (`xsr1.…`): never a device's own credential. */
  | { kind: 'recovery' }
  /** One of the product's own services (contracts/src/service-credentials.ts), by its service credential. */
  | { kind: 'service'; service: ServiceKind };

export const ROUTE_ACCESS = 'xs:route-access';
export const CRITICAL_ROUTE = 'xs:critical';
export const AUDITED_ROUTE = 'xs:audited';

export interface AuditedRoute {
  action: string;
  resourceType: string;
  notAudited?: string;
}

const authDocs = () =>
  applyDecorators(ApiBearerAuth(), ApiCookieAuth(), ApiResponse({ status: 401, description: 'not signed in, or the session has ended' }));

/**
 * `security: []` on the operation: says the route needs no credential. Set in the operation
 * metadata (merged, so a summary next to it stays) because @nestjs/swagger drops an empty
 * ApiSecurity list.
 */
const noSecurityDocs = (): MethodDecorator => (_target, _key, descriptor) => {
  const operation: object | undefined = Reflect.getMetadata(DECORATORS.API_OPERATION, descriptor.value as object);
  Reflect.defineMetadata(DECORATORS.API_OPERATION, { ...operation, security: [] }, descriptor.value as object);
};

/** No session needed (health, login). */
export const Public = () => applyDecorators(SetMetadata(ROUTE_ACCESS, { kind: 'public' } satisfies RouteAccess), noSecurityDocs());

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

/** Agent routes: a device credential (Bearer), never an operator session. */
export const DeviceAuthenticated = () =>
  applyDecorators(
    SetMetadata(ROUTE_ACCESS, { kind: 'device' } satisfies RouteAccess),
    ApiBearerAuth(),
    ApiResponse({ status: 401, description: 'missing or invalid device credential' }),
  );

/**
 * Recovery agent routes (`agent/recovery/*`): a recovery medium's credential (Bearer `xsr1.…`), never a
 * device credential or an operator session. The guard puts `{ mediumId, deviceId }` into
 * `requestContext.get()?.recovery`.
 */
export const RecoveryAuthenticated = () =>
  applyDecorators(
    SetMetadata(ROUTE_ACCESS, { kind: 'recovery' } satisfies RouteAccess),
    ApiExtension('x-recovery', true),
    ApiBearerAuth(),
    ApiResponse({ status: 401, description: 'missing or invalid recovery credential' }),
  );

/** Service routes: a service credential of that kind (Bearer), never an operator session or a device. */
export const ServiceAuthenticated = (service: ServiceKind) =>
  applyDecorators(
    SetMetadata(ROUTE_ACCESS, { kind: 'service', service } satisfies RouteAccess),
    ApiExtension('x-service', service),
    ApiBearerAuth(),
    ApiResponse({ status: 401, description: `missing or invalid ${service} service credential` }),
  );

/**
 * A mutating route that deliberately writes no audit row, with the reason (telemetry at
 * fleet rate would drown the trail; it is stored in its own tables).
 */
export const NotAudited = (reason: string) =>
  SetMetadata(AUDITED_ROUTE, { action: '', resourceType: '', notAudited: reason } satisfies AuditedRoute);

export const OWN_TRANSACTION_ROUTE = 'xs:own-transaction';

/**
 * A mutating route that manages its own transactions instead of the request unit of work,
 * with the reason (heartbeats are written in group commits shared by many requests).
 */
export const OwnTransaction = (reason: string) => SetMetadata(OWN_TRANSACTION_ROUTE, reason);

/** Needs a TOTP code verified in this session within API_STEP_UP_TTL_SECONDS (step-up). */
export const Critical = () => applyDecorators(SetMetadata(CRITICAL_ROUTE, true), ApiExtension('x-critical', true));

/** The audit action a mutating route records, on success and on failure. */
export const Audited = (action: string, resourceType: string) =>
  SetMetadata(AUDITED_ROUTE, { action, resourceType } satisfies AuditedRoute);
