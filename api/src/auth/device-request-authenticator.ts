import type { FastifyRequest } from 'fastify';
import type { AuthenticatedDevice } from '../common/context/request-context.js';

/**
 * Checks the device behind an agent request (`@DeviceAuthenticated()` routes) for the access guard; throws
 * the request's AppError when it is not an authentic, active device. Auth only declares it: the
 * agent-facing feature implements it, and the composition root (app.module.ts) binds the two.
 */
export interface DeviceRequestAuthenticator {
  authenticate(request: FastifyRequest): Promise<AuthenticatedDevice>;
}

export const DEVICE_REQUEST_AUTHENTICATOR = Symbol('DEVICE_REQUEST_AUTHENTICATOR');
