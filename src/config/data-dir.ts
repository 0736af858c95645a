import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where the gateway writes at run time (the local users file, the first admin's password
 * file), kept apart from the read-only config so config/ can be a ConfigMap or a read-only
 * mount. Not `data/`: that folder ships read-only data with the code (the default PAI policy).
 */
export const DATA_DIR_ENV = 'PAI_SSO_DATA_DIR';
export const DEFAULT_DATA_DIR = 'var';
/** Where users.yaml lived before the data directory existed; still read when found there. */
export const LEGACY_USERS_FILE = 'config/users.yaml';

export function dataDir(env: NodeJS.ProcessEnv): string {
  return env[DATA_DIR_ENV] || DEFAULT_DATA_DIR;
}

export interface UsersFileChoice {
  readonly path: string;
  /** Set when the legacy location was chosen: the operator should move the file. */
  readonly warning?: string;
}

/**
 * The users file when the config does not name one: `<data dir>/users.yaml`, unless only
 * the legacy `config/users.yaml` exists, which keeps working (with a warning) so an upgrade
 * never loses its users or creates a second admin.
 */
export function defaultUsersFile(env: NodeJS.ProcessEnv, exists: (path: string) => boolean = existsSync): UsersFileChoice {
  const path = join(dataDir(env), 'users.yaml');
  if (!exists(path) && exists(LEGACY_USERS_FILE)) {
    return {
      path: LEGACY_USERS_FILE,
      warning:
        `reading local users from ${LEGACY_USERS_FILE}, the old location: move it to ${path} ` +
        `(the data directory, ${DATA_DIR_ENV}), or set identity.local.usersFile to keep it where it is`,
    };
  }
  return { path };
}

/** Fills identity.local.usersFile in a parsed, not yet validated config document when it is absent. */
export function applyDefaultUsersFile(doc: unknown, env: NodeJS.ProcessEnv, exists?: (path: string) => boolean): string | undefined {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const root = doc as Record<string, unknown>;
  const identity = root['identity'] ?? {};
  if (typeof identity !== 'object' || Array.isArray(identity)) return undefined;
  const local = (identity as Record<string, unknown>)['local'] ?? {};
  if (typeof local !== 'object' || Array.isArray(local)) return undefined;
  if ((local as Record<string, unknown>)['usersFile'] !== undefined) return undefined;
  const choice = defaultUsersFile(env, exists);
  root['identity'] = { ...identity, local: { ...local, usersFile: choice.path } };
  return choice.warning;
}
