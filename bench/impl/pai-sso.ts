import { createFixture } from '../lib/fixture.js';
import { runImpl } from '../lib/inproc.js';
import { createVerifier } from '../lib/verify.js';
import { siteFacts } from '../../src/alibaba.js';
import { assertionSubject } from '../../src/mapping/subject.js';
import { createIssuer } from '../../src/saml/issue.js';
import { createSigner } from '../../src/saml/sign.js';

// Our request path minus HTTP: assertionSubject (NameID, RoleSessionName), then createIssuer =
// fresh IDs, buildResponseParts, the fast signer and base64, exactly what GET /sso/pai calls.

const fx = await createFixture();
const issue = createIssuer(
  fx.config.idp,
  siteFacts(fx.config.idp.site),
  createSigner({ privateKey: fx.keys.privateKey, certPem: fx.keys.current.pem }, { signResponse: fx.config.idp.signResponse }),
);
const once = () =>
  issue({
    ...assertionSubject(fx.user, fx.config.idp),
    roles: fx.roles,
    authnInstant: new Date(),
    sessionIndex: '_bench-session',
    now: new Date(),
  });

// A benchmark of output nobody accepts is meaningless: check one with node-saml first.
const check = await createVerifier(fx.config.idp.site, fx.keys.current.pem)(once().samlResponse);
if (!check.ok) throw new Error(`pai-sso output does not verify: ${check.reason}`);
await fx.cleanup();

await runImpl('pai-sso', once, undefined, 'createIssuer + createSigner (fast signer), fresh IDs + base64');
