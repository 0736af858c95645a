import type { StsCredentials } from '../../sts/assume-role-with-saml.js';
import { readJson, writePrivateJson } from './files.js';
import type { GatewayRole } from './gateway-api.js';

// One cache file per gateway + profile + role (mode 0600): the STS credentials and the
// gateway's refresh token, which gets the next ones without a browser while the gateway
// session lasts.

export const REFRESH_MARGIN_MS = 5 * 60_000;

export interface CachedCredentials {
  readonly version: 1;
  readonly gateway: string;
  readonly profile: string;
  readonly role: GatewayRole;
  readonly durationSeconds: number;
  readonly credentials: StsCredentials;
  readonly refreshToken: string;
  /** ms since the epoch */
  readonly refreshExpiresAt: number;
}

function isCached(v: unknown): v is CachedCredentials {
  if (!v || typeof v !== 'object') return false;
  const c = v as Record<string, unknown>;
  const creds = c['credentials'] as Record<string, unknown> | undefined;
  const role = c['role'] as Record<string, unknown> | undefined;
  return (
    c['version'] === 1 &&
    typeof c['gateway'] === 'string' &&
    typeof c['refreshToken'] === 'string' &&
    typeof c['refreshExpiresAt'] === 'number' &&
    !!role &&
    typeof role['key'] === 'string' &&
    typeof role['roleArn'] === 'string' &&
    !!creds &&
    typeof creds['accessKeyId'] === 'string' &&
    typeof creds['accessKeySecret'] === 'string' &&
    typeof creds['securityToken'] === 'string' &&
    typeof creds['expiration'] === 'string'
  );
}

export async function readCache(path: string): Promise<CachedCredentials | undefined> {
  const v = await readJson(path);
  return isCached(v) ? v : undefined;
}

export const writeCache = (path: string, c: CachedCredentials): Promise<void> => writePrivateJson(path, c);

/** Usable for more than the margin: no refresh needed yet. */
export function isFresh(c: CachedCredentials, now: number, marginMs = REFRESH_MARGIN_MS): boolean {
  const exp = Date.parse(c.credentials.expiration);
  return Number.isFinite(exp) && exp - now > marginMs;
}
