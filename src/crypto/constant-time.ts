import { timingSafeEqual } from 'node:crypto';

/**
 * Compares two secrets (CSRF tokens, OAuth state, a proxy's shared secret) in time that
 * does not depend on where they differ. Only the length may leak, which for random
 * tokens of a fixed size tells an attacker nothing.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
