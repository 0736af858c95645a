import { sign } from 'node:crypto';
import { createFixture } from '../lib/fixture.js';
import { runImpl } from '../lib/inproc.js';
import { siteFacts } from '../../src/alibaba.js';
import { assertionSubject } from '../../src/mapping/subject.js';
import { createIssuer } from '../../src/saml/issue.js';
import { createSigner } from '../../src/saml/sign.js';

// The ceiling: one RSA-2048 PKCS#1 v1.5 signature over exactly as many bytes as our
// canonical SignedInfo, with a parsed KeyObject. Every SAML signer has to do at least this.

const fx = await createFixture();
const issue = createIssuer(
  fx.config.idp,
  siteFacts(fx.config.idp.site),
  createSigner({ privateKey: fx.keys.privateKey, certPem: fx.keys.current.pem }, { signResponse: false }),
);
const xml = Buffer.from(
  issue({ ...assertionSubject(fx.user, fx.config.idp), roles: fx.roles, authnInstant: new Date(), sessionIndex: '_s', now: new Date() })
    .samlResponse,
  'base64',
).toString('utf8');
const inner = /<ds:SignedInfo>([\s\S]*?)<\/ds:SignedInfo>/.exec(xml)?.[1];
if (!inner) throw new Error('no SignedInfo in our own output');
// As signed: the canonical form declares the ds namespace on SignedInfo itself.
const signedInfo = Buffer.from(`<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">${inner}</ds:SignedInfo>`, 'utf8');
const key = fx.keys.privateKey;
await fx.cleanup();

await runImpl(
  'raw-rsa',
  () => sign('sha256', signedInfo, key),
  undefined,
  `crypto.sign RSA-2048 over ${signedInfo.length} B (our SignedInfo), KeyObject`,
);
