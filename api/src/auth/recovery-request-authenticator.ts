import type { FastifyRequest } from 'fastify';
import type { AuthenticatedRecovery } from '../common/context/request-context.js';

/**
 * Checks the recovery medium behind a recovery agent's request (`@RecoveryAuthenticated()` routes) for
 * the access guard; throws the request's AppError when it is not an active medium's credential. Auth
 * only declares it: the recovery feature implements it, and the composition root (app.module.ts)
 * binds the two (like device-request-authenticator.ts).
 */
export interface RecoveryRequestAuthenticator {
  authenticate(request: FastifyRequest): Promise<AuthenticatedRecovery>;
}

export const RECOVERY_REQUEST_AUTHENTICATOR = Symbol('RECOVERY_REQUEST_AUTHENTICATOR');
