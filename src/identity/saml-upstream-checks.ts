import { DOMParser } from '@xmldom/xmldom';
import { prescanXml, SAML_PRESCAN_LIMITS, type PrescanLimits } from './xml-prescan.js';

// The checks node-saml leaves to us (node-saml 5 does not compare the Recipient, the
// Destination or the Issuer of a login response), plus shape checks done before any crypto.

const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAMLP_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

const COMMENT_NODE = 8;
const DOCUMENT_TYPE_NODE = 10;

export type Checked<T> = { readonly ok: T } | { readonly refused: string; readonly status: 400 | 403 };

const refuse = (refused: string, status: 400 | 403 = 403): { refused: string; status: 400 | 403 } => ({ refused, status });

function parse(xml: string): Document | undefined {
  // Set by the handlers while parseFromString runs, which flow analysis cannot see.
  let bad = false as boolean;
  try {
    // xmldom 0.8 types the result as a Document with a root element; an empty source gives
    // no document at all, and one without elements a document with no root.
    const doc = new DOMParser({
      errorHandler: { warning: () => {}, error: () => (bad = true), fatalError: () => (bad = true) },
    }).parseFromString(xml, 'text/xml') as Document | undefined;
    const root = doc?.documentElement as Element | null | undefined;
    return bad || !root ? undefined : doc;
  } catch {
    // xmldom throws on some malformed input despite the handler: still the client's fault.
    return undefined;
  }
}

/**
 * Whether any node below `root` has `type`, walked with an explicit stack (no recursion,
 * whatever the depth). Deeper than `maxDepth` counts as found: the caller refuses.
 */
function hasNodeType(root: Node, type: number, maxDepth = SAML_PRESCAN_LIMITS.maxDepth): boolean | 'too-deep' {
  const stack: { node: Node; depth: number }[] = [{ node: root, depth: 0 }];
  for (let top = stack.pop(); top; top = stack.pop()) {
    for (let c = top.node.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === type) return true;
      if (c.firstChild) {
        if (top.depth + 1 > maxDepth) return 'too-deep';
        stack.push({ node: c, depth: top.depth + 1 });
      }
    }
  }
  return false;
}

export interface RawFacts {
  readonly inResponseTo: string | undefined;
  readonly destination: string | undefined;
  readonly responseIssuer: string | undefined;
}

/**
 * The received document as a whole, before signatures are looked at. Exactly one
 * Assertion, a direct child of the Response: every signature-wrapping variant needs a
 * second one (the signed original hidden somewhere, the forged one where a naive reader
 * looks), so this alone refuses them whatever the verifier would have done.
 */
export function inspectResponse(xml: string, limits: PrescanLimits = SAML_PRESCAN_LIMITS): Checked<RawFacts> {
  // Before the parser: depth, size and DOCTYPE on the raw text, in one linear pass.
  const scanned = prescanXml(xml, limits);
  if (!scanned.ok) return refuse(scanned.reason, scanned.reason === 'xml-comment' ? 403 : 400);
  const doc = parse(xml);
  if (!doc) return refuse('malformed-response', 400);
  const doctype = hasNodeType(doc, DOCUMENT_TYPE_NODE);
  if (doctype !== false) return refuse(doctype === true ? 'doctype' : doctype, 400);
  const root = doc.documentElement;
  if (root.namespaceURI !== SAMLP_NS || root.localName !== 'Response') return refuse('not-a-response', 400);
  // Canonicalization drops comments, so a comment can split a signed value
  // (`admin<!---->.evil`) without breaking the signature; a reader that takes the first
  // text node sees `admin`. No IdP we know puts comments in a response.
  const comment = hasNodeType(doc, COMMENT_NODE);
  if (comment !== false) return comment === true ? refuse('xml-comment') : refuse(comment, 400);
  if (doc.getElementsByTagNameNS(SAML_NS, 'EncryptedAssertion').length > 0) return refuse('encrypted-assertion-unsupported', 400);
  const assertions = Array.from(doc.getElementsByTagNameNS(SAML_NS, 'Assertion'));
  if (assertions.length > 1 || (assertions.length === 1 && assertions[0]?.parentNode !== root)) return refuse('assertion-wrapping');
  const attr = (name: string) => (root.hasAttribute(name) ? (root.getAttribute(name) ?? undefined) : undefined);
  const issuer = Array.from(root.childNodes).find(
    (n): n is Element => n.nodeType === 1 && (n as Element).namespaceURI === SAML_NS && (n as Element).localName === 'Issuer',
  );
  return { ok: { inResponseTo: attr('InResponseTo'), destination: attr('Destination'), responseIssuer: issuer?.textContent.trim() } };
}

export interface AssertionFacts {
  readonly id: string;
  /** When the assertion stops being acceptable anyway: the earliest NotOnOrAfter. */
  readonly expiresAt: number | undefined;
}

/**
 * Reads only the assertion node-saml verified (profile.getAssertionXml()): a bearer
 * SubjectConfirmation whose Recipient is our ACS and whose InResponseTo, if any, is the
 * request this browser started.
 */
export function inspectAssertion(assertionXml: string, acsUrl: string, inResponseTo: string | undefined): Checked<AssertionFacts> {
  const doc = parse(assertionXml);
  const assertion = doc?.documentElement;
  if (!assertion || assertion.localName !== 'Assertion' || assertion.namespaceURI !== SAML_NS) return refuse('malformed-assertion', 400);
  const id = assertion.getAttribute('ID');
  if (!id) return refuse('malformed-assertion', 400);
  const data = Array.from(assertion.getElementsByTagNameNS(SAML_NS, 'SubjectConfirmation'))
    .filter((c) => c.getAttribute('Method') === BEARER)
    .flatMap((c) => Array.from(c.getElementsByTagNameNS(SAML_NS, 'SubjectConfirmationData')));
  if (data.length === 0) return refuse('no-bearer-confirmation');
  const forUs = data.filter((d) => d.getAttribute('Recipient') === acsUrl);
  if (forUs.length === 0) return refuse('wrong-recipient');
  const matching = forUs.filter((d) => !d.hasAttribute('InResponseTo') || d.getAttribute('InResponseTo') === inResponseTo);
  if (matching.length === 0) return refuse('request-mismatch');
  const times = [
    ...Array.from(assertion.getElementsByTagNameNS(SAML_NS, 'Conditions')).map((c) => c.getAttribute('NotOnOrAfter')),
    ...matching.map((d) => d.getAttribute('NotOnOrAfter')),
  ]
    .filter((t): t is string => !!t)
    .map((t) => Date.parse(t))
    .filter((t) => Number.isFinite(t));
  return { ok: { id, expiresAt: times.length > 0 ? Math.min(...times) : undefined } };
}

/** node-saml's error messages, sorted into the reasons our audit lines carry. */
export function reasonFor(err: unknown): { reason: string; status: 400 | 403 } {
  const m = err instanceof Error ? err.message : String(err);
  if ((err as { name?: string } | undefined)?.name === 'SamlStatusError' || /provider returned/i.test(m))
    return { reason: 'idp-refused', status: 403 };
  if (/InResponseTo is missing/i.test(m)) return { reason: 'unsolicited-response', status: 403 };
  if (/InResponseTo/i.test(m)) return { reason: 'unknown-request', status: 403 };
  if (/audience/i.test(m)) return { reason: 'wrong-audience', status: 403 };
  if (/expired/i.test(m)) return { reason: 'expired', status: 403 };
  if (/not yet valid/i.test(m)) return { reason: 'not-yet-valid', status: 403 };
  if (/subject confirmation/i.test(m)) return { reason: 'expired', status: 403 };
  if (/signature|signed|multiple assertions|Cannot obtain assertion/i.test(m)) return { reason: 'bad-signature', status: 403 };
  if (/Missing SAML assertion/i.test(m)) return { reason: 'no-assertion', status: 400 };
  return { reason: 'invalid-response', status: 400 };
}
