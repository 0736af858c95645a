import { createHash } from 'node:crypto';
import { constantTimeEqual } from '../../crypto/constant-time.js';

// PKCE (RFC 7636), S256 only: the code is bound to the challenge the command sent, and
// only the holder of the verifier (the command that started the flow) can redeem it.

/** RFC 7636 §4.1: 43..128 unreserved characters. */
export const VERIFIER_PATTERN = '^[A-Za-z0-9._~-]{43,128}$';
/** base64url of a SHA-256 digest, without padding. */
export const CHALLENGE_PATTERN = '^[A-Za-z0-9_-]{43}$';

export const s256 = (verifier: string): string => createHash('sha256').update(verifier, 'ascii').digest('base64url');

export function verifierMatches(verifier: string, challenge: string): boolean {
  return new RegExp(VERIFIER_PATTERN).test(verifier) && constantTimeEqual(s256(verifier), challenge);
}
