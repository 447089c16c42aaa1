import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT, type JWK } from 'jose';
// @ts-expect-error oidc-provider 9 ships no type declarations
import Provider from 'oidc-provider';
// @ts-expect-error the package's own in-memory adapter (per provider instance here), untyped
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

/**
 * A real OpenID provider (`oidc-provider` 9) on 127.0.0.1 for tests: one confidential client
 * (PKCE S256 required), accounts the test sets and may change between logins, and a login page
 * of its own (a username field and a submit button) that a browser (Playwright) or
 * `IdpBrowser` fills in. prompt=login and max_age are honoured by oidc-provider itself.
 */

/** One user at the provider; `username` is what is typed in the login form. */
export interface TestOidcAccount {
  sub: string;
  email?: string;
  emailVerified?: boolean;
  name?: string;
  groups?: string[];
  /** How the login form "authenticated" the user, as the ID token's amr / acr say it. */
  amr?: string[];
  acr?: string;
  /** Google Workspace hosted domain, Entra ID tenant. */
  hd?: string;
  tid?: string;
  /** Login time reported as auth_time, relative to the real one (negative = a provider that reuses an old login). */
  authTimeOffsetSeconds?: number;
}

/** Changes the next token response's ID token (ID token checks); `resign` false keeps the old signature. */
export interface IdTokenTamper {
  claims?: (claims: Record<string, unknown>) => void;
  resign: boolean;
}

export interface TestOidcProviderOptions {
  clientId?: string;
  clientSecret?: string;
  redirectUris?: string[];
  /** E-mail and name only from the UserInfo endpoint, not in the ID token (OpenID Connect Core §5.4, as Okta does). */
  profileInUserInfoOnly?: boolean;
}

export class TestOidcProvider {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Redirect URIs the client may use; settable once the API's provider id is known. */
  redirectUris: string[];
  /** Usernames that were shown the login form (a login prompt), in order. */
  readonly prompts: string[] = [];
  /** The authorization requests' query parameters, in order. */
  readonly authorizationRequests: URLSearchParams[] = [];
  /** Applied to the next token response only. */
  tamperNextIdToken: IdTokenTamper | null = null;
  private readonly accounts = new Map<string, TestOidcAccount>();

  private constructor(
    private readonly server: Server,
    readonly issuer: string,
    private readonly provider: any,
    private readonly signingJwk: JWK,
    options: TestOidcProviderOptions,
  ) {
    this.clientId = options.clientId ?? 'xspectre-console';
    this.clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
    this.redirectUris = options.redirectUris ?? [];
  }

  static async start(options: TestOidcProviderOptions = {}): Promise<TestOidcProvider> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signingJwk = {
      ...privateKey.export({ format: 'jwk' }),
      kid: `test-${randomBytes(4).toString('hex')}`,
      alg: 'RS256',
      use: 'sig',
    } as JWK;
    let self: TestOidcProvider | null = null;
    const memory = createMemoryAdapter(0);
    const provider = new Provider(issuer, {
      // The client is looked up at every request, so redirect URIs set after start count.
      adapter: (model: string) =>
        model === 'Client'
          ? {
              find: async (id: string) =>
                self && id === self.clientId
                  ? {
                      client_id: self.clientId,
                      client_secret: self.clientSecret,
                      redirect_uris: self.redirectUris,
                      token_endpoint_auth_method: 'client_secret_basic',
                    }
                  : undefined,
            }
          : memory(model),
      jwks: { keys: [signingJwk] },
      cookies: { keys: [randomBytes(32).toString('hex')] },
      pkce: { required: () => true },
      // Claims of the requested scopes go into the ID token, as Entra ID and Google put them; a claim
      // is only issued when a granted scope lists it (hence auth_time, amr and acr under openid).
      conformIdTokenClaims: options.profileInUserInfoOnly === true,
      claims: {
        amr: null,
        acr: null,
        openid: ['sub', 'auth_time', 'amr', 'acr', 'groups', 'hd', 'tid'],
        email: ['email', 'email_verified'],
        profile: ['name'],
      },
      acrValues: ['urn:test:mfa', 'urn:test:password'],
      features: { devInteractions: { enabled: false } },
      interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
      // First-party client: consent is implied (a grant of what was asked).
      loadExistingGrant: async (ctx: any) => {
        const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
        grant.addOIDCScope(ctx.oidc.params.scope ?? 'openid');
        await grant.save();
        return grant;
      },
      findAccount: async (_ctx: unknown, id: string) => {
        const account = self?.accountBySub(id);
        if (!account) return undefined;
        return {
          accountId: id,
          claims: async () => ({
            sub: account.sub,
            ...(account.email !== undefined ? { email: account.email, email_verified: account.emailVerified ?? true } : {}),
            ...(account.name !== undefined ? { name: account.name } : {}),
            ...(account.groups !== undefined ? { groups: account.groups } : {}),
            ...(account.hd !== undefined ? { hd: account.hd } : {}),
            ...(account.tid !== undefined ? { tid: account.tid } : {}),
          }),
        };
      },
      ttl: { Session: 3600, Interaction: 600, Grant: 3600, AccessToken: 300, AuthorizationCode: 60, IdToken: 300 },
    });
    provider.proxy = false;
    const created = new TestOidcProvider(server, issuer, provider, signingJwk, options);
    self = created;
    provider.use(async (ctx: any, next: () => Promise<void>) => {
      if (ctx.path === '/auth' && ctx.method === 'GET') created.authorizationRequests.push(new URLSearchParams(ctx.querystring));
      await next();
      if (ctx.path === '/token' && ctx.status === 200 && created.tamperNextIdToken && ctx.body?.id_token) {
        const tamper = created.tamperNextIdToken;
        created.tamperNextIdToken = null;
        ctx.body = { ...ctx.body, id_token: await created.tampered(ctx.body.id_token, tamper) };
      }
    });
    const callback = provider.callback();
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const path = new URL(req.url ?? '/', issuer).pathname;
      const interaction = /^\/interaction\/([\w-]+)(\/login)?$/.exec(path);
      if (!interaction) return callback(req, res);
      created.interaction(req, res, interaction[2] !== undefined).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`interaction failed: ${error instanceof Error ? error.message : String(error)}`);
      });
    });
    return created;
  }

  /** Adds or replaces the account signed in as `username`; changes apply from the next login. */
  setAccount(username: string, account: TestOidcAccount): void {
    this.accounts.set(username, account);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accountBySub(sub: string): TestOidcAccount | undefined {
    return [...this.accounts.values()].find((a) => a.sub === sub);
  }

  /** GET: the login form. POST …/login: a known username finishes the interaction as that account. */
  private async interaction(req: IncomingMessage, res: ServerResponse, submitted: boolean): Promise<void> {
    const details = await this.provider.interactionDetails(req, res);
    if (!submitted) {
      const message = details.prompt.name === 'login' ? 'Sign in to the test provider' : `Unexpected prompt ${details.prompt.name}`;
      return this.page(res, details.uid, message);
    }
    const form = new URLSearchParams(await readBody(req));
    if (form.get('cancel')) {
      // The user gave up: the client gets error=access_denied.
      return this.provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'the user cancelled the sign-in' },
        { mergeWithLastSubmission: false },
      );
    }
    const username = form.get('username') ?? '';
    const account = this.accounts.get(username);
    if (!account) return this.page(res, details.uid, `Unknown user ${username}`);
    this.prompts.push(username);
    const ts = Math.floor(Date.now() / 1000) + (account.authTimeOffsetSeconds ?? 0);
    await this.provider.interactionFinished(
      req,
      res,
      { login: { accountId: account.sub, ts, ...(account.amr ? { amr: account.amr } : {}), ...(account.acr ? { acr: account.acr } : {}) } },
      { mergeWithLastSubmission: false },
    );
  }

  private page(res: ServerResponse, uid: string, message: string): void {
    const safe = message.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><html><head><title>Test OpenID provider</title></head><body><h1>${safe}</h1>` +
        `<form method="post" action="/interaction/${uid}/login">` +
        `<label>Username <input name="username" autofocus></label> <button type="submit">Sign in</button> <button type="submit" name="cancel" value="1">Cancel</button>` +
        `</form></body></html>`,
    );
  }

  private async tampered(idToken: string, tamper: IdTokenTamper): Promise<string> {
    const claims = decodeJwt(idToken) as Record<string, unknown>;
    tamper.claims?.(claims);
    if (tamper.resign) {
      const key = await importJWK(this.signingJwk, 'RS256');
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: this.signingJwk.kid!, typ: decodeProtectedHeader(idToken).typ })
        .sign(key);
    }
    // Same header and signature, other claims: the signature no longer verifies.
    const [header, , signature] = idToken.split('.');
    return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
  }
}

function unescapeHtml(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 64 * 1024) throw new Error('form too large');
  }
  return body;
}

/**
 * A browser without a browser, for API tests: keeps the identity provider's cookies, follows its
 * redirects, submits the login form when shown, and stops at the first redirect that leaves the
 * provider (the callback to the API), which it returns unvisited.
 */
export class IdpBrowser {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly provider: TestOidcProvider) {}

  /** From the authorization URL to the callback URL; `prompted` = the login form was submitted (`cancel`: with its Cancel button). */
  async signIn(
    authorizationUrl: string,
    username: string,
    options: { cancel?: boolean } = {},
  ): Promise<{ callbackUrl: string; prompted: boolean }> {
    const origin = new URL(this.provider.issuer).origin;
    let url = authorizationUrl;
    let prompted = false;
    for (let hop = 0; hop < 12; hop++) {
      if (new URL(url).origin !== origin) return { callbackUrl: url, prompted };
      let response = await this.fetch(url);
      if (response.status === 200) {
        const body = await response.text();
        const form = /<form method="post" action="([^"]+)"/.exec(body);
        if (body.includes('name="username"') && form) {
          // The login form.
          response = await this.fetch(
            new URL(unescapeHtml(form[1]!), url).href,
            new URLSearchParams(options.cancel ? { cancel: '1' } : { username }),
          );
          prompted = true;
        } else if (form && body.includes('document.forms[0].submit()')) {
          // oidc-provider's self-submitting forms (e.g. ending the session of another user first).
          const inputs = [...body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)].map(([, k, v]): [string, string] => [
            k!,
            unescapeHtml(v!),
          ]);
          response = await this.fetch(new URL(unescapeHtml(form[1]!), url).href, new URLSearchParams(inputs));
        } else {
          throw new Error(`the provider showed a page without a form at ${url}: ${body.slice(0, 300)}`);
        }
      }
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) {
        throw new Error(`the provider answered ${response.status} at ${url}: ${(await response.text()).slice(0, 300)}`);
      }
      await response.body?.cancel();
      url = new URL(location, url).href;
    }
    throw new Error('too many redirects at the provider');
  }

  /** Forgets the provider session (a new browser). */
  clear(): void {
    this.cookies.clear();
  }

  private async fetch(url: string, form?: URLSearchParams): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, { method: form ? 'POST' : 'GET', headers, body: form?.toString(), redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()),
      );
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }
}
