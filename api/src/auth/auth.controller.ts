import { Controller, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  ChangePasswordSchema,
  LoginRequestSchema,
  LoginResponseSchema,
  MeResponseSchema,
  RefreshRequestSchema,
  SessionTokensSchema,
  StepUpRequestSchema,
  StepUpResponseSchema,
  TotpDisableRequestSchema,
  TotpEnableRequestSchema,
  TotpEnableResponseSchema,
  TotpSetupResponseSchema,
  TotpVerifyRequestSchema,
} from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { ZodBody, ZodResponse } from '../common/validation/zod-decorators.js';
import { REFRESH_COOKIE, assertCsrf, clearSessionCookies, setSessionCookies } from './auth-cookies.js';
import { AuthService } from './auth.service.js';
import { clientOf } from './session-issuer.js';
import { Audited, Authenticated, Public } from '../common/http/route-access.decorators.js';
import { TotpService } from './totp.service.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';

const OkSchema = z.object({ ok: z.literal(true) });

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly totp: TotpService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('login')
  @ApiSummary('Sign in with email and password', {
    errors: [
      'VALIDATION_FAILED',
      'AUTH_INVALID_CREDENTIALS',
      'AUTH_USER_DISABLED',
      'AUTH_ACCOUNT_LOCKED',
      'AUTH_LOGIN_BACKOFF',
      'RATE_LIMITED',
    ],
  })
  @HttpCode(200)
  @Public()
  @Audited('auth.login', 'user')
  @ZodResponse(200, LoginResponseSchema, 'a session, or { mfaRequired, mfaToken } when TOTP is enabled')
  async login(
    @ZodBody(LoginRequestSchema) body: z.infer<typeof LoginRequestSchema>,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const result = await this.auth.login(body.email, body.password, clientOf(req));
    if ('accessToken' in result) setSessionCookies(reply, this.config, result);
    return result;
  }

  @Post('totp/verify')
  @ApiSummary('Complete a sign-in with a TOTP or recovery code', {
    errors: ['VALIDATION_FAILED', 'AUTH_TOKEN_INVALID', 'AUTH_TOTP_INVALID'],
  })
  @HttpCode(200)
  @Public()
  @Audited('auth.login_totp', 'user')
  @ZodResponse(200, SessionTokensSchema)
  async verifyTotp(
    @ZodBody(TotpVerifyRequestSchema) body: z.infer<typeof TotpVerifyRequestSchema>,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const tokens = await this.auth.completeMfa(body.mfaToken, body, clientOf(req));
    setSessionCookies(reply, this.config, tokens);
    return tokens;
  }

  /** Rotates the refresh token: from the body (API clients) or the cookie (console, with CSRF header). */
  @Post('refresh')
  @ApiSummary('Rotate the refresh token for new session tokens', {
    errors: ['VALIDATION_FAILED', 'AUTH_REQUIRED', 'AUTH_TOKEN_INVALID', 'AUTH_REFRESH_REUSED', 'AUTH_SESSION_REVOKED', 'AUTH_CSRF_FAILED'],
  })
  @HttpCode(200)
  @Public()
  @Audited('auth.refresh', 'session')
  @ZodResponse(200, SessionTokensSchema)
  async refresh(
    @ZodBody(RefreshRequestSchema) body: z.infer<typeof RefreshRequestSchema>,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    let token = body.refreshToken;
    if (!token) {
      token = req.cookies[REFRESH_COOKIE];
      if (!token) throw new AppError('AUTH_REQUIRED', 'no refresh token in the body or the cookie');
      assertCsrf(req);
    }
    const tokens = await this.auth.refresh(token);
    setSessionCookies(reply, this.config, tokens);
    return tokens;
  }

  @Post('logout')
  @ApiSummary('Sign out (ends the session)')
  @HttpCode(200)
  @Authenticated({ allowDuringTotpSetup: true })
  @Audited('auth.logout', 'session')
  @ZodResponse(200, OkSchema)
  async logout(@CurrentActor() actor: Actor, @Res({ passthrough: true }) reply: FastifyReply) {
    await this.auth.logout(actor);
    clearSessionCookies(reply);
    return { ok: true as const };
  }

  @Get('me')
  @ApiSummary('The signed-in operator and their permissions')
  @Authenticated({ allowDuringTotpSetup: true })
  @ZodResponse(200, MeResponseSchema)
  me(@CurrentActor() actor: Actor) {
    return this.auth.me(actor);
  }

  @Post('password')
  @ApiSummary('Change your password')
  @HttpCode(200)
  @Authenticated()
  @Audited('auth.password_change', 'user')
  @ZodResponse(200, OkSchema)
  async changePassword(@ZodBody(ChangePasswordSchema) body: z.infer<typeof ChangePasswordSchema>, @CurrentActor() actor: Actor) {
    await this.auth.changePassword(actor, body.currentPassword, body.newPassword);
    return { ok: true as const };
  }

  @Post('totp/setup')
  @ApiSummary('Start two-factor setup')
  @HttpCode(200)
  @Authenticated({ allowDuringTotpSetup: true })
  @Audited('auth.totp_setup', 'user')
  @ZodResponse(200, TotpSetupResponseSchema, 'otpauth URI for the QR code; TOTP is on only after totp/enable')
  async setupTotp(@CurrentActor() actor: Actor) {
    return this.totp.setup(await this.auth.requireUser(actor.userId));
  }

  @Post('totp/enable')
  @ApiSummary('Turn on two-factor authentication')
  @HttpCode(200)
  @Authenticated({ allowDuringTotpSetup: true })
  @Audited('auth.totp_enable', 'user')
  @ZodResponse(200, TotpEnableResponseSchema, 'ten single-use recovery codes, shown only now')
  async enableTotp(@ZodBody(TotpEnableRequestSchema) body: z.infer<typeof TotpEnableRequestSchema>, @CurrentActor() actor: Actor) {
    const recoveryCodes = await this.totp.enable(await this.auth.requireUser(actor.userId), body.code);
    return { recoveryCodes };
  }

  @Post('totp/disable')
  @ApiSummary('Turn off two-factor authentication', {
    errors: [
      'VALIDATION_FAILED',
      'AUTH_TOTP_NOT_ENABLED',
      'AUTH_TOTP_REQUIRED_BY_POLICY',
      'SSO_POLICY_INVALID',
      'AUTH_INVALID_CREDENTIALS',
      'AUTH_TOTP_INVALID',
    ],
  })
  @HttpCode(200)
  @Authenticated()
  @Audited('auth.totp_disable', 'user')
  @ZodResponse(200, OkSchema)
  async disableTotp(@ZodBody(TotpDisableRequestSchema) body: z.infer<typeof TotpDisableRequestSchema>, @CurrentActor() actor: Actor) {
    await this.totp.disable(await this.auth.requireUser(actor.userId), body.code, body.password);
    return { ok: true as const };
  }

  /** Verifies a fresh TOTP code so critical routes accept this session for a few minutes. */
  @Post('step-up')
  @ApiSummary('Verify a fresh TOTP code for critical actions')
  @HttpCode(200)
  @Authenticated()
  @Audited('auth.step_up', 'session')
  @ZodResponse(200, StepUpResponseSchema)
  stepUp(@ZodBody(StepUpRequestSchema) body: z.infer<typeof StepUpRequestSchema>, @CurrentActor() actor: Actor) {
    return this.auth.stepUp(actor, body.code);
  }
}
