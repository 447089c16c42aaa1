import { Inject, Injectable } from '@nestjs/common';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { deriveKeys } from './secrets.js';

const ISSUER = 'xspectre-ops-api';

export interface AccessClaims {
  userId: string;
  sessionId: string;
}

/** Short-lived JWTs: access tokens, and the token that links the two login steps. */
@Injectable()
export class TokensService {
  private readonly key: Uint8Array;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.key = deriveKeys(config.API_SECRET_KEY).jwt;
  }

  signAccess(claims: AccessClaims): Promise<string> {
    return new SignJWT({ sid: claims.sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience('access')
      .setIssuedAt()
      .setExpirationTime(`${this.config.API_ACCESS_TOKEN_TTL_SECONDS}s`)
      .sign(this.key);
  }

  async verifyAccess(token: string): Promise<AccessClaims> {
    const payload = await this.verify(token, 'access');
    if (typeof payload.sid !== 'string' || typeof payload.sub !== 'string') throw new AppError('AUTH_TOKEN_INVALID');
    return { userId: payload.sub, sessionId: payload.sid };
  }

  signMfa(userId: string): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience('mfa')
      .setIssuedAt()
      .setExpirationTime(`${this.config.API_MFA_TOKEN_TTL_SECONDS}s`)
      .sign(this.key);
  }

  async verifyMfa(token: string): Promise<string> {
    const payload = await this.verify(token, 'mfa');
    if (typeof payload.sub !== 'string') throw new AppError('AUTH_TOKEN_INVALID');
    return payload.sub;
  }

  private async verify(token: string, audience: 'access' | 'mfa') {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, audience, algorithms: ['HS256'] });
      return payload;
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) throw new AppError('AUTH_TOKEN_INVALID');
      throw error;
    }
  }
}
