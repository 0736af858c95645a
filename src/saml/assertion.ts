import { ATTR_ROLE, ATTR_ROLE_SESSION_NAME, ATTR_SESSION_DURATION } from './alibaba.js';
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
}

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
 * The unsigned Response. Every value from a user, a group or config passes through
 * escapeText/escapeAttr here and nowhere else, so markup in a name stays text.
 */
export function buildResponse(a: AssertionInput): string {
  if (a.roles.length === 0) throw new RangeError('an assertion needs at least one role');
  const issued = samlTime(a.now);
  const notBefore = samlTime(at(a.now, -a.skewSeconds));
  const notOnOrAfter = samlTime(at(a.now, a.lifetimeSeconds));
  const acs = escapeAttr(a.acs);
  const issuer = `<saml:Issuer>${escapeText(a.issuer)}</saml:Issuer>`;
  const sessionCap = a.sessionNotOnOrAfter ? ` SessionNotOnOrAfter="${samlTime(a.sessionNotOnOrAfter)}"` : '';

  const attributes = [
    attribute(ATTR_ROLE, a.roles.map((r) => `${r.roleArn},${r.providerArn}`)),
    attribute(ATTR_ROLE_SESSION_NAME, [a.roleSessionName]),
    ...(a.sessionDuration !== undefined ? [attribute(ATTR_SESSION_DURATION, [String(a.sessionDuration)])] : []),
  ].join('');

  return (
    `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${escapeAttr(a.responseId)}" Version="2.0" IssueInstant="${issued}" Destination="${acs}">` +
    issuer +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `<saml:Assertion xmlns:saml="${NS.assertion}" ID="${escapeAttr(a.assertionId)}" Version="2.0" IssueInstant="${issued}">` +
    issuer +
    `<saml:Subject>` +
    `<saml:NameID Format="${NAMEID_FORMATS[a.nameId.format]}">${escapeText(a.nameId.value)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
    `<saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${acs}"/>` +
    `</saml:SubjectConfirmation>` +
    `</saml:Subject>` +
    `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}">` +
    `<saml:AudienceRestriction><saml:Audience>${escapeText(a.audience)}</saml:Audience></saml:AudienceRestriction>` +
    `</saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${samlTime(a.authnInstant)}" SessionIndex="${escapeAttr(a.sessionIndex)}"${sessionCap}>` +
    `<saml:AuthnContext><saml:AuthnContextClassRef>${AUTHN_CONTEXT_PASSWORD}</saml:AuthnContextClassRef></saml:AuthnContext>` +
    `</saml:AuthnStatement>` +
    `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` +
    `</saml:Assertion>` +
    `</samlp:Response>`
  );
}
