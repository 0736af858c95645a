import { PaiSsoError } from '../errors.js';

export interface ConfigProblem {
  readonly path: string;
  readonly reason: string;
}

/** A config that cannot be served. Carries every problem found, not just the first. */
export class ConfigError extends PaiSsoError {
  readonly problems: readonly ConfigProblem[];
  readonly source: string;

  constructor(source: string, problems: readonly ConfigProblem[]) {
    super('PAI_SSO_CONFIG_INVALID', 'config', `invalid config ${source}:\n${problems.map((p) => `  ${p.path}: ${p.reason}`).join('\n')}`);
    this.source = source;
    this.problems = problems;
  }
}
