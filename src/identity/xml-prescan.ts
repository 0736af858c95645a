/**
 * A linear pass over raw XML text before any parser sees it. XML parsers, c14n and
 * DOM walkers (ours, xmldom's getElementsByTagNameNS, xml-crypto's) recurse per level,
 * so a 20,000-deep document overflows the stack; and parse time grows with the element
 * count. This refuses what no SAML Response needs, in one loop without recursion,
 * before the expensive work: a DOCTYPE, comments, nesting beyond `maxDepth`, more than
 * `maxElements` elements, and markup it cannot read (left to the parser to name).
 */

export interface PrescanLimits {
  readonly maxDepth: number;
  /** Elements in the document; attributes (namespace declarations included) may be twice as many. */
  readonly maxElements: number;
}

/**
 * Deeper than any IdP's Response (about 8 levels with a signature's KeyInfo), far below
 * the stack; elements for a Response with a couple of thousand group values.
 */
export const SAML_PRESCAN_LIMITS: PrescanLimits = { maxDepth: 40, maxElements: 2500 };

export type PrescanRefusal = 'doctype' | 'xml-comment' | 'too-deep' | 'too-many-elements';
export type PrescanResult = { readonly ok: true } | { readonly ok: false; readonly reason: PrescanRefusal };

/** Index just past the `>` that ends the tag opened at `from` (quotes respected; -1 if none) and its `=` count. */
function tagEnd(xml: string, from: number): { end: number; attributes: number } {
  let quote: string | undefined;
  let attributes = 0;
  for (let i = from; i < xml.length; i++) {
    const c = xml[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '=') {
      attributes++;
    } else if (c === '>') {
      return { end: i + 1, attributes };
    }
  }
  return { end: -1, attributes };
}

export function prescanXml(xml: string, limits: PrescanLimits = SAML_PRESCAN_LIMITS): PrescanResult {
  let depth = 0;
  let elements = 0;
  let attributes = 0;
  let i = xml.indexOf('<');
  while (i >= 0 && i < xml.length) {
    const next = xml[i + 1];
    let end: number;
    if (next === '?') {
      // XML declaration or processing instruction.
      const close = xml.indexOf('?>', i + 2);
      end = close < 0 ? xml.length : close + 2;
    } else if (next === '!') {
      if (xml.startsWith('<!--', i)) return { ok: false, reason: 'xml-comment' };
      if (xml.startsWith('<![CDATA[', i)) {
        const close = xml.indexOf(']]>', i + 9);
        end = close < 0 ? xml.length : close + 3;
      } else {
        // <!DOCTYPE, <!ENTITY, <!ELEMENT ...: none belongs in a SAML message.
        return { ok: false, reason: 'doctype' };
      }
    } else if (next === '/') {
      depth--;
      const close = xml.indexOf('>', i + 2);
      end = close < 0 ? xml.length : close + 1;
    } else {
      const tag = tagEnd(xml, i + 1);
      const close = tag.end;
      end = close < 0 ? xml.length : close;
      elements++;
      attributes += tag.attributes;
      if (elements > limits.maxElements || attributes > 2 * limits.maxElements) return { ok: false, reason: 'too-many-elements' };
      if (close < 0 || xml[close - 2] !== '/') {
        depth++;
        if (depth > limits.maxDepth) return { ok: false, reason: 'too-deep' };
      }
    }
    i = xml.indexOf('<', end);
  }
  return { ok: true };
}
