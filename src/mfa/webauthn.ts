import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { PasskeyEnrolment, UserRef } from './enrolments.js';

// WebAuthn (passkeys, security keys) through @simplewebauthn/server, loaded on first use
// so a gateway that never sees a passkey does not pay for its start. Attestation is not
// asked for ('none'): we trust the user's own authenticator, as every consumer passkey
// deployment does; the point is possession of a key that cannot be phished off-origin.

export interface RelyingParty {
  /** The RP ID: the gateway's host name (WebAuthn refuses IP addresses). */
  readonly id: string;
  readonly name: string;
  /** The exact origin browsers report in clientDataJSON: scheme, host and port of server.baseUrl. */
  readonly origin: string;
}

export type RegistrationOptions = Awaited<ReturnType<typeof import('@simplewebauthn/server').generateRegistrationOptions>>;
export type AuthenticationOptions = Awaited<ReturnType<typeof import('@simplewebauthn/server').generateAuthenticationOptions>>;

const lib = () => import('@simplewebauthn/server');

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

function isJsonObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** The browser's answer, shape-checked before the library sees it. */
export function asRegistrationResponse(v: unknown): RegistrationResponseJSON | undefined {
  if (!isJsonObject(v) || typeof v['id'] !== 'string' || typeof v['rawId'] !== 'string' || v['type'] !== 'public-key') return undefined;
  const r = v['response'];
  if (!isJsonObject(r) || typeof r['clientDataJSON'] !== 'string' || typeof r['attestationObject'] !== 'string') return undefined;
  return v as unknown as RegistrationResponseJSON;
}

export function asAuthenticationResponse(v: unknown): AuthenticationResponseJSON | undefined {
  if (!isJsonObject(v) || typeof v['id'] !== 'string' || typeof v['rawId'] !== 'string' || v['type'] !== 'public-key') return undefined;
  const r = v['response'];
  if (
    !isJsonObject(r) ||
    typeof r['clientDataJSON'] !== 'string' ||
    typeof r['authenticatorData'] !== 'string' ||
    typeof r['signature'] !== 'string'
  )
    return undefined;
  return v as unknown as AuthenticationResponseJSON;
}

export async function registrationOptions(
  rp: RelyingParty,
  user: UserRef,
  existing: readonly PasskeyEnrolment[],
): Promise<RegistrationOptions> {
  const { generateRegistrationOptions } = await lib();
  return generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.username,
    // An opaque handle, not the username: authenticators may show or sync it.
    userID: new Uint8Array(Buffer.from(`${user.source}:${user.id}`, 'utf8')),
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p.id, ...(p.transports ? { transports: [...p.transports] } : {}) })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  });
}

/** The new passkey, or a reason it was refused. */
export async function finishRegistration(
  rp: RelyingParty,
  response: RegistrationResponseJSON,
  expectedChallenge: string,
  label: string,
  now: number,
): Promise<{ passkey: PasskeyEnrolment } | { refused: string }> {
  const { verifyRegistrationResponse } = await lib();
  try {
    const result = await verifyRegistrationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: false,
    });
    if (!result.verified) return { refused: 'not-verified' };
    const c = result.registrationInfo.credential;
    return {
      passkey: {
        id: c.id,
        publicKey: b64u(c.publicKey),
        counter: c.counter,
        transports: c.transports ? [...c.transports] : undefined,
        label,
        createdAt: now,
      },
    };
  } catch (err) {
    return { refused: `invalid: ${(err as Error).message.slice(0, 160)}` };
  }
}

export async function authenticationOptions(rp: RelyingParty, passkeys: readonly PasskeyEnrolment[]): Promise<AuthenticationOptions> {
  const { generateAuthenticationOptions } = await lib();
  return generateAuthenticationOptions({
    rpID: rp.id,
    allowCredentials: passkeys.map((p) => ({ id: p.id, ...(p.transports ? { transports: [...p.transports] } : {}) })),
    userVerification: 'preferred',
  });
}

/** Which of the user's passkeys signed, and its new counter; or a reason it was refused. */
export async function finishAuthentication(
  rp: RelyingParty,
  response: AuthenticationResponseJSON,
  expectedChallenge: string,
  passkeys: readonly PasskeyEnrolment[],
): Promise<{ id: string; counter: number } | { refused: string }> {
  // Only the user's own credentials: a passkey registered to anyone else is unknown here.
  const passkey = passkeys.find((p) => p.id === response.id);
  if (!passkey) return { refused: 'unknown-credential' };
  const { verifyAuthenticationResponse } = await lib();
  try {
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: {
        id: passkey.id,
        publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
        counter: passkey.counter,
        ...(passkey.transports ? { transports: [...passkey.transports] as never } : {}),
      },
      requireUserVerification: false,
    });
    if (!result.verified) return { refused: 'not-verified' };
    return { id: passkey.id, counter: result.authenticationInfo.newCounter };
  } catch (err) {
    return { refused: `invalid: ${(err as Error).message.slice(0, 160)}` };
  }
}
