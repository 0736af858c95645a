import type { StateStore } from '../../state/store.js';
import { isApproval, newSecret, parseJson, secretKey, type CliApproval } from './approval.js';
import { verifierMatches } from './pkce.js';

// Loopback authorization codes: single use (the store's atomic take, so across replicas
// too), living at most cli.codeTtlSeconds (<= 60 s), bound to the PKCE challenge and the
// redirect URI they were sent to. A wrong verifier burns the code: there is no second try.

export interface CodeRecord {
  readonly approval: CliApproval;
  readonly challenge: string;
  readonly redirectUri: string;
}

export type Redeemed =
  | { readonly ok: true; readonly approval: CliApproval }
  | { readonly ok: false; readonly reason: 'unknown-code' | 'wrong-verifier' | 'redirect-mismatch' };

const key = (code: string) => `cli-code:${secretKey(code)}`;

export interface AuthorizationCodes {
  create(record: CodeRecord): Promise<string>;
  redeem(code: string, verifier: string, redirectUri: string): Promise<Redeemed>;
}

export function createAuthorizationCodes(store: StateStore, ttlSeconds: number): AuthorizationCodes {
  return {
    async create(record) {
      const code = newSecret();
      await store.set(key(code), JSON.stringify(record), ttlSeconds * 1000);
      return code;
    },
    async redeem(code, verifier, redirectUri) {
      const raw = parseJson(await store.take(key(code))) as Partial<CodeRecord> | undefined;
      if (!raw || !isApproval(raw.approval) || typeof raw.challenge !== 'string' || typeof raw.redirectUri !== 'string') {
        return { ok: false, reason: 'unknown-code' };
      }
      if (raw.redirectUri !== redirectUri) return { ok: false, reason: 'redirect-mismatch' };
      if (!verifierMatches(verifier, raw.challenge)) return { ok: false, reason: 'wrong-verifier' };
      return { ok: true, approval: raw.approval };
    },
  };
}
