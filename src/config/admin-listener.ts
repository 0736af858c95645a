import { ConfigError } from './errors.js';

// The operator surface off the public port: where the admin listener binds and the token
// that unlocks /readyz reasons on the main port (server.adminListen, server.adminTokenEnv).

/** `host:port`, `[ipv6]:port`. */
export const ADMIN_LISTEN_PATTERN = '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$';

export function parseListenAddress(value: string): { host: string; port: number } {
  const colon = value.lastIndexOf(':');
  const host = value.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(value.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535 || host === '') {
    throw new ConfigError('config', [{ path: 'server.adminListen', reason: `"${value}" is not host:port` }]);
  }
  return { host, port };
}

const MIN_TOKEN = 16;

/** The admin token from the environment variable the config names; undefined when none is named. */
export function readAdminToken(
  server: { readonly adminTokenEnv?: string | undefined },
  env: NodeJS.ProcessEnv,
  source: string,
): string | undefined {
  if (server.adminTokenEnv === undefined) return undefined;
  const token = env[server.adminTokenEnv];
  if (token === undefined || token.length < MIN_TOKEN) {
    throw new ConfigError(source, [
      {
        path: 'server.adminTokenEnv',
        reason: `environment variable ${server.adminTokenEnv} must hold the admin token (${MIN_TOKEN}+ characters)`,
      },
    ]);
  }
  return token;
}
