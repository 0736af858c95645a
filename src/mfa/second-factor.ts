import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { StateStore } from '../state/store.js';
import type { MfaMode } from '../config/mfa-schema.js';
import { EMPTY_ENROLMENT, hasSecondFactor, userKey, type Enrolment, type EnrolmentStore, type UserRef } from './enrolments.js';
import { base32Decode, base32Encode, matchTotp, newTotpSecret, otpauthUri, TOTP_DEFAULTS } from './totp.js';
import {
  authenticationOptions,
  finishAuthentication,
  finishRegistration,
  registrationOptions,
  type AuthenticationOptions,
  type RegistrationOptions,
  type RelyingParty,
} from './webauthn.js';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';

// The second factor's rules in one place, apart from HTTP: TOTP with replay refused
// through the shared StateStore, single-use recovery codes, passkeys with single-use
// challenges. Every check resolves to ok or a short reason for the audit line; store
// failures throw (the caller refuses with a 503).

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface SecondFactorSettings {
  readonly mode: MfaMode;
  readonly totpIssuer: string;
  readonly totpSkewSteps: number;
  readonly recoveryCodes: number;
  readonly rp: RelyingParty;
}

export interface SecondFactorService {
  readonly settings: SecondFactorSettings;
  enrolment(user: UserRef): Promise<Enrolment | undefined>;
  hasSecondFactor(user: UserRef): Promise<boolean>;
  /** A fresh TOTP secret for enrolment (base32) and the otpauth:// URI to show; nothing is stored until confirmed. */
  newTotp(user: UserRef): { secret: string; uri: string };
  /** The otpauth:// URI of a secret being set up (shown again after a wrong first code). */
  newTotpUri(user: UserRef, secret: string): string;
  /** Checks the first code against the new secret and stores it; returns recovery codes when this is the user's first factor. */
  confirmTotp(user: UserRef, secret: string, code: string): Promise<Verdict & { recoveryCodes?: string[] }>;
  verifyTotp(user: UserRef, code: string): Promise<Verdict>;
  verifyRecovery(user: UserRef, code: string): Promise<Verdict>;
  /** Replaces the user's recovery codes; the plain codes are returned once and never stored. */
  newRecoveryCodes(user: UserRef): Promise<string[]>;
  passkeyRegistrationOptions(user: UserRef): Promise<RegistrationOptions>;
  registerPasskey(user: UserRef, response: RegistrationResponseJSON, label: string): Promise<Verdict & { recoveryCodes?: string[] }>;
  passkeyAuthenticationOptions(user: UserRef): Promise<AuthenticationOptions | undefined>;
  verifyPasskey(user: UserRef, response: AuthenticationResponseJSON): Promise<Verdict>;
}

const CHALLENGE_MS = 300_000;
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const short = (key: string) => createHash('sha256').update(key, 'utf8').digest('base64url').slice(0, 32);

/** `xxxxx-xxxxx`: 10 characters from a 31-letter alphabet without look-alikes, about 49 bits. */
function newRecoveryCode(): string {
  const bytes = randomBytes(10);
  let out = '';
  for (const b of bytes) out += RECOVERY_ALPHABET.charAt(b % RECOVERY_ALPHABET.length);
  return `${out.slice(0, 5)}-${out.slice(5)}`;
}

const normaliseRecovery = (code: string) => code.toLowerCase().replace(/[\s-]/g, '');

export function createSecondFactorService(opts: {
  readonly settings: SecondFactorSettings;
  readonly enrolments: EnrolmentStore;
  readonly store: StateStore;
  readonly sessionSecret: Buffer;
  readonly now: () => number;
}): SecondFactorService {
  const { settings, enrolments, store, now } = opts;
  const recoveryKey = Buffer.from(hkdfSync('sha256', opts.sessionSecret, Buffer.alloc(0), 'pai-sso mfa-recovery v1', 32));
  const recoveryHash = (user: UserRef, code: string) =>
    createHmac('sha256', recoveryKey)
      .update(`${userKey(user)}\0${normaliseRecovery(code)}`, 'utf8')
      .digest('hex');
  const period = TOTP_DEFAULTS.periodSeconds;
  // A used step is remembered as long as any code for it could still be accepted.
  const replayMs = (2 * settings.totpSkewSteps + 2) * period * 1000;
  const lastStepKey = (user: UserRef) => `mfa:totp-last:${short(userKey(user))}`;
  const challengeKey = (purpose: 'reg' | 'auth', user: UserRef) => `mfa:challenge:${purpose}:${short(userKey(user))}`;

  const freshRecovery = (user: UserRef) => {
    const codes = Array.from({ length: settings.recoveryCodes }, newRecoveryCode);
    return { codes, hashes: codes.map((c) => recoveryHash(user, c)) };
  };

  /** Adds a factor; the user's first factor comes with recovery codes. */
  const addFactor = async (user: UserRef, add: (e: Enrolment) => Enrolment) => {
    let codes: string[] | undefined;
    await enrolments.update(user, (current) => {
      const first = !hasSecondFactor(current) || current.recovery.length === 0;
      const next = add(current);
      if (!first) return next;
      const r = freshRecovery(user);
      codes = r.codes;
      return { ...next, recovery: r.hashes };
    });
    return codes;
  };

  /** Refuses a step already used, or older than the last one used; records this one. Atomic per step through `add`. */
  const firstUseOfStep = async (user: UserRef, step: number): Promise<boolean> => {
    const key = lastStepKey(user);
    const last = Number((await store.get(key)) ?? '-1');
    if (step <= last) return false;
    if (!(await store.add(`${key}:${step}`, '1', replayMs))) return false;
    await store.set(key, String(step), replayMs);
    return true;
  };

  return {
    settings,
    enrolment: (user) => enrolments.get(user),
    async hasSecondFactor(user) {
      return hasSecondFactor(await enrolments.get(user));
    },
    newTotp(user) {
      const secret = newTotpSecret();
      return { secret: base32Encode(secret), uri: otpauthUri({ issuer: settings.totpIssuer, account: user.username, secret }) };
    },
    newTotpUri(user, secret) {
      return otpauthUri({ issuer: settings.totpIssuer, account: user.username, secret: base32Decode(secret) ?? Buffer.alloc(0) });
    },
    async confirmTotp(user, secret, code) {
      const bytes = base32Decode(secret);
      if (!bytes || bytes.length < 16) return { ok: false, reason: 'bad-secret' };
      const step = matchTotp(bytes, code.trim(), now(), settings.totpSkewSteps);
      if (step === undefined) return { ok: false, reason: 'wrong-code' };
      if (!(await firstUseOfStep(user, step))) return { ok: false, reason: 'replayed-code' };
      const recoveryCodes = await addFactor(user, (e) => ({ ...e, totp: { secret, createdAt: now() } }));
      return recoveryCodes ? { ok: true, recoveryCodes } : { ok: true };
    },
    async verifyTotp(user, code) {
      const e = await enrolments.get(user);
      const bytes = e?.totp ? base32Decode(e.totp.secret) : undefined;
      if (!bytes) return { ok: false, reason: 'not-enrolled' };
      const step = matchTotp(bytes, code.trim(), now(), settings.totpSkewSteps);
      if (step === undefined) return { ok: false, reason: 'wrong-code' };
      if (!(await firstUseOfStep(user, step))) return { ok: false, reason: 'replayed-code' };
      return { ok: true };
    },
    async verifyRecovery(user, code) {
      const wanted = Buffer.from(recoveryHash(user, code), 'hex');
      const outcome = { used: false };
      await enrolments.update(user, (e) => {
        const keep = e.recovery.filter((h) => !timingSafeEqual(Buffer.from(h, 'hex'), wanted));
        outcome.used = keep.length < e.recovery.length;
        return outcome.used ? { ...e, recovery: keep } : e;
      });
      return outcome.used ? { ok: true } : { ok: false, reason: 'wrong-recovery-code' };
    },
    async newRecoveryCodes(user) {
      const r = freshRecovery(user);
      await enrolments.update(user, (e) => ({ ...e, recovery: r.hashes }));
      return r.codes;
    },
    async passkeyRegistrationOptions(user) {
      const e = (await enrolments.get(user)) ?? EMPTY_ENROLMENT;
      const options = await registrationOptions(settings.rp, user, e.passkeys);
      await store.set(challengeKey('reg', user), options.challenge, CHALLENGE_MS);
      return options;
    },
    async registerPasskey(user, response, label) {
      const challenge = await store.take(challengeKey('reg', user));
      if (challenge === undefined) return { ok: false, reason: 'no-challenge' };
      const result = await finishRegistration(settings.rp, response, challenge, label, now());
      if ('refused' in result) return { ok: false, reason: result.refused };
      const recoveryCodes = await addFactor(user, (e) => ({
        ...e,
        passkeys: [...e.passkeys.filter((p) => p.id !== result.passkey.id), result.passkey],
      }));
      return recoveryCodes ? { ok: true, recoveryCodes } : { ok: true };
    },
    async passkeyAuthenticationOptions(user) {
      const e = await enrolments.get(user);
      if (!e || e.passkeys.length === 0) return undefined;
      const options = await authenticationOptions(settings.rp, e.passkeys);
      await store.set(challengeKey('auth', user), options.challenge, CHALLENGE_MS);
      return options;
    },
    async verifyPasskey(user, response) {
      // Taken before anything else: one challenge, one try, whatever the outcome.
      const challenge = await store.take(challengeKey('auth', user));
      if (challenge === undefined) return { ok: false, reason: 'no-challenge' };
      const e = await enrolments.get(user);
      if (!e || e.passkeys.length === 0) return { ok: false, reason: 'not-enrolled' };
      const result = await finishAuthentication(settings.rp, response, challenge, e.passkeys);
      if ('refused' in result) return { ok: false, reason: result.refused };
      await enrolments.update(user, (cur) => ({
        ...cur,
        passkeys: cur.passkeys.map((p) => (p.id === result.id ? { ...p, counter: result.counter, lastUsedAt: now() } : p)),
      }));
      return { ok: true };
    },
  };
}
