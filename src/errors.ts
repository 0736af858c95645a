// One error base for the whole gateway, after jose's `JOSEError` and Fastify's `FST_ERR_*`:
// every error we raise on purpose carries a stable `code` that tests, logs and operators can
// match on, and a `kind` that alone decides the CLI exit code and the HTTP status. Callers never
// map errors with `instanceof` chains; they ask `exitCodeFor` / `httpStatusFor`.

/**
 * - `usage`: the command line is wrong (exit 2).
 * - `config`: the configuration, or a file it names, cannot be served (exit 2).
 * - `unavailable`: a dependency that guards access (state store, directory, upstream IdP,
 *   cloud API) cannot be reached; the request is refused, never granted (exit 1, HTTP 503).
 * - `refused`: the client sent something we will not act on (HTTP 400).
 * - `runtime`: anything else that went wrong on our side (exit 1, HTTP 500).
 */
export type ErrorKind = 'usage' | 'config' | 'unavailable' | 'refused' | 'runtime';

export const EXIT = { ok: 0, failure: 1, usage: 2, drift: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const BY_KIND: Readonly<Record<ErrorKind, { readonly exit: ExitCode; readonly status: number }>> = {
  usage: { exit: EXIT.usage, status: 400 },
  config: { exit: EXIT.usage, status: 500 },
  unavailable: { exit: EXIT.failure, status: 503 },
  refused: { exit: EXIT.failure, status: 400 },
  runtime: { exit: EXIT.failure, status: 500 },
};

export class PaiSsoError extends Error {
  /** Stable, upper snake case, prefixed `PAI_SSO_`; safe to show and to match on. */
  readonly code: string;
  readonly kind: ErrorKind;

  constructor(code: string, kind: ErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.kind = kind;
    this.name = new.target.name;
  }
}

export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof PaiSsoError) return BY_KIND[err.kind].exit;
  // node:util parseArgs reports bad flags with ERR_PARSE_ARGS_*; those are usage errors too.
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS') ? EXIT.usage : EXIT.failure;
}

export function httpStatusFor(err: unknown): number {
  return err instanceof PaiSsoError ? BY_KIND[err.kind].status : 500;
}

export class UsageError extends PaiSsoError {
  constructor(message: string, options?: ErrorOptions) {
    super('PAI_SSO_USAGE', 'usage', message, options);
  }
}
