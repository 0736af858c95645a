import { PaiSsoError } from '../../errors.js';
import { assumeRoleWithSaml, DEFAULT_STS_ENDPOINT } from '../../sts/assume-role-with-saml.js';
import type { CliIo } from '../io.js';
import { systemOpener, type UrlOpener } from './browser.js';
import { isFresh, readCache, writeCache, type CachedCredentials } from './credential-cache.js';
import { deviceLogin } from './device-flow.js';
import { credentialsFile, withFileLock } from './files.js';
import { gatewayApi, GatewayRefusedError, type TokenResponse } from './gateway-api.js';
import { loopbackLogin } from './loopback-flow.js';
import { saveProfile, type Profile } from './profile.js';

// From a profile to usable STS credentials: the cache while it is fresh, else the
// gateway's refresh grant (no browser) while the gateway session lasts, else a new
// sign-in in the browser (when there is a terminal to run it from), else a clear error.

/** What the client commands may be given beyond CliIo (tests pass a browser and a signal). */
export interface ClientIo extends CliIo {
  readonly openUrl?: UrlOpener;
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

export interface ClientContext {
  readonly dir: string;
  readonly profileName: string;
  readonly profile: Profile;
  /** --sts-endpoint or PAI_SSO_STS_ENDPOINT: wins over the profile and the gateway's advice. */
  readonly stsEndpoint?: string;
  readonly io: ClientIo;
}

export class LoginRequiredError extends PaiSsoError {
  constructor(profile: string, why: string) {
    super('PAI_SSO_CLI_LOGIN_REQUIRED', 'runtime', `${why}: run \`pai-sso login --profile ${profile}\``);
  }
}

const now = (ctx: ClientContext) => (ctx.io.now ?? Date.now)();
const say = (ctx: ClientContext) => (line: string) => ctx.io.stderr.write(`${line}\n`);

/** The STS call for a token response, and the cache file written (0600). */
async function redeem(ctx: ClientContext, token: TokenResponse): Promise<CachedCredentials> {
  const endpoint = ctx.stsEndpoint ?? ctx.profile.stsEndpoint ?? token.stsEndpoint ?? DEFAULT_STS_ENDPOINT;
  const credentials = await assumeRoleWithSaml({
    endpoint,
    samlResponse: token.samlResponse,
    roleArn: token.role.roleArn,
    providerArn: token.role.providerArn,
    durationSeconds: token.durationSeconds,
  });
  const cached: CachedCredentials = {
    version: 1,
    gateway: ctx.profile.gateway,
    profile: ctx.profileName,
    role: token.role,
    durationSeconds: token.durationSeconds,
    credentials,
    refreshToken: token.refreshToken,
    refreshExpiresAt: token.refreshExpiresAt,
  };
  await writeCache(credentialsFile(ctx.dir, ctx.profileName, ctx.profile.gateway, token.role.key), cached);
  return cached;
}

/** `pai-sso login`: a new sign-in (browser or device code), then STS, cache and profile. */
export async function signIn(ctx: ClientContext, opts: { device: boolean }): Promise<CachedCredentials> {
  const api = gatewayApi(ctx.profile.gateway, ctx.io.now);
  const durationSeconds = ctx.profile.durationSeconds ?? 3600;
  const common = {
    api,
    durationSeconds,
    say: say(ctx),
    ...(ctx.profile.role !== undefined ? { role: ctx.profile.role } : {}),
    ...(ctx.io.signal ? { signal: ctx.io.signal } : {}),
  };
  const token = opts.device
    ? await deviceLogin(common)
    : await loopbackLogin({ ...common, gateway: ctx.profile.gateway, open: ctx.io.openUrl ?? systemOpener(ctx.io.env) });
  const cached = await redeem(ctx, token);
  await saveProfile(ctx.dir, ctx.profileName, {
    ...ctx.profile,
    role: token.role.key,
    ...(ctx.stsEndpoint !== undefined ? { stsEndpoint: ctx.stsEndpoint } : {}),
  });
  return cached;
}

/** `pai-sso credentials` and `credentials serve`: fresh credentials, refreshed or signed in again as needed. */
export async function currentCredentials(ctx: ClientContext, opts: { interactive: boolean }): Promise<CachedCredentials> {
  const role = ctx.profile.role;
  if (role === undefined) throw new LoginRequiredError(ctx.profileName, `profile "${ctx.profileName}" has no credentials yet`);
  const file = credentialsFile(ctx.dir, ctx.profileName, ctx.profile.gateway, role);
  const cached = await readCache(file);
  if (cached && isFresh(cached, now(ctx))) return cached;
  return withFileLock(file, async () => {
    // Another process may have refreshed while we waited for the lock.
    const current = await readCache(file);
    if (current && isFresh(current, now(ctx))) return current;
    let why = `no credentials for profile "${ctx.profileName}"`;
    if (current && current.refreshExpiresAt > now(ctx)) {
      try {
        return await redeem(ctx, await gatewayApi(ctx.profile.gateway, ctx.io.now).refresh(current.refreshToken));
      } catch (err) {
        if (!(err instanceof GatewayRefusedError)) throw err;
        why = `the gateway session behind profile "${ctx.profileName}" has ended (${err.error})`;
      }
    } else if (current) {
      why = `the gateway session behind profile "${ctx.profileName}" has ended`;
    }
    if (!opts.interactive) throw new LoginRequiredError(ctx.profileName, why);
    say(ctx)(`${why}; signing in again.`);
    return signIn(ctx, { device: false });
  });
}
