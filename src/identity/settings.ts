import { ConfigError, type ConfigProblem } from '../config/errors.js';

/**
 * What a source makes of its config section before it starts: everything it can check
 * without the network (settings the schema cannot express, files it reads, environment
 * variables it needs). `pai-sso check` and the source factories run the same functions,
 * so check fails exactly where serve would.
 */
export type Settled<T> = { readonly ok: T } | { readonly problems: readonly ConfigProblem[] };

/** `ok: build()` when nothing was found, else the problems. */
export function settle<T>(problems: readonly ConfigProblem[], build: () => T): Settled<T> {
  return problems.length > 0 ? { problems } : { ok: build() };
}

export function problemsOf(settled: Settled<unknown>): readonly ConfigProblem[] {
  return 'problems' in settled ? settled.problems : [];
}

/** The settings, or a ConfigError (exit 2) naming every problem of `section`. */
export function settledOrThrow<T>(section: string, settled: Settled<T>): T {
  if ('problems' in settled) throw new ConfigError(section, settled.problems);
  return settled.ok;
}
