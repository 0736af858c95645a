import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PaiSsoError } from '../../errors.js';
import { CLIENT_ID, type GatewayApi, type TokenResponse } from './gateway-api.js';
import type { UrlOpener } from './browser.js';

// The browser flow of a native app (RFC 8252 §7.3, like `gcloud auth login`): listen on
// 127.0.0.1 on a port the kernel picks, open the gateway's consent page with `state` and a
// PKCE S256 challenge, wait for the one redirect that carries our state, then exchange the
// code with the verifier. The code is useless without the verifier, which never leaves
// this process; the assertion comes back in the token response body, never in a URL.

const WAIT_MS = 5 * 60_000;

export interface LoopbackOptions {
  readonly gateway: string;
  readonly api: GatewayApi;
  readonly role?: string;
  readonly durationSeconds: number;
  readonly open: UrlOpener;
  /** Where the URL is shown (stderr). */
  readonly say: (line: string) => void;
  readonly signal?: AbortSignal;
}

const page = (title: string, text: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`;

function answer(res: ServerResponse, status: number, title: string, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'referrer-policy': 'no-referrer',
  });
  res.end(page(title, text));
}

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export async function loopbackLogin(opts: LoopbackOptions): Promise<TokenResponse> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(24).toString('base64url');

  let settle: { resolve: (code: string) => void; reject: (err: Error) => void } | undefined;
  const result = new Promise<string>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== '/callback') {
      answer(res, 404, 'Not found', 'Nothing here.');
      return;
    }
    const got = url.searchParams.get('state') ?? '';
    // Only the redirect that carries our state counts; anything else is ignored.
    if (!same(got, state)) {
      answer(res, 400, 'Not this sign-in', 'This answer does not belong to the pai-sso command waiting here.');
      return;
    }
    const error = url.searchParams.get('error');
    const code = url.searchParams.get('code');
    if (error !== null || !code) {
      answer(res, 200, 'Access denied', 'pai-sso gets no credentials. You can close this window.');
      const why = url.searchParams.get('error_description');
      settle?.reject(
        new PaiSsoError(
          'PAI_SSO_CLI_DENIED',
          'runtime',
          `the sign-in was not allowed (${error ?? 'no code'}${why ? `: ${why.slice(0, 64).replace(/[^\w .-]/g, '')}` : ''})`,
        ),
      );
      return;
    }
    answer(res, 200, 'Signed in', 'pai-sso is getting your credentials. You can close this window and return to the terminal.');
    settle?.resolve(code);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirectUri,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    duration: String(opts.durationSeconds),
    ...(opts.role !== undefined ? { role: opts.role } : {}),
  });
  const authorize = `${opts.gateway}/cli/authorize?${query.toString()}`;
  const timer = setTimeout(
    () => settle?.reject(new PaiSsoError('PAI_SSO_CLI_TIMEOUT', 'runtime', 'no answer from the browser within 5 minutes')),
    WAIT_MS,
  );
  const onAbort = () => settle?.reject(new PaiSsoError('PAI_SSO_CLI_ABORTED', 'runtime', 'cancelled'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const opened = await opts.open(authorize);
    opts.say(
      opened
        ? `Opening your browser to sign in. If it does not open, visit:\n\n  ${authorize}\n`
        : `Open this address in your browser to sign in:\n\n  ${authorize}\n`,
    );
    const code = await result;
    return await opts.api.exchangeCode(code, verifier, redirectUri);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
