import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.js';
import { checkSecurityToken } from './sts.js';

// ACS3-HMAC-SHA256, recomputed from what arrived on the wire, as every service checks it.

export interface EmulatorCredential {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly accountId: string;
  readonly securityToken?: string;
}

/** The SDK's encoding (RFC 3986: encodeURIComponent plus !'()*). */
function encode(s: string): string {
  return encodeURIComponent(s).replace(/!/g, '%21').replace(/'/g, '%27').replace(/\(/g, '%28').replace(/\)/g, '%29').replace(/\*/g, '%2A');
}

export function parseQuery(raw: string): Array<[string, string]> {
  if (!raw) return [];
  return raw.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    const v = eq < 0 ? '' : pair.slice(eq + 1);
    return [decodeURIComponent(k.replace(/\+/g, ' ')), decodeURIComponent(v.replace(/\+/g, ' '))];
  });
}

/** Recomputes the ACS3-HMAC-SHA256 signature; `nonces` remembers every nonce already used. */
export function authenticate(
  req: IncomingMessage,
  body: Buffer,
  creds: ReadonlyMap<string, EmulatorCredential>,
  nonces: Set<string>,
): EmulatorCredential {
  const auth = req.headers['authorization'] ?? '';
  const m = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)$/.exec(auth);
  if (!m) throw new ApiError(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.');
  const [, akId, signedHeaderList, signature] = m as unknown as [string, string, string, string];
  const cred = creds.get(akId);
  if (!cred) throw new ApiError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
  const signed = signedHeaderList.split(';');
  for (const h of ['host', 'x-acs-date', 'x-acs-content-sha256', 'x-acs-signature-nonce', 'x-acs-action', 'x-acs-version']) {
    if (!signed.includes(h)) throw new ApiError(400, 'IncompleteSignature', `Header ${h} must be signed.`);
  }
  const payloadHash = createHash('sha256').update(body).digest('hex');
  if (req.headers['x-acs-content-sha256'] !== payloadHash)
    throw new ApiError(400, 'ContentSHA256NotMatched', 'The x-acs-content-sha256 header does not match the body.');
  const [rawPath, rawQuery = ''] = (req.url ?? '/').split('?', 2) as [string, string?];
  const canonicalQuery = parseQuery(rawQuery)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .join('&');
  const canonicalHeaders = signed.map((h) => `${h}:${String(req.headers[h] ?? '').trim()}\n`).join('');
  const canonical = [req.method, rawPath, canonicalQuery, canonicalHeaders, signed.join(';'), payloadHash].join('\n');
  const toSign = `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonical).digest('hex')}`;
  const expected = createHmac('sha256', cred.accessKeySecret).update(toSign).digest();
  const got = Buffer.from(signature, 'hex');
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    throw new ApiError(400, 'SignatureDoesNotMatch', 'Specified signature is not matched with our calculation.');
  }
  const date = Date.parse(String(req.headers['x-acs-date'] ?? ''));
  if (!Number.isFinite(date) || Math.abs(Date.now() - date) > 15 * 60_000)
    throw new ApiError(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.');
  const nonce = String(req.headers['x-acs-signature-nonce'] ?? '');
  if (nonces.has(nonce)) throw new ApiError(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.');
  nonces.add(nonce);
  checkSecurityToken(req, cred);
  return cred;
}
