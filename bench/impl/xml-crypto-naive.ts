import { createFixture } from '../lib/fixture.js';
import { runImpl } from '../lib/inproc.js';
import { createVerifier } from '../lib/verify.js';
import { siteFacts } from '../../src/alibaba.js';
import { assertionSubject } from '../../src/mapping/subject.js';
import { createIssuer } from '../../src/saml/issue.js';
import { createReferenceSigner } from '../../test/helpers/sign-reference.js';

// The baseline: the same builder and issuer, signed the straightforward way (xml-crypto:
// parse, XPath, exclusive c14n, digest, c14n SignedInfo, sign, serialise). Same KeyObject.

const fx = await createFixture();
const issue = createIssuer(
  fx.config.idp,
  siteFacts(fx.config.idp.site),
  createReferenceSigner({ privateKey: fx.keys.privateKey, certPem: fx.keys.current.pem }, { signResponse: fx.config.idp.signResponse }),
);
const once = () =>
  issue({
    ...assertionSubject(fx.user, fx.config.idp),
    roles: fx.roles,
    authnInstant: new Date(),
    sessionIndex: '_bench-session',
    now: new Date(),
  });

const check = await createVerifier(fx.config.idp.site, fx.keys.current.pem)(once().samlResponse);
if (!check.ok) throw new Error(`xml-crypto-naive output does not verify: ${check.reason}`);
await fx.cleanup();

await runImpl('xml-crypto-naive', once, undefined, 'createIssuer + createReferenceSigner (xml-crypto 6), KeyObject');
