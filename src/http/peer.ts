import type { FastifyRequest } from 'fastify';

/**
 * The socket peer: who actually connected (a proxy, or the client itself). Audit lines
 * carry it beside `ip` (request.ip: the forwarded client when the peer is a trusted proxy),
 * so a forged X-Forwarded-For can always be told from where the request really came from.
 */
export function peerOf(request: FastifyRequest): string {
  return remoteAddress(request.socket) ?? remoteAddress(request.raw.socket) ?? '-';
}

// Typed as always there, but Node documents message.socket as possibly "internally nulled"
// (a request whose connection has gone), and an audit line must not throw for that.
function remoteAddress(socket: { readonly remoteAddress?: string | undefined } | null | undefined): string | undefined {
  return socket?.remoteAddress;
}
