import { Controller, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { IdParamSchema, SsoLoginQuerySchema, SsoRedirectSchema, SsoSignInOptionsSchema, SsoStepUpRequestSchema } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { Audited, Authenticated, NotAudited, OwnTransaction, Public } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { setSessionCookies } from '../auth/auth-cookies.js';
import { clientOf } from '../auth/session-issuer.js';
import { SamlProtocol } from './saml/saml-protocol.js';
import { SsoFailure } from './sso-assertion.js';
import { RefusedFlow, SsoLoginService, type SsoOutcome } from './sso-login.service.js';
import { SsoProviders } from './sso-providers.service.js';
import { SSO_PENDING_TTL_SECONDS } from './sso-state.store.js';

/** Binds an OIDC sign-in to the browser that started it (login CSRF): the callback must bring it back. */
const BINDING_COOKIE = 'xs_sso_binding';
const BINDING_PATH = '/api/v1/auth/sso/oidc';

/** The SAML HTTP-POST binding's form; IdPs may add fields, which are ignored. */
const SamlPostSchema = z.object({
  SAMLResponse: z
    .string()
    .min(1)
    .max(512 * 1024),
  RelayState: z.string().max(256).default(''),
});
/** An OIDC redirect: success (code, state) or error; providers add fields (iss, session_state, …). */
const OidcCallbackQuerySchema = z.object({
  state: z.string().max(256).optional(),
  code: z.string().max(4096).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(2048).optional(),
});

/**
 * The browser side of single sign-on. Everything but the step-up start is anonymous by nature
 * (the browser arrives from the identity provider); the service audits each outcome itself,
 * refusals with their reason, and a refused flow lands on the sign-in page (or the step-up's
 * page) with `sso_error=<reason>` rather than a JSON error the browser would just display.
 */
@ApiTags('auth')
@Controller('auth/sso')
export class SsoController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly login: SsoLoginService,
    private readonly providers: SsoProviders,
    private readonly saml: SamlProtocol,
  ) {}

  @Get('providers')
  @ApiSummary('The identity providers the sign-in page offers')
  @Public()
  @ZodResponse(200, SsoSignInOptionsSchema)
  options() {
    return this.login.signInOptions();
  }

  @Get(':id/login')
  @ApiSummary('Start signing in at an identity provider (a redirect)', {
    ok: { status: 302, description: 'to the identity provider (a refusal: 303 to the sign-in page with sso_error)' },
    errors: ['VALIDATION_FAILED', 'RATE_LIMITED', 'SSO_NOT_CONFIGURED', 'SERVICE_UNAVAILABLE'],
  })
  @Public()
  async start(
    @ZodParams(IdParamSchema) params: z.infer<typeof IdParamSchema>,
    @ZodQuery(SsoLoginQuerySchema) query: z.infer<typeof SsoLoginQuerySchema>,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    try {
      const started = await this.login.start(params.id, query.returnTo ?? '/', clientOf(request));
      this.setBinding(reply, started.browserBinding);
      return reply.redirect(started.redirectUrl, 302);
    } catch (error) {
      return this.refused(error, params.id, { purpose: 'login', returnTo: '/' }, reply);
    }
  }

  @Post('saml/:id/acs')
  @ApiSummary('SAML assertion consumer service (HTTP-POST binding)', {
    ok: { status: 303, description: 'to the console: signed in, or the sign-in page with sso_error=<reason>' },
    errors: ['VALIDATION_FAILED', 'UNSUPPORTED_MEDIA_TYPE', 'RATE_LIMITED', 'SSO_NOT_CONFIGURED', 'SERVICE_UNAVAILABLE'],
  })
  @HttpCode(303)
  @Public()
  @NotAudited('the SSO login service audits every outcome itself, refusals with their reason (api/src/sso/sso-login.service.ts)')
  // The reply (cookies, redirect) is sent from the handler: the login must have committed by then,
  // or the browser's next request finds no session. The service opens its own transactions.
  @OwnTransaction('the login commits before the redirect is sent (SsoLoginService opens its own transactions)')
  async acs(
    @ZodParams(IdParamSchema) params: z.infer<typeof IdParamSchema>,
    @ZodBody(SamlPostSchema) body: z.infer<typeof SamlPostSchema>,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    try {
      return this.succeeded(await this.login.completeSaml(params.id, body.SAMLResponse, body.RelayState, clientOf(request)), reply);
    } catch (error) {
      return this.refused(error, params.id, { purpose: 'login', returnTo: '/' }, reply);
    }
  }

  @Get('oidc/:id/callback')
  @ApiSummary('OpenID Connect redirect URI', {
    ok: { status: 303, description: 'to the console: signed in, or the sign-in page with sso_error=<reason>' },
    errors: ['VALIDATION_FAILED', 'RATE_LIMITED', 'SSO_NOT_CONFIGURED', 'SERVICE_UNAVAILABLE'],
  })
  @Public()
  async callback(
    @ZodParams(IdParamSchema) params: z.infer<typeof IdParamSchema>,
    @ZodQuery(OidcCallbackQuerySchema) _query: z.infer<typeof OidcCallbackQuerySchema>,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    // The raw query goes to the protocol code: the ID token checks need exactly what the IdP sent.
    const search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
    const binding = request.cookies[BINDING_COOKIE];
    reply.clearCookie(BINDING_COOKIE, { path: BINDING_PATH });
    try {
      return this.succeeded(await this.login.completeOidc(params.id, search, binding, clientOf(request)), reply);
    } catch (error) {
      return this.refused(error, params.id, { purpose: 'login', returnTo: '/' }, reply);
    }
  }

  @Get('saml/:id/metadata')
  @ApiSummary('SAML service provider metadata', {
    ok: { status: 200, description: 'EntityDescriptor XML' },
    errors: ['SSO_PROVIDER_NOT_FOUND'],
  })
  @ApiProduces('application/samlmetadata+xml')
  @Public()
  async metadata(@ZodParams(IdParamSchema) params: z.infer<typeof IdParamSchema>, @Res() reply: FastifyReply) {
    const provider = await this.providers.find(params.id);
    if (!provider || provider.protocol !== 'saml')
      throw new AppError('SSO_PROVIDER_NOT_FOUND', `no SAML identity provider with id ${params.id}`);
    const xml = await this.saml.serviceProviderMetadata(this.providers.samlConfig(provider));
    return reply.header('content-type', 'application/samlmetadata+xml; charset=utf-8').header('cache-control', 'no-cache').send(xml);
  }

  /** A critical action is coming: re-authenticate at the session's identity provider. */
  @Post('step-up')
  @ApiSummary('Start an SSO step-up (re-authentication at the identity provider)', {
    errors: ['AUTH_PASSWORD_STEP_UP', 'SSO_PROVIDER_NOT_FOUND', 'SSO_NOT_CONFIGURED', 'RATE_LIMITED'],
  })
  @HttpCode(200)
  @Authenticated()
  @Audited('auth.sso_step_up_start', 'session')
  @ZodResponse(200, SsoRedirectSchema, 'navigate the browser there; it comes back to returnTo')
  async stepUp(
    @ZodBody(SsoStepUpRequestSchema) body: z.infer<typeof SsoStepUpRequestSchema>,
    @CurrentActor() actor: Actor,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    try {
      const started = await this.login.start(actor.ssoProviderId ?? '', body.returnTo ?? '/', clientOf(request), actor);
      this.setBinding(reply, started.browserBinding);
      return { redirectUrl: started.redirectUrl };
    } catch (error) {
      // The provider was deleted or disabled since the session began.
      if (error instanceof SsoFailure) throw new AppError('SSO_PROVIDER_NOT_FOUND', error.detail);
      throw error;
    }
  }

  private setBinding(reply: FastifyReply, binding: string | null): void {
    if (!binding) return;
    reply.setCookie(BINDING_COOKIE, binding, {
      httpOnly: true,
      secure: this.config.API_COOKIE_SECURE,
      // Lax: the IdP's redirect back is a top-level cross-site GET, which Lax cookies accompany.
      sameSite: 'lax',
      path: BINDING_PATH,
      maxAge: SSO_PENDING_TTL_SECONDS,
    });
  }

  private succeeded(outcome: SsoOutcome, reply: FastifyReply) {
    if (outcome.kind === 'login') setSessionCookies(reply, this.config, outcome.tokens);
    return reply.redirect(this.providers.consoleUrl(outcome.returnTo), 303);
  }

  private async refused(
    error: unknown,
    providerId: string,
    fallback: { purpose: 'login' | 'step-up'; returnTo: string },
    reply: FastifyReply,
  ) {
    const flow = error instanceof RefusedFlow ? error : error instanceof SsoFailure ? new RefusedFlow(error, fallback) : null;
    if (!flow) throw error;
    await this.login.recordRefusal(flow.failure, providerId, flow.refusal);
    const reason = encodeURIComponent(flow.failure.reason);
    const target =
      flow.refusal.purpose === 'step-up'
        ? `${flow.refusal.returnTo}${flow.refusal.returnTo.includes('?') ? '&' : '?'}sso_error=${reason}`
        : `/sign-in?sso_error=${reason}`;
    return reply.redirect(this.providers.consoleUrl(target), 303);
  }
}
