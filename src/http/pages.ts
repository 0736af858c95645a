import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { messagePage } from './views.js';

export const newNonce = (): string => randomBytes(16).toString('base64');

/**
 * Every HTML page goes out through here: a fresh nonce, a CSP that allows exactly our
 * inline style and script, and no caching (pages carry CSRF tokens or assertions).
 */
export function sendHtml(
  reply: FastifyReply,
  status: number,
  nonce: string,
  body: string,
  formAction: readonly string[] = ["'self'"],
): FastifyReply {
  const csp = [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `form-action ${formAction.join(' ')}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return reply
    .code(status)
    .header('content-security-policy', csp)
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .type('text/html; charset=utf-8')
    .send(body);
}

/** A page that only tells the user something (a refusal, an error): a title, one message and, unless `back` is false, a link home. */
export function sendMessage(reply: FastifyReply, status: number, title: string, message: string, back = true): FastifyReply {
  const nonce = newNonce();
  return sendHtml(reply, status, nonce, messagePage(nonce, title, message, back));
}

/** Only our own absolute paths: no scheme, no host, no `//evil` or `/\evil`. */
export function safeReturnTo(value: string | undefined): string {
  if (!value || value.length > 1024 || !value.startsWith('/') || value.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(value)) {
    return '/';
  }
  try {
    const u = new URL(value, 'http://gateway.invalid');
    // Checked again after parsing: dot-segments (`/.//evil`, `/%2e%2e//evil`) normalise
    // into a scheme-relative `//evil` that a browser would follow off-site.
    if (u.origin !== 'http://gateway.invalid' || u.pathname.startsWith('//') || u.pathname.includes('\\')) return '/';
    return `${u.pathname}${u.search}`;
  } catch {
    return '/';
  }
}
