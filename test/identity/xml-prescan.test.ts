import { describe, expect, it } from 'vitest';
import { prescanXml } from '../../src/identity/xml-prescan.js';

const limits = { maxDepth: 4, maxElements: 6 };

describe('the raw-text scan before the XML parser', () => {
  it('passes ordinary markup: declarations, self-closing tags, quoted > and /, CDATA holding markup', () => {
    expect(prescanXml('<?xml version="1.0"?><a x=">" y=\'/\'><b/><c><d>t</d></c><![CDATA[<e><f><g><h><i>]]></a>', limits)).toEqual({
      ok: true,
    });
    expect(prescanXml('<a><b><c><d/></c></b></a>', limits)).toEqual({ ok: true });
  });

  it('counts depth without recursion and refuses one level too deep', () => {
    expect(prescanXml('<a><b><c><d></d></c></b></a>', limits)).toEqual({ ok: true });
    expect(prescanXml('<a><b><c><d><e/></d></c></b></a>', limits)).toEqual({ ok: true });
    expect(prescanXml('<a><b><c><d><e></e></d></c></b></a>', limits)).toEqual({ ok: false, reason: 'too-deep' });
    const huge = `${'<a>'.repeat(200_000)}${'</a>'.repeat(200_000)}`;
    expect(prescanXml(huge)).toEqual({ ok: false, reason: 'too-deep' });
  });

  it('refuses too many elements, and too many attributes', () => {
    expect(prescanXml('<a><b/><b/><b/><b/><b/></a>', limits)).toEqual({ ok: true });
    expect(prescanXml('<a><b/><b/><b/><b/><b/><b/></a>', limits)).toEqual({ ok: false, reason: 'too-many-elements' });
    expect(prescanXml(`<a ${Array.from({ length: 13 }, (_, i) => `x${i}="1"`).join(' ')}/>`, limits)).toEqual({
      ok: false,
      reason: 'too-many-elements',
    });
  });

  it('refuses a DOCTYPE (and any other declaration) and comments, wherever they are', () => {
    expect(prescanXml('<!DOCTYPE r [<!ENTITY x "y">]><a/>', limits)).toEqual({ ok: false, reason: 'doctype' });
    expect(prescanXml('<a><!ENTITY x "y"></a>', limits)).toEqual({ ok: false, reason: 'doctype' });
    expect(prescanXml('<a>admin<!---->.evil</a>', limits)).toEqual({ ok: false, reason: 'xml-comment' });
    // Not fooled by a DOCTYPE inside an attribute value or CDATA: those are text.
    expect(prescanXml('<a x="&lt;!DOCTYPE"><![CDATA[<!DOCTYPE]]></a>', limits)).toEqual({ ok: true });
  });

  it('leaves unterminated markup to the parser, which names it malformed', () => {
    expect(prescanXml('<a x="unterminated', limits)).toEqual({ ok: true });
    expect(prescanXml('not xml at all <', limits)).toEqual({ ok: true });
  });
});
