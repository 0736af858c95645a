import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import samlify, { type ServiceProviderInstance } from 'samlify';
import { generateSigningPair, type GeneratedPair } from '../../src/keys/generate.js';

// The IdP side of the tests is samlify: an implementation that shares no code with our
// signer or with node-saml's verifier. Its XML schema check is switched off: samlify
// insists on a validator and none ships with it. That affects only how the test IdP
// reads our AuthnRequest, never how the gateway reads a response.
samlify.setSchemaValidator({ validate: async () => 'skipped' });

const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

export interface IdpUser {
  readonly nameId: string;
  readonly attributes?: Readonly<Record<string, readonly string[]>>;
}

/** Deviations from a correct response, to build what an attacker or a broken IdP sends. */
export interface ResponseTweaks {
  readonly audience?: string;
  readonly recipient?: string;
  readonly destination?: string;
  /** The Issuer of both the Response and the Assertion. */
  readonly issuer?: string;
  /** The Response's own Issuer only (outside the assertion's signature). */
  readonly responseIssuer?: string;
  /** The Assertion's Issuer only (signed, so the assertion still verifies). */
  readonly assertionIssuer?: string;
  /** Shift every timestamp by this many ms (negative: a response issued in the past). */
  readonly shiftMs?: number;
  /** null: no InResponseTo at all (IdP-initiated). */
  readonly inResponseTo?: string | null;
  /** Sign with a key the gateway never pinned; its own certificate goes into KeyInfo. */
  readonly foreignKey?: boolean;
  /** The AuthnContextClassRef of the AuthnStatement (default PasswordProtectedTransport). */
  readonly authnContextClassRef?: string;
}

export interface TestIdp {
  readonly entityId: string;
  readonly ssoUrl: string;
  readonly metadataXml: string;
  readonly pair: GeneratedPair;
  /** Who the next login at the SSO URL signs in, and how the response is bent. */
  user: IdpUser;
  tweaks: ResponseTweaks;
  /** The last AuthnRequest received at the SSO URL, as XML. */
  lastRequestXml: string | undefined;
  /** A signed response straight from samlify, base64. */
  respond(requestId: string | null, user: IdpUser, tweaks?: ResponseTweaks): Promise<string>;
  /** Points the IdP at our SP (its metadata), once the gateway is up. */
  trustSp(spMetadataXml: string, opts?: { signResponse?: boolean }): void;
  close(): Promise<void>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function attributeStatement(attributes: Readonly<Record<string, readonly string[]>>): string {
  const attrs = Object.entries(attributes)
    .map(
      ([name, values]) =>
        `<saml:Attribute Name="${esc(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">${values
          .map((v) => `<saml:AttributeValue xsi:type="xs:string">${esc(v)}</saml:AttributeValue>`)
          .join('')}</saml:Attribute>`,
    )
    .join('');
  return attrs ? `<saml:AttributeStatement>${attrs}</saml:AttributeStatement>` : '';
}

export async function startTestIdp(opts: { entityId?: string; pair?: GeneratedPair; foreignPair?: GeneratedPair } = {}): Promise<TestIdp> {
  const entityId = opts.entityId ?? 'https://idp.example.test/saml';
  const pair = opts.pair ?? (await generateSigningPair('idp.example.test', 30));
  const foreign = opts.foreignPair ?? (await generateSigningPair('idp.example.test', 30));
  let sp: ServiceProviderInstance | undefined;

  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const ssoUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sso`;

  const idpFor = (p: GeneratedPair) =>
    samlify.IdentityProvider({
      entityID: entityId,
      privateKey: p.keyPem,
      signingCert: p.certPem,
      nameIDFormat: [PERSISTENT],
      singleSignOnService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: ssoUrl }],
    });
  const idp = idpFor(pair);
  const impostor = idpFor(foreign);

  const respond = async (requestId: string | null, user: IdpUser, tweaks: ResponseTweaks = {}): Promise<string> => {
    if (!sp) throw new Error('test IdP: trustSp() first');
    const acs = sp.entityMeta.getAssertionConsumerService('post') as string;
    const t = Date.now() + (tweaks.shiftMs ?? 0);
    const iso = (ms: number) => new Date(ms).toISOString();
    const inResponseTo = tweaks.inResponseTo === undefined ? requestId : tweaks.inResponseTo;
    const values: Record<string, string | null> = {
      ID: `_${randomBytes(16).toString('hex')}`,
      AssertionID: `_${randomBytes(16).toString('hex')}`,
      Destination: tweaks.destination ?? acs,
      Audience: tweaks.audience ?? sp.entityMeta.getEntityID(),
      SubjectRecipient: tweaks.recipient ?? acs,
      ResponseIssuer: tweaks.responseIssuer ?? tweaks.issuer ?? entityId,
      Issuer: tweaks.assertionIssuer ?? tweaks.issuer ?? entityId,
      IssueInstant: iso(t),
      StatusCode: SUCCESS,
      ConditionsNotBefore: iso(t - 30_000),
      ConditionsNotOnOrAfter: iso(t + 300_000),
      SubjectConfirmationDataNotOnOrAfter: iso(t + 300_000),
      NameIDFormat: PERSISTENT,
      NameID: user.nameId,
      InResponseTo: inResponseTo,
    };
    const authn = `<saml:AuthnStatement AuthnInstant="${iso(t)}" SessionIndex="_s${randomBytes(8).toString('hex')}"><saml:AuthnContext><saml:AuthnContextClassRef>${esc(tweaks.authnContextClassRef ?? 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport')}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
    const signer = tweaks.foreignKey ? impostor : idp;
    const result = await signer.createLoginResponse(
      sp,
      { extract: { request: { id: requestId ?? '' } } },
      'post',
      { email: user.nameId },
      {
        customTagReplacement: (template: string) => {
          // Scalars through samlify's own (escaping) substitution; the two statements are markup.
          // The template's first {Issuer} is the Response's, the second the Assertion's.
          const context = samlify.SamlLib.replaceTagsByValue(template.replace('{Issuer}', '{ResponseIssuer}'), values)
            .replace('{AuthnStatement}', authn)
            .replace('{AttributeStatement}', attributeStatement(user.attributes ?? {}));
          return { id: values['ID'] as string, context };
        },
      },
    );
    return result.context;
  };

  const self: TestIdp = {
    entityId,
    ssoUrl,
    metadataXml: idp.getMetadata(),
    pair,
    user: { nameId: 'nobody' },
    tweaks: {},
    lastRequestXml: undefined,
    respond,
    trustSp(spMetadataXml, o = {}) {
      sp = samlify.ServiceProvider({ metadata: spMetadataXml, wantMessageSigned: o.signResponse ?? false });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  // GET /sso?SAMLRequest=…: parse our AuthnRequest as a real IdP would, then answer with
  // the auto-POST form a browser would submit to our ACS.
  server.on('request', (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', ssoUrl);
      if (url.pathname !== '/sso' || !sp) {
        res.writeHead(404).end();
        return;
      }
      try {
        self.lastRequestXml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
        const parsed = await idp.parseLoginRequest(sp, 'redirect', {
          query: Object.fromEntries(url.searchParams),
          octetString: '',
        });
        const requestId = (parsed.extract as { request?: { id?: string } }).request?.id ?? null;
        const samlResponse = await respond(requestId, self.user, self.tweaks);
        const acs = sp.entityMeta.getAssertionConsumerService('post') as string;
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          `<form method="post" action="${esc(acs)}"><input type="hidden" name="SAMLResponse" value="${samlResponse}"/><input type="hidden" name="RelayState" value="opaque"/></form>`,
        );
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`test IdP refused the request: ${(err as Error).message}`);
      }
    })();
  });
  return self;
}

/** The form the IdP's page would auto-submit. */
export function idpForm(html: string): { action: string; samlResponse: string; relayState: string } {
  const action = /action="([^"]+)"/.exec(html)?.[1];
  const samlResponse = /name="SAMLResponse" value="([^"]+)"/.exec(html)?.[1];
  const relayState = /name="RelayState" value="([^"]*)"/.exec(html)?.[1] ?? '';
  if (!action || !samlResponse) throw new Error(`no SAML form from the IdP: ${html.slice(0, 200)}`);
  return { action: action.replace(/&amp;/g, '&'), samlResponse, relayState };
}
