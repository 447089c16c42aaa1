import { Inject, Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { roleHasPermission } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { ACCESS_COOKIE, assertCsrf, bearerToken } from './auth-cookies.js';
import {
  AUDITED_ROUTE,
  CRITICAL_ROUTE,
  ROUTE_ACCESS,
  type AuditedRoute,
  type RouteAccess,
} from '../common/http/route-access.decorators.js';
import { DEVICE_REQUEST_AUTHENTICATOR, type DeviceRequestAuthenticator } from './device-request-authenticator.js';
import { RECOVERY_REQUEST_AUTHENTICATOR, type RecoveryRequestAuthenticator } from './recovery-request-authenticator.js';
import { SessionsService } from './sessions.service.js';
import { ServiceCredentialsService } from './service-credentials.service.js';
import { StepUp } from './step-up.js';
import { TokensService } from './tokens.service.js';

/**
 * Runs before every route. The session and user are read from the database on every
 * request, so revoking a session, disabling a user or changing a role takes effect at once.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokensService,
    private readonly sessions: SessionsService,
    @Inject(DEVICE_REQUEST_AUTHENTICATOR) private readonly deviceAuth: DeviceRequestAuthenticator,
    private readonly stepUp: StepUp,
    private readonly services: ServiceCredentialsService,
    // Optional so an application without the recovery feature (some test modules) still starts: its recovery routes refuse.
    @Optional() @Inject(RECOVERY_REQUEST_AUTHENTICATOR) private readonly recoveryAuth?: RecoveryRequestAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    const ctx = requestContext.get();
    if (ctx) ctx.auditedRoute = this.reflector.getAllAndOverride<AuditedRoute | undefined>(AUDITED_ROUTE, targets);
    const access = this.reflector.getAllAndOverride<RouteAccess | undefined>(ROUTE_ACCESS, targets);
    if (!access) throw new AppError('AUTH_ROUTE_UNDECLARED');
    if (access.kind === 'public') return true;

    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (access.kind === 'device') {
      // Everything an agent's request reads or writes, its credential check included, uses the devices' pool.
      if (ctx) ctx.dbLane = 'devices';
      const device = await this.deviceAuth.authenticate(request);
      if (ctx) ctx.device = device;
      return true;
    }
    if (access.kind === 'recovery') {
      // A recovery stick is an agent of its device: its requests use the devices' pool too.
      if (ctx) ctx.dbLane = 'devices';
      if (!this.recoveryAuth) throw new AppError('RECOVERY_AUTH_INVALID');
      const recovery = await this.recoveryAuth.authenticate(request);
      if (ctx) ctx.recovery = recovery;
      return true;
    }
    if (access.kind === 'service') {
      const service = await this.services.authenticate(request, access.service);
      if (ctx) ctx.service = service;
      return true;
    }
    const fromHeader = bearerToken(request);
    const token = fromHeader ?? request.cookies[ACCESS_COOKIE];
    if (!token) throw new AppError('AUTH_REQUIRED');
    if (!fromHeader) assertCsrf(request);

    const claims = await this.tokens.verifyAccess(token);
    const principal = await this.sessions.findPrincipal(claims.sessionId);
    if (!principal || principal.userId !== claims.userId) throw new AppError('AUTH_SESSION_REVOKED');
    if (principal.revokedAt || principal.sessionExpiresAt <= new Date()) throw new AppError('AUTH_SESSION_REVOKED');
    if (principal.status !== 'active') throw new AppError('AUTH_USER_DISABLED');
    if (principal.passwordSessionRefused) throw new AppError('AUTH_SSO_REQUIRED');

    if (ctx) {
      ctx.actor = {
        userId: principal.userId,
        email: principal.email,
        role: principal.role,
        sessionId: principal.sessionId,
        stepUpAt: principal.stepUpAt,
        authMethod: principal.authMethod,
        ssoProviderId: principal.ssoProviderId,
      };
    }

    // SSO sessions prove their second factor at the identity provider.
    const setupPending = principal.requireTotp && !principal.totpEnabled && principal.authMethod === 'password';
    if (setupPending && !(access.kind === 'authenticated' && access.allowDuringTotpSetup)) {
      throw new AppError(
        'AUTH_TOTP_SETUP_REQUIRED',
        'two-factor authentication is required: set up TOTP (POST auth/totp/setup, then auth/totp/enable)',
      );
    }
    if (access.kind === 'permission' && !roleHasPermission(principal.role, access.permission)) {
      throw new AppError('AUTH_FORBIDDEN', `this needs the ${access.permission} permission`);
    }
    if (this.reflector.getAllAndOverride<boolean>(CRITICAL_ROUTE, targets)) this.stepUp.require(principal);
    return true;
  }
}
