import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import Provider from 'oidc-provider';

/** A real OpenID Provider (panva/oidc-provider) on loopback, with knobs for the attacks the tests need. */
export interface TestProvider {
  readonly issuer: string;
  readonly port: number;
  /** Token endpoint calls seen: proves a refused callback never redeemed its code. */
  tokenRequests: number;
  /**
   * Rewrites the ID token's claims at the token endpoint and re-signs it with the
   * provider's own key (or `foreignKey`): an IdP gone wrong, seen through a valid signature.
   */
  rewriteIdToken: ((claims: Record<string, unknown>) => Record<string, unknown>) | undefined;
  signWithForeignKey: boolean;
  /**
   * How the next logins authenticated, as the provider records it in its session and so
   * in the ID token's acr and amr claims (RFC 8176): e.g. { amr: ['pwd', 'otp', 'mfa'] }.
   */
  loginAuthn: { acr?: string; amr?: string[] } | undefined;
  /** Runs the browser side of the authorization request; resolves with the callback URL the IdP sent the browser to. */
  authorize(authorizationUrl: string, account: string, opts?: { abort?: boolean }): Promise<URL>;
  close(): Promise<void>;
}

export interface ProviderOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  /** Account id -> claims (sub is added). */
  readonly accounts: Record<string, Record<string, unknown>>;
  /**
   * true (the default): scope claims go into the ID token, as Entra ID, Okta and Keycloak
   * do. false: the spec's default for the code flow, claims only at userinfo.
   */
  readonly claimsInIdToken?: boolean;
  /** Listen on this port (a provider that comes up after the gateway). */
  readonly port?: number;
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function rsaKey(kid: string): { privateKey: KeyObject; jwk: Record<string, unknown> } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, jwk: { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
}

function resign(jwt: string, key: KeyObject, edit: (c: Record<string, unknown>) => Record<string, unknown>): string {
  const [header = '', payload = ''] = jwt.split('.');
  const claims = edit(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>);
  const body = `${header}.${b64(JSON.stringify(claims))}`;
  return `${body}.${b64(sign('sha256', Buffer.from(body), key))}`;
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on right now (for an IdP that is down, then comes up). */
export { freePort } from '../helpers/fixture.js';

class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const gone = attrs.some((a) => /^\s*expires=thu, 01 jan 1970/i.test(a) || /^\s*max-age=0\s*$/i.test(a));
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1).trim());
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export async function startProvider(opts: ProviderOptions): Promise<TestProvider> {
  const server = createServer();
  const port = await listen(server, opts.port ?? 0);
  const issuer = `http://127.0.0.1:${port}`;
  const own = rsaKey('k1');
  const foreign = rsaKey('k1');

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: opts.clientId,
        client_secret: opts.clientSecret,
        redirect_uris: [opts.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [own.jwk] },
    cookies: { keys: ['oidc-provider-test-cookie-key'] },
    async findAccount(_ctx: unknown, id: string) {
      const claims = opts.accounts[id];
      if (!claims) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
    },
    // acr and amr with the openid scope: the provider then puts the session's (loginAuthn below) into every ID token.
    claims: {
      openid: ['sub', 'acr', 'amr'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    features: { devInteractions: { enabled: true } },
    acrValues: ['urn:test:loa:password', 'http://schemas.openid.net/pape/policies/2007/06/multi-factor', 'urn:test:loa:2fa'],
    pkce: { required: () => true },
    conformIdTokenClaims: opts.claimsInIdToken === false,
    ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Interaction: 300, Session: 600, Grant: 600 },
  });

  const state: TestProvider = {
    issuer,
    port,
    tokenRequests: 0,
    rewriteIdToken: undefined,
    signWithForeignKey: false,
    loginAuthn: undefined,
    async authorize(authorizationUrl, account, o = {}) {
      const jar = new CookieJar();
      let next: { url: URL; form?: Record<string, string> } = { url: new URL(authorizationUrl) };
      for (let step = 0; step < 20; step++) {
        const res = await fetch(next.url, {
          method: next.form ? 'POST' : 'GET',
          redirect: 'manual',
          headers: { cookie: jar.header(), ...(next.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
          ...(next.form ? { body: new URLSearchParams(next.form).toString() } : {}),
        });
        jar.take(res);
        const location = res.headers.get('location');
        if (location) {
          const to = new URL(location, next.url);
          if (to.href.startsWith(opts.redirectUri)) return to;
          next = { url: to };
          continue;
        }
        const html = await res.text();
        const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
        const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
        if (!action || !prompt) throw new Error(`provider page without a form (HTTP ${res.status}): ${html.slice(0, 300)}`);
        if (prompt === 'login' && o.abort) {
          const abort = /href="([^"]*\/abort)"/.exec(html)?.[1];
          if (!abort) throw new Error('no abort link on the login page');
          next = { url: new URL(abort, next.url) };
        } else {
          next = { url: new URL(action, next.url), form: prompt === 'login' ? { prompt, login: account, password: 'any' } : { prompt } };
        }
      }
      throw new Error('authorization did not reach the redirect URI');
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  // The dev login form records only the account; acr and amr come from here, into the
  // provider's own session, so they reach the ID token the provider signs.
  const finished = provider.interactionFinished.bind(provider);
  provider.interactionFinished = (req, res, result, options) =>
    finished(req, res, result.login && state.loginAuthn ? { ...result, login: { ...result.login, ...state.loginAuthn } } : result, options);

  provider.use(async (ctx, next) => {
    if (ctx.path === '/token') state.tokenRequests++;
    await next();
    const body = ctx.body as { id_token?: unknown } | undefined;
    if (ctx.path !== '/token' || typeof body?.id_token !== 'string') return;
    if (state.rewriteIdToken || state.signWithForeignKey) {
      body.id_token = resign(
        body.id_token,
        state.signWithForeignKey ? foreign.privateKey : own.privateKey,
        state.rewriteIdToken ?? ((c) => c),
      );
    }
  });
  server.on('request', provider.callback());
  return state;
}
