import { createParamDecorator } from '@nestjs/common';
import { AppError } from '../errors/app-error.js';
import { requestContext, type Actor } from './request-context.js';

/** The signed-in operator (routes behind @Authenticated or @RequirePermission). */
export const CurrentActor = createParamDecorator((_data: unknown): Actor => {
  const actor = requestContext.get()?.actor;
  if (!actor) throw new AppError('AUTH_REQUIRED');
  return actor;
});
