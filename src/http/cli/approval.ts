import { createHash, randomBytes } from 'node:crypto';
import type { User } from '../../identity/user.js';

// What a signed-in user agreed to on a consent page, carried by a one-time code, a
// device code or a refresh grant until the command redeems it. Codes are stored under
// their SHA-256 only: a copy of the store holds nothing a command could redeem.

export type CliFlow = 'loopback' | 'device';

export interface CliApproval {
  /** The browser session the consent happened in: its revocation ends the grant. */
  readonly sid: string;
  /** The session's user (only the groups some mapping mentions). */
  readonly user: User;
  readonly authTime: number;
  /** When the user's groups were read from the source (ms). */
  readonly groupsAt: number;
  readonly roleKey: string;
  readonly durationSeconds: number;
  readonly flow: CliFlow;
}

export const newSecret = (bytes = 32): string => randomBytes(bytes).toString('base64url');
export const secretKey = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('base64url');

export function isApproval(v: unknown): v is CliApproval {
  if (!v || typeof v !== 'object') return false;
  const a = v as Record<string, unknown>;
  const u = a['user'] as Record<string, unknown> | undefined;
  return (
    typeof a['sid'] === 'string' &&
    typeof a['roleKey'] === 'string' &&
    typeof a['durationSeconds'] === 'number' &&
    typeof a['authTime'] === 'number' &&
    typeof a['groupsAt'] === 'number' &&
    (a['flow'] === 'loopback' || a['flow'] === 'device') &&
    !!u &&
    typeof u['id'] === 'string' &&
    typeof u['username'] === 'string' &&
    Array.isArray(u['groups'])
  );
}

export function parseJson(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}
