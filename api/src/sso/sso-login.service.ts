import { Inject, Injectable } from '@nestjs/common';
import { EmailSchema, type Role, type SessionTokens, type SsoSignInOptions } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import type { Actor } from '../common/context/request-context.js';
import { randomToken, sha256Hex } from '../common/crypto/secrets.js';
import { Database } from '../db/database.js';
import { RateLimiter } from '../redis/rate-limiter.js';
import { AuditService } from '../audit/audit.service.js';
import { AccountsService, type Account, type AccountIdentity } from '../auth/accounts.service.js';
import { SessionIssuer, type ClientInfo } from '../auth/session-issuer.js';
import { SessionsService } from '../auth/sessions.service.js';
import { SecuritySettingsService } from '../settings/security-settings.service.js';
import type { IdentityProviderEntity } from './identity-provider.entity.js';
import { OidcProtocol } from './oidc/oidc-protocol.js';
import { emailDomainAllowed, roleForGroups } from './role-mapping.js';
import { SamlProtocol } from './saml/saml-protocol.js';
import { SsoFailure, type SsoAssertion } from './sso-assertion.js';
import { SsoProviders } from './sso-providers.service.js';
import { SsoStateStore, type SsoPendingLogin } from './sso-state.store.js';

export interface SsoStart {
  redirectUrl: string;
  /** OIDC: the value of the browser-binding cookie the callback must bring back. */
  browserBinding: string | null;
}

/** A finished flow: a new session (login) or a refreshed step-up, and where the browser goes. */
export type SsoOutcome = { kind: 'login'; tokens: SessionTokens; returnTo: string } | { kind: 'step-up'; returnTo: string };

/** What a refused flow needs for its redirect: which page shows the reason. */
export interface SsoRefusal {
  purpose: 'login' | 'step-up';
  returnTo: string;
}

/**
 * The SSO sign-in and step-up flows: start at the identity provider, verify its answer through
 * the protocol code (SamlProtocol, OidcProtocol), then map the identity to an account (by the
 * IdP's subject, never the e-mail), its role (the first matching group rule; none = no access)
 * and a session. Every outcome is audited; a refusal with its reason.
 */
@Injectable()
export class SsoLoginService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly providers: SsoProviders,
    private readonly state: SsoStateStore,
    private readonly saml: SamlProtocol,
    private readonly oidc: OidcProtocol,
    private readonly accounts: AccountsService,
    private readonly issuer: SessionIssuer,
    private readonly sessions: SessionsService,
    private readonly settings: SecuritySettingsService,
    private readonly audit: AuditService,
    private readonly db: Database,
    private readonly rateLimiter: RateLimiter,
  ) {}

  async signInOptions(): Promise<SsoSignInOptions> {
    const providers = await this.providers.listEnabled();
    return {
      providers: providers.map((p) => ({ id: p.id, name: p.name, protocol: p.protocol, preset: p.preset })),
      ssoRequired: (await this.settings.get()).ssoRequired,
    };
  }

  /** A sign-in (anonymous) or a step-up (`actor`, an SSO session): the URL at the identity provider. */
  async start(providerId: string, returnTo: string, client: ClientInfo, actor?: Actor): Promise<SsoStart> {
    await this.limitPerIp(client.ip);
    const purpose = actor ? 'step-up' : 'login';
    if (actor) {
      if (actor.authMethod !== 'sso' || !actor.ssoProviderId) throw new AppError('AUTH_PASSWORD_STEP_UP');
      providerId = actor.ssoProviderId;
    }
    const provider = await this.requireEnabled(providerId);
    const stateKey = randomToken(32);
    const pending: SsoPendingLogin = {
      providerId: provider.id,
      protocol: provider.protocol,
      purpose,
      returnTo,
      startedAt: Date.now(),
      ...(actor ? { sessionId: actor.sessionId, userId: actor.userId } : {}),
    };
    if (provider.protocol === 'saml') {
      const { url, requestId } = await this.saml.loginRedirect(this.providers.samlConfig(provider), {
        relayState: stateKey,
        forceAuthn: purpose === 'step-up',
      });
      await this.state.put(stateKey, { ...pending, samlRequestId: requestId });
      return { redirectUrl: url, browserBinding: null };
    }
    const nonce = randomToken(32);
    const codeVerifier = randomToken(48);
    const browserBinding = randomToken(32);
    const url = await this.oidc.authorizationUrl(this.providers.oidcConfig(provider), {
      state: stateKey,
      nonce,
      codeVerifier,
      reauthenticate: purpose === 'step-up',
    });
    await this.state.put(stateKey, { ...pending, nonce, codeVerifier, browserBindingHash: sha256Hex(browserBinding) });
    return { redirectUrl: url, browserBinding };
  }

  /** The SAML assertion consumer: RelayState names the pending login, whose request id the response must answer. */
  async completeSaml(providerId: string, samlResponse: string, relayState: string, client: ClientInfo): Promise<SsoOutcome> {
    await this.limitPerIp(client.ip);
    const pending = await this.takePending(relayState, providerId, 'unknown_request');
    return this.guarded(pending, async () => {
      const provider = await this.requireEnabled(providerId);
      const assertion = await this.saml.consume(this.providers.samlConfig(provider), samlResponse, pending.samlRequestId ?? '');
      return this.finish(provider, pending, assertion, client);
    });
  }

  /** The OIDC redirect: `state` names the pending login, and the browser must bring the binding cookie it was given. */
  async completeOidc(providerId: string, query: string, browserBinding: string | undefined, client: ClientInfo): Promise<SsoOutcome> {
    await this.limitPerIp(client.ip);
    const params = new URLSearchParams(query);
    const pending = await this.takePending(params.get('state') ?? '', providerId, 'state_mismatch');
    return this.guarded(pending, async () => {
      if (!browserBinding || sha256Hex(browserBinding) !== pending.browserBindingHash) {
        throw new SsoFailure('state_mismatch', 'the callback came without the browser-binding cookie of the sign-in it names');
      }
      const provider = await this.requireEnabled(providerId);
      const config = this.providers.oidcConfig(provider);
      const callbackUrl = new URL(config.sp.redirectUri);
      callbackUrl.search = params.toString();
      const assertion = await this.oidc.callback(config, callbackUrl, {
        state: params.get('state') ?? '',
        nonce: pending.nonce ?? '',
        codeVerifier: pending.codeVerifier ?? '',
        reauthenticate: pending.purpose === 'step-up',
      });
      return this.finish(provider, pending, assertion, client);
    });
  }

  /** Audits a refusal (in its own transaction: nothing else of the flow is kept) and says where the browser goes. */
  async recordRefusal(failure: SsoFailure, providerId: string, refusal: SsoRefusal): Promise<void> {
    await this.audit.appendDetached({
      action: refusal.purpose === 'step-up' ? 'auth.sso_step_up' : 'auth.sso_login',
      resourceType: 'identity_provider',
      resourceId: providerId,
      result: 'failure',
      errorMessage: `${failure.reason}: ${failure.detail}`.slice(0, 500),
      details: { reason: failure.reason, detail: failure.detail.slice(0, 500), providerId },
    });
  }

  private async takePending(stateKey: string, providerId: string, reason: 'unknown_request' | 'state_mismatch'): Promise<SsoPendingLogin> {
    const pending = await this.state.take(stateKey);
    if (!pending) {
      throw new RefusedFlow(new SsoFailure(reason, 'no sign-in started here is waiting for this answer (unknown, used or expired)'), {
        purpose: 'login',
        returnTo: '/',
      });
    }
    if (pending.providerId !== providerId) {
      throw new RefusedFlow(new SsoFailure(reason, 'the answer arrived for another identity provider than the sign-in started with'), {
        purpose: pending.purpose,
        returnTo: pending.returnTo,
      });
    }
    return pending;
  }

  /** Turns an SsoFailure of the flow into a RefusedFlow that knows the purpose and return path. */
  private async guarded(pending: SsoPendingLogin, run: () => Promise<SsoOutcome>): Promise<SsoOutcome> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof SsoFailure) throw new RefusedFlow(error, { purpose: pending.purpose, returnTo: pending.returnTo });
      throw error;
    }
  }

  private async requireEnabled(id: string): Promise<IdentityProviderEntity> {
    const provider = await this.providers.find(id);
    if (!provider) throw new SsoFailure('provider_unknown', `no identity provider ${id}`);
    if (!provider.enabled) throw new SsoFailure('provider_disabled', `identity provider ${provider.name} is disabled`);
    return provider;
  }

  private async finish(
    provider: IdentityProviderEntity,
    pending: SsoPendingLogin,
    assertion: SsoAssertion,
    client: ClientInfo,
  ): Promise<SsoOutcome> {
    const parsedEmail = EmailSchema.safeParse(assertion.email ?? '');
    if (!parsedEmail.success) throw new SsoFailure('email_missing', 'the identity provider sent no valid e-mail address');
    const email = parsedEmail.data;
    if (!emailDomainAllowed(email, provider.allowedEmailDomains)) {
      throw new SsoFailure('domain_refused', `${email.slice(email.lastIndexOf('@') + 1)} is not one of the provider's allowed domains`);
    }
    if (pending.purpose === 'step-up') return this.finishStepUp(provider, pending, assertion);
    return this.db.transaction(async (manager) => {
      const { account, identity, jit, roleChangedFrom } = await this.accountFor(provider, assertion, email);
      await this.accounts.recordSsoLogin(identity.id, account.id, email);
      const skewMs = this.config.API_SSO_CLOCK_SKEW_SECONDS * 1000;
      // A login that proved a second factor just now counts as a step-up, as a TOTP login does.
      const freshMfa =
        assertion.mfa === true && assertion.authenticatedAt !== null && assertion.authenticatedAt.getTime() >= pending.startedAt - skewMs;
      const tokens = await this.issuer.issue(
        {
          userId: account.id,
          email: account.email,
          totpEnabled: account.totpEnabled,
          stepUpAt: freshMfa ? new Date() : null,
          sso: { providerId: provider.id, maxAgeSeconds: provider.sessionMaxSeconds },
        },
        client,
      );
      await this.audit.append(manager, {
        action: 'auth.sso_login',
        resourceType: 'user',
        resourceId: account.id,
        userId: account.id,
        userEmail: account.email,
        result: 'success',
        details: {
          providerId: provider.id,
          providerName: provider.name,
          role: account.role,
          jit,
          ...(roleChangedFrom ? { roleChangedFrom } : {}),
          mfa: assertion.mfa,
          stepUp: freshMfa,
        },
      });
      return { kind: 'login' as const, tokens, returnTo: pending.returnTo };
    });
  }

  /** The linked account (its role re-evaluated from the groups), or a new one; refusals for everything else. */
  private async accountFor(
    provider: IdentityProviderEntity,
    assertion: SsoAssertion,
    email: string,
  ): Promise<{ account: Account; identity: AccountIdentity; jit: boolean; roleChangedFrom: Role | null }> {
    const mapped = roleForGroups(provider.roleRules, assertion.groups);
    if (!mapped) {
      throw new SsoFailure('unknown_group', `none of the ${assertion.groups.length} group value(s) sent matches a role rule`);
    }
    const linked = await this.accounts.findBySsoIdentity(provider.id, assertion.subject);
    if (linked) {
      if (linked.account.status !== 'active') throw new SsoFailure('user_disabled', `${linked.account.email} is disabled`);
      if (linked.account.role === mapped.role) return { ...linked, jit: false, roleChangedFrom: null };
      await this.accounts.update(linked.account.id, { role: mapped.role });
      await this.auditDirect('auth.sso_role_changed', linked.account, {
        providerId: provider.id,
        from: linked.account.role,
        to: mapped.role,
        matchedRule: mapped.matchedRule,
      });
      return {
        account: { ...linked.account, role: mapped.role },
        identity: linked.identity,
        jit: false,
        roleChangedFrom: linked.account.role,
      };
    }
    if (await this.accounts.findByEmail(email)) {
      throw new SsoFailure('email_taken', `${email} has an account not linked to this identity; an administrator must link it`);
    }
    const displayName = (assertion.displayName ?? '').trim().slice(0, 120) || email;
    const created = await this.accounts.createSsoAccount({
      email,
      displayName: /^[^\p{Cc}]*$/u.test(displayName) ? displayName : email,
      role: mapped.role,
      providerId: provider.id,
      subject: assertion.subject,
    });
    await this.auditDirect('auth.sso_user_created', created.account, {
      providerId: provider.id,
      role: mapped.role,
      matchedRule: mapped.matchedRule,
    });
    return { ...created, jit: true, roleChangedFrom: null };
  }

  private async finishStepUp(provider: IdentityProviderEntity, pending: SsoPendingLogin, assertion: SsoAssertion): Promise<SsoOutcome> {
    const linked = await this.accounts.findBySsoIdentity(provider.id, assertion.subject);
    if (!linked || linked.account.id !== pending.userId) {
      throw new SsoFailure('subject_mismatch', 'the identity provider authenticated another user than the one signed in');
    }
    const skewMs = this.config.API_SSO_CLOCK_SKEW_SECONDS * 1000;
    if (!assertion.authenticatedAt || assertion.authenticatedAt.getTime() < pending.startedAt - skewMs) {
      throw new SsoFailure('reauth_missing', 'the identity provider reused an earlier authentication instead of asking again');
    }
    if (assertion.mfa === false) throw new SsoFailure('mfa_missing', 'the re-authentication did not use a second factor');
    const at = new Date();
    await this.db.transaction(async (manager) => {
      await this.sessions.setStepUp(pending.sessionId!, at);
      await this.audit.append(manager, {
        action: 'auth.sso_step_up',
        resourceType: 'session',
        resourceId: pending.sessionId!,
        userId: linked.account.id,
        userEmail: linked.account.email,
        result: 'success',
        details: { providerId: provider.id, mfa: assertion.mfa },
      });
    });
    return { kind: 'step-up', returnTo: pending.returnTo };
  }

  private auditDirect(action: string, account: Account, details: Record<string, unknown>): Promise<void> {
    return this.audit.append(this.db.manager(), {
      action,
      resourceType: 'user',
      resourceId: account.id,
      userId: account.id,
      userEmail: account.email,
      result: 'success',
      details,
    });
  }

  /** SSO starts and answers cost Redis entries and signature checks: the login budget per address applies. */
  private limitPerIp(ip: string | null): Promise<void> {
    if (!ip) return Promise.resolve();
    return this.rateLimiter.consume(
      'sso',
      ip,
      this.config.API_LOGIN_RATE_LIMIT_PER_IP * 2,
      300,
      'too many sign-in attempts from this address: wait a few minutes',
    );
  }
}

/** A refused flow: the failure plus where its browser goes (the sign-in page, or the step-up's page). */
export class RefusedFlow extends Error {
  constructor(
    readonly failure: SsoFailure,
    readonly refusal: SsoRefusal,
  ) {
    super(failure.message);
    this.name = 'RefusedFlow';
  }
}
