import { alibabaSp } from '../../test/helpers/saml-sp.js';
import type { Site } from '../../src/config/schema.js';

// The SP side of every check: node-saml configured as Alibaba's SP (the same helper the
// tests use), so "verifies" means what it means in test/.

export type Verifier = (samlResponseB64: string) => Promise<{ ok: true } | { ok: false; reason: string }>;

export function createVerifier(site: Site, certPem: string): Verifier {
  const sp = alibabaSp(site, certPem);
  return async (samlResponse) => {
    try {
      const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: samlResponse });
      if (!profile) return { ok: false, reason: 'no profile' };
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  };
}
