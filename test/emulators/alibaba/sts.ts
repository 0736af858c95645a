import { randomBytes, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { ApiError, required } from './errors.js';
import type { EmulatorCredential } from './signing.js';
import type { AccountState } from './state.js';

// STS 2015-04-01.
//
// Temporary credentials (an STS AccessKey pair plus a SecurityToken) sign requests like
// any other key; the request must also carry the token in x-acs-security-token.
//
// AssumeRoleWithSAML is anonymous (no signature) and judges the SAML Response the way STS
// does, written from Alibaba's documentation and independently of src/: the provider
// exists and the certificate of its metadata (the ONLY key: KeyInfo in the document is
// never trusted) verifies the Assertion's signature; Issuer equals the metadata entityID;
// the site's Audience; a bearer SubjectConfirmation whose Recipient satisfies the role's
// trust-policy condition saml:recipient; the trust policy trusts the provider; the Role
// attribute carries the requested role/provider pair; RoleSessionName is valid; the
// assertion is inside its validity window and was not used before; DurationSeconds lies
// within 900..the role's MaxSessionDuration. Everything is read from the signed
// reference only (what the signature covers), never from the surrounding document.

export function checkSecurityToken(req: IncomingMessage, cred: EmulatorCredential): void {
  if (cred.securityToken !== undefined && req.headers['x-acs-security-token'] !== cred.securityToken) {
    throw new ApiError(400, 'InvalidSecurityToken.Mismatch', 'Specified SecurityToken is invalid.');
  }
}

/** The site STS serves: the Audience an assertion must name. */
export const STS_SITES = {
  cn: { audience: 'urn:alibaba:cloudcomputing' },
  intl: { audience: 'urn:alibaba:cloudcomputing:international' },
} as const;

export interface StsContext {
  readonly accounts: ReadonlyMap<string, AccountState>;
  readonly audience: string;
  /** Assertion IDs already redeemed (per issuer). */
  readonly redeemed: Set<string>;
  readonly now: () => number;
  /** Makes the new temporary credential usable against the emulator (and visible to tests). */
  readonly register: (
    cred: EmulatorCredential & { readonly securityToken: string; readonly expiration: string; readonly roleArn: string },
  ) => void;
}

const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
} as const;
const ATTR_ROLE = 'https://www.aliyun.com/SAML-Role/Attributes/Role';
const ATTR_SESSION_NAME = 'https://www.aliyun.com/SAML-Role/Attributes/RoleSessionName';
const PROVIDER_ARN = /^acs:ram::([0-9]{10,20}):saml-provider\/([A-Za-z0-9._-]{1,128})$/;
const ROLE_ARN = /^acs:ram::([0-9]{10,20}):role\/([A-Za-z0-9.-]{1,64})$/;
const SESSION_NAME = /^[A-Za-z0-9_.@=-]{2,64}$/;
const SKEW_MS = 60_000;

const invalid = (why: string) => new ApiError(401, 'AuthenticationFail.SAMLAssertion.Invalid', `The SAML assertion is invalid: ${why}.`);
const expired = (why: string) => new ApiError(401, 'AuthenticationFail.SAMLAssertion.Expired', `The SAML assertion has expired: ${why}.`);
const noPermission = (why: string) =>
  new ApiError(403, 'NoPermission', `You are not authorized to do this action. You should be authorized by RAM: ${why}.`);

/** The document element of well-formed XML without a DTD, or onError's error. */
function parseXml(xml: string, onError: () => ApiError): Element {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw onError();
  let errors = 0;
  const doc = new DOMParser({ errorHandler: { error: () => errors++, fatalError: () => errors++, warning: () => {} } }).parseFromString(
    xml,
    'text/xml',
  );
  const root = doc.documentElement as Element | null;
  if (errors || !root) throw onError();
  return root;
}

function strictBase64(value: string, onError: () => ApiError): string {
  const compact = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || Buffer.from(compact, 'base64').toString('base64') !== compact) throw onError();
  return Buffer.from(compact, 'base64').toString('utf8');
}

const children = (el: Element, ns: string, name: string): Element[] => {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === name) out.push(n as Element);
  }
  return out;
};
const one = (el: Element, ns: string, name: string, what: string): Element => {
  const found = children(el, ns, name);
  if (found.length !== 1) throw invalid(`exactly one ${what} is required`);
  return found[0]!;
};
const text = (el: Element) => el.textContent.trim();
const time = (el: Element, attr: string): number | undefined => {
  const v = el.getAttribute(attr);
  if (!v) return undefined;
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw invalid(`${attr} is not a dateTime`);
  return t;
};

/** The provider's metadata as RAM stored it: its entityID and signing certificates (PEM). */
function readMetadata(b64: string): { entityId: string; certs: string[] } {
  const bad = () => new ApiError(401, 'AuthenticationFail.IDPMetadata.Invalid', 'The IdP metadata of the SAML provider is invalid.');
  if (!b64) throw bad();
  const root = parseXml(strictBase64(b64, bad), bad);
  const entityId = root.getAttribute('entityID');
  if (root.namespaceURI !== NS.metadata || root.localName !== 'EntityDescriptor' || !entityId) throw bad();
  const certs: string[] = [];
  const kds = root.getElementsByTagNameNS(NS.metadata, 'KeyDescriptor');
  for (let i = 0; i < kds.length; i++) {
    const kd = kds.item(i)!;
    const use = kd.getAttribute('use');
    if (use && use !== 'signing') continue;
    const xs = kd.getElementsByTagNameNS(NS.dsig, 'X509Certificate');
    for (let j = 0; j < xs.length; j++) {
      const der = text(xs.item(j)!).replace(/\s+/g, '');
      try {
        new X509Certificate(Buffer.from(der, 'base64'));
      } catch {
        throw bad();
      }
      certs.push(`-----BEGIN CERTIFICATE-----\n${der.replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`);
    }
  }
  if (certs.length === 0) throw bad();
  return { entityId, certs };
}

/**
 * Verifies the Assertion's enveloped signature with the metadata certificates as the only
 * keys and returns the signed Assertion as its own document (what the signature covers).
 */
function verifiedAssertion(xml: string, certs: readonly string[]): Element {
  const response = parseXml(xml, () => invalid('not well-formed XML'));
  const doc = response.ownerDocument;
  if (response.namespaceURI !== NS.protocol || response.localName !== 'Response') throw invalid('the root must be samlp:Response');
  const status = one(response, NS.protocol, 'Status', 'Status');
  const code = one(status, NS.protocol, 'StatusCode', 'StatusCode').getAttribute('Value');
  if (code !== 'urn:oasis:names:tc:SAML:2.0:status:Success') throw invalid('the Response status is not Success');
  if (children(response, NS.assertion, 'EncryptedAssertion').length) throw invalid('encrypted assertions are not supported');
  if (doc.getElementsByTagNameNS(NS.assertion, 'Assertion').length !== 1) throw invalid('exactly one Assertion is required');
  const assertion = one(response, NS.assertion, 'Assertion', 'Assertion');
  const id = assertion.getAttribute('ID') ?? '';
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(id)) throw invalid('the Assertion has no usable ID');
  const signatures = children(assertion, NS.dsig, 'Signature');
  if (signatures.length !== 1) throw invalid('the Assertion must carry exactly one signature');

  for (const pem of certs) {
    const sig = new SignedXml({ publicCert: pem, getCertFromKeyInfo: () => null });
    sig.loadSignature(signatures[0]!);
    let ok: boolean;
    try {
      ok = sig.checkSignature(xml);
    } catch {
      ok = false;
    }
    if (!ok) continue;
    const refs = sig.getReferences();
    if (refs.length !== 1 || refs[0]!.uri !== `#${id}`) throw invalid('the signature must reference the Assertion');
    const signed = sig.getSignedReferences();
    if (signed.length !== 1) throw invalid('the signature must cover exactly the Assertion');
    const root = parseXml(signed[0]!, () => invalid('the signed reference is not XML'));
    if (root.namespaceURI !== NS.assertion || root.localName !== 'Assertion' || root.getAttribute('ID') !== id) {
      throw invalid('the signature must reference the Assertion');
    }
    return root;
  }
  throw invalid('the signature does not verify with the certificate in the SAML provider metadata');
}

function attributeValues(assertion: Element, name: string): string[] {
  const out: string[] = [];
  for (const st of children(assertion, NS.assertion, 'AttributeStatement')) {
    for (const attr of children(st, NS.assertion, 'Attribute')) {
      if (attr.getAttribute('Name') !== name) continue;
      for (const v of children(attr, NS.assertion, 'AttributeValue')) out.push(text(v));
    }
  }
  return out;
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** Does the role's trust policy let this provider assume it for this recipient? */
function checkTrust(trust: string, providerArn: string, recipient: string): void {
  let doc: { Statement?: unknown };
  try {
    doc = JSON.parse(trust) as { Statement?: unknown };
  } catch {
    throw noPermission('the role trust policy cannot be read');
  }
  const statements = asList(doc.Statement) as Array<Record<string, unknown>>;
  const trusting = statements.filter(
    (s) =>
      s['Effect'] === 'Allow' &&
      asList(s['Action']).includes('sts:AssumeRole') &&
      asList((s['Principal'] as Record<string, unknown> | undefined)?.['Federated']).includes(providerArn),
  );
  if (trusting.length === 0) throw noPermission(`the role does not trust the SAML provider ${providerArn}`);
  const satisfied = trusting.some((s) => {
    const cond = (s['Condition'] ?? {}) as Record<string, Record<string, unknown> | undefined>;
    const wanted = asList(cond['StringEquals']?.['saml:recipient']);
    return wanted.length > 0 && wanted.includes(recipient);
  });
  if (!satisfied) throw noPermission(`the Recipient ${recipient} does not satisfy the trust policy condition saml:recipient`);
}

const token = (n: number) => randomBytes(n).toString('base64').replace(/[+/=]/g, '');

export function assumeRoleWithSaml(p: Record<string, string>, ctx: StsContext): Record<string, unknown> {
  const assertionB64 = required(p, 'SAMLAssertion');
  const providerArn = required(p, 'SAMLProviderArn');
  const roleArn = required(p, 'RoleArn');
  if (assertionB64.length < 4 || assertionB64.length > 100_000)
    throw new ApiError(400, 'InvalidParameter.SAMLAssertion', 'The parameter SAMLAssertion must be 4-100000 characters.');
  const pm = PROVIDER_ARN.exec(providerArn);
  if (!pm) throw new ApiError(400, 'InvalidParameter.SAMLProviderArn', 'The parameter SAMLProviderArn is not a SAML provider ARN.');
  const rm = ROLE_ARN.exec(roleArn);
  if (!rm) throw new ApiError(400, 'InvalidParameter.RoleArn', 'The parameter RoleArn is not a role ARN.');
  const [, uid, providerName] = pm as unknown as [string, string, string];
  const [, roleUid, roleName] = rm as unknown as [string, string, string];

  const provider = ctx.accounts.get(uid)?.providers.get(providerName);
  if (!provider) throw new ApiError(404, 'EntityNotExist.SAMLProvider', `The SAML provider ${providerArn} does not exist.`);
  const role = ctx.accounts.get(roleUid)?.roles.get(roleName);
  if (!role) throw new ApiError(404, 'EntityNotExist.RoleArn', `The role ${roleArn} does not exist.`);
  if (roleUid !== uid) throw noPermission('the role and the SAML provider belong to different accounts');

  const duration = p['DurationSeconds'] === undefined ? 3600 : Number(p['DurationSeconds']);
  if (!Number.isInteger(duration) || duration < 900 || duration > role.max) {
    throw new ApiError(
      400,
      'InvalidParameter.DurationSeconds',
      `The DurationSeconds must be between 900 and the role's MaxSessionDuration (${role.max}).`,
    );
  }

  const metadata = readMetadata(provider.doc);
  const xml = strictBase64(assertionB64, () => invalid('SAMLAssertion is not base64'));
  const assertion = verifiedAssertion(xml, metadata.certs);
  const now = ctx.now();

  const issuer = text(one(assertion, NS.assertion, 'Issuer', 'Issuer'));
  if (issuer !== metadata.entityId) throw invalid(`the Issuer ${issuer} is not the entityID of the SAML provider metadata`);

  const conditions = one(assertion, NS.assertion, 'Conditions', 'Conditions');
  const notBefore = time(conditions, 'NotBefore');
  const notOnOrAfter = time(conditions, 'NotOnOrAfter');
  if (notBefore !== undefined && notBefore > now + SKEW_MS) throw expired('it is not valid yet (NotBefore)');
  if (notOnOrAfter === undefined || notOnOrAfter <= now - SKEW_MS) throw expired('Conditions NotOnOrAfter has passed');
  const audiences = children(conditions, NS.assertion, 'AudienceRestriction').flatMap((r) =>
    children(r, NS.assertion, 'Audience').map(text),
  );
  if (!audiences.includes(ctx.audience)) throw invalid(`the Audience must be ${ctx.audience}`);

  const subject = one(assertion, NS.assertion, 'Subject', 'Subject');
  const nameId = one(subject, NS.assertion, 'NameID', 'NameID');
  const bearer = children(subject, NS.assertion, 'SubjectConfirmation').filter(
    (c) => c.getAttribute('Method') === 'urn:oasis:names:tc:SAML:2.0:cm:bearer',
  );
  if (bearer.length !== 1) throw invalid('exactly one bearer SubjectConfirmation is required');
  const data = one(bearer[0]!, NS.assertion, 'SubjectConfirmationData', 'SubjectConfirmationData');
  const recipient = data.getAttribute('Recipient') ?? '';
  const confirmUntil = time(data, 'NotOnOrAfter');
  if (!recipient) throw invalid('SubjectConfirmationData has no Recipient');
  if (confirmUntil === undefined || confirmUntil <= now - SKEW_MS) throw expired('SubjectConfirmationData NotOnOrAfter has passed');

  checkTrust(role.trust, providerArn, recipient);

  const pair = `${roleArn},${providerArn}`;
  if (!attributeValues(assertion, ATTR_ROLE).includes(pair)) throw invalid(`the Role attribute does not carry ${pair}`);
  const names = attributeValues(assertion, ATTR_SESSION_NAME);
  if (names.length !== 1 || !SESSION_NAME.test(names[0]!)) {
    throw new ApiError(
      400,
      'InvalidParameter.RoleSessionName',
      'The RoleSessionName attribute must be one value of 2-64 [A-Za-z0-9_.@=-].',
    );
  }
  const sessionName = names[0]!;

  const replayKey = `${issuer}\n${assertion.getAttribute('ID') ?? ''}`;
  if (ctx.redeemed.has(replayKey)) throw invalid('this assertion has already been used');
  ctx.redeemed.add(replayKey);

  // The token lives min(DurationSeconds, SessionNotOnOrAfter); DurationSeconds is already within the role's maximum.
  let until = now + duration * 1000;
  for (const st of children(assertion, NS.assertion, 'AuthnStatement')) {
    const sessionEnd = time(st, 'SessionNotOnOrAfter');
    if (sessionEnd !== undefined) until = Math.min(until, sessionEnd);
  }
  const expiration = new Date(Math.floor(until / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const cred = {
    accessKeyId: `STS.NT${token(24).slice(0, 25)}`,
    accessKeySecret: token(40).slice(0, 44),
    securityToken: `CAIS${token(180)}`,
  };
  ctx.register({ ...cred, accountId: uid, expiration, roleArn });
  const format = nameId.getAttribute('Format') ?? '';
  return {
    SourceIdentity: '',
    Credentials: {
      AccessKeyId: cred.accessKeyId,
      AccessKeySecret: cred.accessKeySecret,
      SecurityToken: cred.securityToken,
      Expiration: expiration,
    },
    AssumedRoleUser: {
      Arn: `acs:ram::${uid}:assumed-role/${roleName}/${sessionName}`,
      AssumedRoleId: `${role.id}:${sessionName}`,
    },
    SAMLAssertionInfo: {
      SubjectType: format.replace(/^urn:oasis:names:tc:SAML:(1\.1|2\.0):nameid-format:/, ''),
      Subject: text(nameId),
      Recipient: recipient,
      Issuer: issuer,
    },
  };
}
