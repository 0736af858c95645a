import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.js';
import type { EmulatorCredential } from './signing.js';

// STS: temporary credentials (an STS AccessKey pair plus a SecurityToken) sign requests
// like any other key; the request must also carry the token in x-acs-security-token.
// The emulator has no STS API of its own; tests register such credentials up front.

export function checkSecurityToken(req: IncomingMessage, cred: EmulatorCredential): void {
  if (cred.securityToken !== undefined && req.headers['x-acs-security-token'] !== cred.securityToken) {
    throw new ApiError(400, 'InvalidSecurityToken.Mismatch', 'Specified SecurityToken is invalid.');
  }
}
