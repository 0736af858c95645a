// oidc-provider ships no type declarations; this is the slice the tests use.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface ProviderContext {
    readonly path: string;
    readonly method: string;
    body: unknown;
    status: number;
  }

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    readonly issuer: string;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: (ctx: ProviderContext, next: () => Promise<void>) => Promise<void>): void;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: { login?: Record<string, unknown>; [key: string]: unknown },
      options?: Record<string, unknown>,
    ): Promise<void>;
  }
}
