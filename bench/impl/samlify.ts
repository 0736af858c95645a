import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
// Default import: samlify is CJS and only the default (module.exports) carries SamlLib under Node ESM.
import samlify from 'samlify';
import { createFixture } from '../lib/fixture.js';
import { runImpl } from '../lib/inproc.js';
import { createVerifier } from '../lib/verify.js';
import { ATTR_ROLE, ATTR_ROLE_SESSION_NAME, ATTR_SESSION_DURATION, SITES } from '../../src/alibaba.js';
import { AUTHN_CONTEXT_PASSWORD, samlTime } from '../../src/saml/assertion.js';

// samlify 2 as an IdP: createLoginResponse over the POST binding, the SP asking for a
// signed assertion (RSA-SHA256, exc-c14n), and a login-response template with the same
// elements and attributes we send (Subject/bearer, Conditions/Audience, AuthnStatement,
// Role, RoleSessionName, SessionDuration), filled through samlify's documented
// customTagReplacement. `--key-object` hands samlify a KeyObject instead of the PEM it
// documents, to separate its per-call PEM parse from the rest.
//
// samlify refuses to run without a schema validator. It only validates *incoming*
// messages, which this benchmark never parses, so a no-op validator changes nothing measured.
samlify.setSchemaValidator({ validate: async () => 'skipped' });

const keyObject = process.argv.includes('--key-object');
const fx = await createFixture();
const site = SITES[fx.config.idp.site];
const pem = await readFile(join(fx.config.keys.dir, 'signing.key'), 'utf8');
const role = fx.roles[0];
if (!role) throw new Error('fixture grants no role');

const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const template =
  '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}">' +
  '<saml:Issuer>{Issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{StatusCode}"/></samlp:Status>' +
  '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}">' +
  '<saml:Issuer>{Issuer}</saml:Issuer>' +
  '<saml:Subject><saml:NameID Format="{NameIDFormat}">{NameID}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{SubjectConfirmationDataNotOnOrAfter}" Recipient="{SubjectRecipient}"/></saml:SubjectConfirmation></saml:Subject>' +
  '<saml:Conditions NotBefore="{ConditionsNotBefore}" NotOnOrAfter="{ConditionsNotOnOrAfter}"><saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>' +
  `<saml:AuthnStatement AuthnInstant="{AuthnInstant}" SessionIndex="{SessionIndex}" SessionNotOnOrAfter="{SessionNotOnOrAfter}"><saml:AuthnContext><saml:AuthnContextClassRef>${AUTHN_CONTEXT_PASSWORD}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
  '{AttributeStatement}</saml:Assertion></samlp:Response>';
const uri = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';

const idp = samlify.IdentityProvider({
  entityID: fx.config.idp.entityId,
  signingCert: fx.keys.current.pem,
  privateKey: keyObject ? (fx.keys.privateKey as unknown as string) : pem,
  requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  nameIDFormat: ['urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'],
  singleSignOnService: [{ Binding: POST, Location: `${fx.config.server.baseUrl}/sso` }],
  loginResponseTemplate: {
    context: template,
    attributes: [
      { name: ATTR_ROLE, nameFormat: uri, valueTag: 'role', valueXsiType: 'xs:string' },
      { name: ATTR_ROLE_SESSION_NAME, nameFormat: uri, valueTag: 'sessionName', valueXsiType: 'xs:string' },
      { name: ATTR_SESSION_DURATION, nameFormat: uri, valueTag: 'sessionDuration', valueXsiType: 'xs:string' },
    ],
  },
});
const sp = samlify.ServiceProvider({
  entityID: site.audience,
  assertionConsumerService: [{ Binding: POST, Location: site.acs }],
  wantAssertionsSigned: true,
});
const settings = idp.entitySetting as { generateID: () => string };

// What samlify's README does: fill the template per call, fresh IDs and times each time.
const replace = (context: string) => {
  const now = new Date();
  const at = (s: number) => samlTime(new Date(now.getTime() + s * 1000));
  const id = settings.generateID();
  return {
    id,
    context: samlify.SamlLib.replaceTagsByValue(context, {
      ID: id,
      AssertionID: settings.generateID(),
      Destination: site.acs,
      Audience: site.audience,
      SubjectRecipient: site.acs,
      Issuer: fx.config.idp.entityId,
      IssueInstant: samlTime(now),
      StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
      ConditionsNotBefore: at(-fx.config.idp.clockSkewSeconds),
      ConditionsNotOnOrAfter: at(fx.config.idp.assertionLifetimeSeconds),
      SubjectConfirmationDataNotOnOrAfter: at(fx.config.idp.assertionLifetimeSeconds),
      NameIDFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      NameID: fx.user.id,
      AuthnInstant: samlTime(now),
      SessionIndex: '_bench-session',
      SessionNotOnOrAfter: at(3600),
      attrRole: `${role.roleArn},${role.providerArn}`,
      attrSessionName: fx.user.username,
      attrSessionDuration: String(role.sessionDuration ?? 3600),
    }),
  };
};
// IdP-initiated: no AuthnRequest, so an empty extract (our template has no InResponseTo).
const once = async () => (await idp.createLoginResponse(sp, { extract: {} }, 'post', { email: fx.user.id }, replace)).context;

const check = await createVerifier(fx.config.idp.site, fx.keys.current.pem)(await once());
if (!check.ok) throw new Error(`samlify output does not verify: ${check.reason}`);
await fx.cleanup();

await runImpl(
  keyObject ? 'samlify (KeyObject)' : 'samlify',
  once,
  undefined,
  keyObject
    ? 'samlify 2 createLoginResponse, privateKey passed as a KeyObject'
    : 'samlify 2 createLoginResponse, PEM private key as documented',
);
