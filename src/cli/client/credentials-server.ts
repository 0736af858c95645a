import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PaiSsoError } from '../../errors.js';
import { credentialsUriBody } from './formats.js';
import type { CachedCredentials } from './credential-cache.js';

// `pai-sso credentials serve`: the Credentials URI protocol on loopback, for
// ALIBABA_CLOUD_CREDENTIALS_URI (the SDKs' default chain) and the aliyun CLI's
// CredentialsURI mode. GET answers 200 with {Code: "Success", AccessKeyId, ...}, fresh
// (refreshed through the gateway when near expiry), or 503 {Code: "Failure", Message}.
// Only requests addressed to this loopback listener by name are answered (a DNS-rebinding
// page would send another Host), and none from a browser page (Origin).

export interface CredentialsServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startCredentialsServer(
  port: number,
  obtain: () => Promise<CachedCredentials>,
  onError: (message: string) => void,
): Promise<CredentialsServer> {
  let actualPort = port;
  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const hosts = [`127.0.0.1:${actualPort}`, `localhost:${actualPort}`];
    if (req.method !== 'GET' || !hosts.includes(req.headers.host ?? '') || req.headers.origin !== undefined) {
      send(res, 403, { Code: 'Failure', Message: 'refused' });
      return;
    }
    obtain().then(
      (c) => send(res, 200, credentialsUriBody(c.credentials)),
      (err: unknown) => {
        const message = err instanceof PaiSsoError ? err.message : `cannot get credentials: ${(err as Error).message}`;
        onError(message);
        send(res, 503, { Code: 'Failure', Message: message });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  actualPort = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actualPort}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
