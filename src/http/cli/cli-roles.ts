import type { Config } from '../../config/schema.js';
import type { GrantedRole } from '../../mapping/roles.js';
import { DEFAULT_SESSION_DURATION, MAX_SESSION_DURATION_MIN } from '../../alibaba.js';

// Which of a user's roles the command line may get credentials for, and for how long.

/** Roles marked `cli: false` stay console-only. */
export const cliEnabled = (config: Pick<Config, 'roles'>, key: string): boolean => config.roles[key]?.cli !== false;

/**
 * The role's MaxSessionDuration as the gateway knows it: what `pai-sso register` sets
 * (register.roles.<key>.maxSessionDuration, else at least the role's sessionDuration).
 */
export function roleMaxDuration(config: Pick<Config, 'roles' | 'register'>, key: string): number {
  const set = config.register?.roles[key]?.maxSessionDuration;
  if (set !== undefined) return set;
  return Math.max(MAX_SESSION_DURATION_MIN, config.roles[key]?.sessionDuration ?? 0);
}

/** DurationSeconds for STS: the request (default 1 h) within 900..min(cli.maxDurationSeconds, the role's maximum). */
export function cliDuration(config: Pick<Config, 'roles' | 'register' | 'cli'>, key: string, requested: number | undefined): number {
  const max = Math.max(900, Math.min(config.cli.maxDurationSeconds, roleMaxDuration(config, key)));
  return Math.min(Math.max(requested ?? DEFAULT_SESSION_DURATION, 900), max);
}

export type RoleChoice =
  | { readonly ok: true; readonly roles: readonly GrantedRole[] }
  | { readonly ok: false; readonly reason: 'no-role' | 'role-not-granted' | 'role-console-only' };

/** The roles to offer: the one asked for, or every CLI-enabled role the user has. */
export function chooseCliRoles(config: Pick<Config, 'roles'>, granted: readonly GrantedRole[], requested: string | undefined): RoleChoice {
  if (requested !== undefined) {
    const role = granted.find((r) => r.key === requested);
    if (!role) return { ok: false, reason: 'role-not-granted' };
    if (!cliEnabled(config, role.key)) return { ok: false, reason: 'role-console-only' };
    return { ok: true, roles: [role] };
  }
  const roles = granted.filter((r) => cliEnabled(config, r.key));
  return roles.length ? { ok: true, roles } : { ok: false, reason: granted.length ? 'role-console-only' : 'no-role' };
}

/** "1 hour", "90 minutes", "12 hours": how the consent page says a duration. */
export function durationText(seconds: number): string {
  if (seconds % 3600 === 0) return seconds === 3600 ? '1 hour' : `${seconds / 3600} hours`;
  return `${Math.round(seconds / 60)} minutes`;
}

export { DEFAULT_SESSION_DURATION };
