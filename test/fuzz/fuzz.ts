import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { ATTR_ROLE } from '../../src/alibaba.js';
import { ACCOUNT, baseConfig } from '../helpers/gateway.js';
import { alibabaSp, extractForm } from '../helpers/saml-sp.js';

// The fuzz and property suite's shared parts: how many runs, from which seed, and the
// invariants every route keeps whatever it is sent:
//   - never a 5xx (bad input is a 4xx, the dependencies here are all up);
//   - never a SAML hand-off (SAMLResponse form) without a valid session;
//   - never a role the mapping does not grant the user's groups;
//   - every issued Response verifies with node-saml set up as Alibaba's SP.
//
// Reproducing a failure: the message names the seed; FUZZ_SEED=<seed> replays the same
// inputs (FUZZ_PATH=<path> with `-t "<test name>"` jumps straight to the counterexample).
// FUZZ_SCALE=10 runs ten times as many cases (the default keeps `npm test` short).

const envSeed = process.env['FUZZ_SEED'];
export const SEED = envSeed !== undefined && envSeed !== '' ? Number(envSeed) : Math.floor(Math.random() * 2 ** 31);
const SCALE = Number(process.env['FUZZ_SCALE'] ?? '1') || 1;

/** Runs an async property `runs` times (scaled); on failure, throws with the seed and the shrunk counterexample. */
export async function fuzz<T>(arbitrary: fc.Arbitrary<T>, runs: number, predicate: (value: T) => Promise<void>): Promise<void> {
  const path = process.env['FUZZ_PATH'];
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (value) => {
      await predicate(value);
    }),
    { seed: SEED, numRuns: Math.max(1, Math.round(runs * SCALE)), includeErrorInReport: true, ...(path ? { path } : {}) },
  );
  if (details.failed) {
    throw new Error(
      `fuzz: property failed; reproduce with FUZZ_SEED=${details.seed} (FUZZ_PATH=${details.counterexamplePath ?? ''})\n` +
        (fc.defaultReportMessage(details) ?? ''),
    );
  }
}

/** Config for fuzzing: the fixture deployment with the login throttle out of the way (it would only add 429s). */
export function fuzzConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base = baseConfig(extra);
  return {
    ...base,
    server: {
      baseUrl: 'http://localhost:8080',
      loginAttemptsPerMinute: 10000,
      loginThrottle: { username: { freeFailures: 1000, lockoutAfter: 10000 }, address: { freeFailures: 1000, lockoutAfter: 10000 } },
      ...(extra['server'] as object | undefined),
    },
  };
}

const PROVIDER = `acs:ram::${ACCOUNT}:saml-provider/corp-idp`;
/** The oracle, written from the fixture config, not from src/mapping: group -> role ARN pairs. */
const GRANTS: Readonly<Record<string, readonly string[]>> = {
  ml: [`acs:ram::${ACCOUNT}:role/pai-developer,${PROVIDER}`],
  'ml-admins': [`acs:ram::${ACCOUNT}:role/pai-developer,${PROVIDER}`, `acs:ram::${ACCOUNT}:role/pai-admin,${PROVIDER}`],
};
export function grantedRoles(groups: readonly string[]): Set<string> {
  return new Set(groups.flatMap((g) => GRANTS[g] ?? []));
}

export function noServerError(res: LightMyRequestResponse, what: string): void {
  expect(res.statusCode, `${what}: ${res.body.slice(0, 300)}`).toBeLessThan(500);
}

export const isHandoff = (res: LightMyRequestResponse): boolean => res.body.includes('name="SAMLResponse"');

/**
 * A hand-off page: the Response must verify as Alibaba verifies it, and carry only roles
 * the mapping grants `groups`. Returns the roles and the NameID.
 */
export async function verifyHandoff(
  res: LightMyRequestResponse,
  certPem: string,
  groups: readonly string[],
): Promise<{ roles: string[]; nameId: string | undefined }> {
  const form = extractForm(res.body);
  const { profile } = await alibabaSp('cn', certPem).validatePostResponseAsync({ SAMLResponse: form.samlResponse });
  const raw = profile?.[ATTR_ROLE] as string | string[] | undefined;
  const roles = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  expect(roles.length).toBeGreaterThan(0);
  const allowed = grantedRoles(groups);
  for (const r of roles) expect(allowed.has(r), `role ${r} for groups ${groups.join(',')}`).toBe(true);
  return { roles, nameId: profile?.nameID };
}

/** Cookie value as a server reads it (quotes, percent-escapes), then as the sealer reads it (base64url bytes). */
export function cookieBytes(value: string): string {
  let v = value.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
  if (v.includes('%')) {
    try {
      v = decodeURIComponent(v);
    } catch {
      // kept as sent
    }
  }
  return Buffer.from(v, 'base64url').toString('hex');
}

/** Every value of `name` in a Cookie header. */
export function cookieValues(header: string, name: string): string[] {
  return header
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p.startsWith(`${name}=`))
    .map((p) => p.slice(name.length + 1));
}

/** Set-Cookie values of `name` in a response (issued by the server). */
export function issuedCookies(res: LightMyRequestResponse, name: string): string[] {
  const h = res.headers['set-cookie'];
  const list = h === undefined ? [] : Array.isArray(h) ? h : [h];
  return list
    .map((c) => c.split(';')[0] ?? '')
    .filter((p) => p.startsWith(`${name}=`))
    .map((p) => p.slice(name.length + 1))
    .filter((v) => v !== '');
}

// Arbitraries shared by the route files.

/** Strings an attacker would try: random, unicode, long, control characters, injection-shaped. */
export const hostileString = (maxLength = 64): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.constantFrom(
      '',
      ' ',
      '\u0000',
      '%00',
      '../../etc/passwd',
      '//evil.example',
      'https://evil.example/',
      '/\\evil.example',
      "' OR 1=1 --",
      '*)(uid=*',
      '<script>alert(1)</script>',
      '${jndi:ldap://x}',
      '__proto__',
      'constructor',
      'a'.repeat(5000),
      '\u212Aube-admins',
      'ml,ml-admins',
      'ml-admins',
    ),
  );

/** A change to a known-good string, as data (so a counterexample prints readably). */
export type Mutation =
  | { readonly op: 'keep' }
  | { readonly op: 'replace'; readonly at: number; readonly with: string }
  | { readonly op: 'delete'; readonly at: number }
  | { readonly op: 'insert'; readonly at: number; readonly with: string }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'double' | 'upper' | 'encode' | 'quote' }
  | { readonly op: 'other'; readonly with: string };

/** `keep` (the original) weighs `keepWeight` against 6 kinds of change. */
export const mutation = (keepWeight = 3): fc.Arbitrary<Mutation> =>
  fc.oneof(
    { weight: keepWeight, arbitrary: fc.constant({ op: 'keep' as const }) },
    fc.record({ op: fc.constant('replace' as const), at: fc.nat(), with: fc.string({ minLength: 1, maxLength: 1 }) }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), with: hostileString(8) }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.constantFrom({ op: 'double' as const }, { op: 'upper' as const }, { op: 'encode' as const }, { op: 'quote' as const }),
    fc.record({ op: fc.constant('other' as const), with: hostileString() }),
  );

export function applyMutation(original: string, m: Mutation): string {
  const at = (i: number) => i % (original.length + 1);
  switch (m.op) {
    case 'keep':
      return original;
    case 'replace':
      return original.slice(0, at(m.at)) + m.with + original.slice(at(m.at) + 1);
    case 'delete':
      return original.slice(0, at(m.at)) + original.slice(at(m.at) + 1);
    case 'insert':
      return original.slice(0, at(m.at)) + m.with + original.slice(at(m.at));
    case 'truncate':
      return original.slice(0, at(m.at));
    case 'double':
      return original + original;
    case 'upper':
      return original.toUpperCase();
    case 'encode':
      return encodeURIComponent(original).replace(/-/g, '%2D');
    case 'quote':
      return `"${original}"`;
    case 'other':
      return m.with;
  }
}
