import { ATTR_ROLE, ATTR_ROLE_SESSION_NAME, ATTR_SESSION_DURATION } from '../alibaba.js';
import { NAMEID_FORMATS, NS, escapeAttr, escapeText } from './xml.js';
import type { NameIdFormat } from '../config/schema.js';

export interface RolePair {
  readonly roleArn: string;
  readonly providerArn: string;
}

export interface AssertionInput {
  readonly issuer: string;
  readonly acs: string;
  readonly audience: string;
  readonly now: Date;
  readonly responseId: string;
  readonly assertionId: string;
  readonly sessionIndex: string;
  readonly lifetimeSeconds: number;
  readonly skewSeconds: number;
  readonly nameId: { readonly format: NameIdFormat; readonly value: string };
  readonly authnInstant: Date;
  readonly sessionNotOnOrAfter?: Date | undefined;
  readonly roles: readonly RolePair[];
  readonly roleSessionName: string;
  readonly sessionDuration?: number | undefined;
  /** What the sign-in proved (default: PasswordProtectedTransport); see docs/mfa.md. */
  readonly authnContextClassRef?: string | undefined;
}

/** A second factor was proven: the REFEDS MFA profile (see docs/mfa.md for why this class). */
export const AUTHN_CONTEXT_MFA = 'https://refeds.org/profile/mfa';
export const AUTHN_CONTEXT_PASSWORD = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
const ATTRNAME_URI = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';

/** SAML dateTime in UTC, whole seconds: the form every SP parses. */
export function samlTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const at = (d: Date, seconds: number) => new Date(d.getTime() + seconds * 1000);

function attribute(name: string, values: readonly string[]): string {
  const vals = values.map((v) => `<saml:AttributeValue>${escapeText(v)}</saml:AttributeValue>`).join('');
  return `<saml:Attribute Name="${escapeAttr(name)}" NameFormat="${ATTRNAME_URI}">${vals}</saml:Attribute>`;
}

/**
 * The unsigned Response, cut where signatures go. Every part is already in Exclusive
 * XML Canonicalization form (attributes sorted, namespaces declared where first used,
 * no empty-element tags, C14N escaping), so the text we send is the text a verifier
 * digests: the signer needs no parser. Every value from a user, a group or config
 * passes through escapeText/escapeAttr here and nowhere else, so markup stays text.
 */
export interface ResponseParts {
  readonly responseId: string;
  readonly assertionId: string;
  /** `<samlp:Response …>` through the Status: the Response's own Signature goes after its Issuer. */
  readonly responseHead: string;
  readonly responseIssuerEnd: number;
  /** `<saml:Assertion …><saml:Issuer>…</saml:Issuer>`: the Assertion's Signature follows. */
  readonly assertionHead: string;
  /** Subject through `</saml:Assertion>`. */
  readonly assertionTail: string;
  readonly responseTail: string;
}

export function buildResponseParts(a: AssertionInput): ResponseParts {
  if (a.roles.length === 0) throw new RangeError('an assertion needs at least one role');
  const issued = samlTime(a.now);
  const notBefore = samlTime(at(a.now, -a.skewSeconds));
  const notOnOrAfter = samlTime(at(a.now, a.lifetimeSeconds));
  const acs = escapeAttr(a.acs);
  const issuer = `<saml:Issuer xmlns:saml="${NS.assertion}">${escapeText(a.issuer)}</saml:Issuer>`;
  const sessionCap = a.sessionNotOnOrAfter ? ` SessionNotOnOrAfter="${samlTime(a.sessionNotOnOrAfter)}"` : '';

  const attributes = [
    attribute(
      ATTR_ROLE,
      a.roles.map((r) => `${r.roleArn},${r.providerArn}`),
    ),
    attribute(ATTR_ROLE_SESSION_NAME, [a.roleSessionName]),
    ...(a.sessionDuration !== undefined ? [attribute(ATTR_SESSION_DURATION, [String(a.sessionDuration)])] : []),
  ].join('');

  const responseOpen = `<samlp:Response xmlns:samlp="${NS.protocol}" Destination="${acs}" ID="${escapeAttr(a.responseId)}" IssueInstant="${issued}" Version="2.0">`;
  return {
    responseId: a.responseId,
    assertionId: a.assertionId,
    responseHead:
      responseOpen +
      issuer +
      `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"></samlp:StatusCode></samlp:Status>`,
    responseIssuerEnd: responseOpen.length + issuer.length,
    assertionHead:
      `<saml:Assertion xmlns:saml="${NS.assertion}" ID="${escapeAttr(a.assertionId)}" IssueInstant="${issued}" Version="2.0">` +
      `<saml:Issuer>${escapeText(a.issuer)}</saml:Issuer>`,
    assertionTail:
      `<saml:Subject>` +
      `<saml:NameID Format="${NAMEID_FORMATS[a.nameId.format]}">${escapeText(a.nameId.value)}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
      `<saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${acs}"></saml:SubjectConfirmationData>` +
      `</saml:SubjectConfirmation>` +
      `</saml:Subject>` +
      `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}">` +
      `<saml:AudienceRestriction><saml:Audience>${escapeText(a.audience)}</saml:Audience></saml:AudienceRestriction>` +
      `</saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${samlTime(a.authnInstant)}" SessionIndex="${escapeAttr(a.sessionIndex)}"${sessionCap}>` +
      `<saml:AuthnContext><saml:AuthnContextClassRef>${escapeText(a.authnContextClassRef ?? AUTHN_CONTEXT_PASSWORD)}</saml:AuthnContextClassRef></saml:AuthnContext>` +
      `</saml:AuthnStatement>` +
      `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` +
      `</saml:Assertion>`,
    responseTail: `</samlp:Response>`,
  };
}

/** The whole unsigned Response as one string (for the reference signer and for tests). */
export function joinUnsigned(p: ResponseParts): string {
  return p.responseHead + p.assertionHead + p.assertionTail + p.responseTail;
}

export function buildResponse(a: AssertionInput): string {
  return joinUnsigned(buildResponseParts(a));
}
