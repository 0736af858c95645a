import { Type, type Static } from '@sinclair/typebox';
import type { ConfigProblem } from './errors.js';

const Strict = { additionalProperties: false } as const;
const Int = (min: number, max: number, def: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, default: def, description });

// Defaults after the OWASP Authentication Cheat Sheet ("Account Lockout": a threshold,
// an observation window and a lockout duration; prefer growing delays to a permanent
// lock, which an attacker could use to lock people out) and ASVS 4.0 V2.2.1 (at most
// 100 failed attempts per hour on one account): 3 free failures, then waits doubling from
// 1 s, a 15-minute lockout at 10 failures within 15 minutes, doubling per lockout up to a day.
// That is at most ~10 guesses per account per 15 minutes, fewer each time it locks again.

const ThrottleScopeSchema = (free: number, lockAt: number, what: string) =>
  Type.Object(
    {
      freeFailures: Int(0, 1000, free, `Failures ${what} before each further try has to wait`),
      lockoutAfter: Int(1, 10000, lockAt, `Failures ${what} within windowSeconds that lock it out`),
    },
    { ...Strict, default: {} },
  );

export const LoginThrottleSchema = Type.Object(
  {
    windowSeconds: Int(60, 86400, 900, 'Failures are counted over this window, from the first failure'),
    baseDelaySeconds: Int(1, 3600, 1, 'First wait after the free failures; it doubles with each further failure'),
    maxDelaySeconds: Int(1, 3600, 60, 'Longest wait between tries before the lockout'),
    lockoutSeconds: Int(1, 86400, 900, 'First lockout; each further lockout of the same name or address doubles it'),
    maxLockoutSeconds: Int(1, 604800, 86400, 'Longest lockout'),
    /** The account, whatever address the tries come from (normalised: NFKC, trimmed, lower-case). */
    username: ThrottleScopeSchema(3, 10, 'for one username'),
    /** One client address (password spraying over many names); higher, as offices share one address. */
    address: ThrottleScopeSchema(20, 100, 'from one client address'),
  },
  { ...Strict, default: {} },
);

export type LoginThrottleConfig = Static<typeof LoginThrottleSchema>;

// The reference checks also run on a document the shape check refused (validate.ts): a scope may be missing.
type LoginThrottleAsFound = Omit<LoginThrottleConfig, 'username' | 'address'> & Partial<Pick<LoginThrottleConfig, 'username' | 'address'>>;

/** What the schema cannot say: the numbers must make sense together. */
export function checkLoginThrottle(t: LoginThrottleAsFound | undefined): ConfigProblem[] {
  if (!t || typeof t !== 'object') return [];
  const out: ConfigProblem[] = [];
  for (const scope of ['username', 'address'] as const) {
    const s = t[scope];
    if (s && s.freeFailures >= s.lockoutAfter) {
      out.push({ path: `server.loginThrottle.${scope}.freeFailures`, reason: `must be below ${scope}.lockoutAfter (${s.lockoutAfter})` });
    }
  }
  if (t.maxDelaySeconds < t.baseDelaySeconds)
    out.push({ path: 'server.loginThrottle.maxDelaySeconds', reason: 'must not be below baseDelaySeconds' });
  if (t.maxLockoutSeconds < t.lockoutSeconds)
    out.push({ path: 'server.loginThrottle.maxLockoutSeconds', reason: 'must not be below lockoutSeconds' });
  return out;
}
