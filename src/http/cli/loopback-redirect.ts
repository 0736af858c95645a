// RFC 8252 §7.3: a native app receives the code on a loopback redirect URI with a port.
// Only the literal loopback addresses are accepted (127.0.0.1 and [::1]): never the name
// `localhost` (which a resolver or the hosts file may send elsewhere, RFC 8252 §8.3) and
// never another host, so a code cannot be redirected off the user's computer.

export const REDIRECT_URI_MAX = 512;

export type RedirectCheck = { readonly ok: true; readonly url: URL } | { readonly ok: false; readonly reason: string };

export function checkLoopbackRedirect(value: string): RedirectCheck {
  if (value.length > REDIRECT_URI_MAX || /[\u0000-\u0020\u007f\\]/.test(value)) return { ok: false, reason: 'malformed' };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (url.protocol !== 'http:') return { ok: false, reason: 'not-http' };
  if (url.hostname !== '127.0.0.1' && url.hostname !== '[::1]') return { ok: false, reason: 'not-loopback' };
  // The authority must be exactly the address and a port: no credentials, no default port.
  const authority = /^http:\/\/([^/?#]*)/i.exec(value)?.[1] ?? '';
  if (!/^(127\.0\.0\.1|\[::1\]):[1-9][0-9]{0,4}$/.test(authority) || url.port === '') return { ok: false, reason: 'no-port' };
  if (url.hash || value.includes('#')) return { ok: false, reason: 'fragment' };
  return { ok: true, url };
}

/** The redirect with the answer's parameters added (the command's own query kept). */
export function redirectWith(url: URL, params: Readonly<Record<string, string>>): string {
  const out = new URL(url.href);
  for (const [k, v] of Object.entries(params)) out.searchParams.set(k, v);
  return out.href;
}
