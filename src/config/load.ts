import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { parse, YAMLParseError } from 'yaml';
import { ConfigError } from './errors.js';
import { validateConfig } from './validate.js';
import { applyDefaultUsersFile } from './data-dir.js';
import type { Config } from './schema.js';

export const DEFAULT_CONFIG_PATH = 'config/gateway.yaml';
/** Shipped in the repo so a fresh clone starts with nothing else. */
export const EMBEDDED_CONFIG_PATH = 'config/default.yaml';

export interface LoadedConfig {
  readonly config: Config;
  readonly path: string;
  readonly embedded: boolean;
  /** Worth telling the operator, not worth refusing to start (e.g. a file in its old place). */
  readonly warnings?: readonly string[];
}

export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv): { path: string; embedded: boolean } {
  const explicit = flag ?? env['PAI_SSO_CONFIG'];
  if (explicit) return { path: explicit, embedded: false };
  if (existsSync(DEFAULT_CONFIG_PATH)) return { path: DEFAULT_CONFIG_PATH, embedded: false };
  return { path: EMBEDDED_CONFIG_PATH, embedded: true };
}

export function parseConfig(text: string, source: string, env: NodeJS.ProcessEnv = {}, warnings: string[] = []): Config {
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true, maxAliasCount: 50 });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const [line, col] = err.linePos?.[0] ? [err.linePos[0].line, err.linePos[0].col] : [0, 0];
      throw new ConfigError(source, [{ path: `(line ${line}, column ${col})`, reason: err.message.split('\n')[0] ?? 'invalid YAML' }]);
    }
    throw err;
  }
  // The environment wins over the file for where to listen: containers and PaaS set these.
  const server = doc && typeof doc === 'object' ? (doc as { server?: Record<string, unknown> }).server : undefined;
  if (server && typeof server === 'object') {
    if (env['PORT']) {
      const port = Number(env['PORT']);
      if (!Number.isInteger(port)) throw new ConfigError(source, [{ path: 'PORT (environment)', reason: 'must be an integer' }]);
      server['port'] = port;
    }
    if (env['PAI_SSO_HOST']) server['host'] = env['PAI_SSO_HOST'];
  }
  const usersWarning = applyDefaultUsersFile(doc, env);
  if (usersWarning) warnings.push(usersWarning);
  const result = validateConfig(doc);
  if (!result.ok) throw new ConfigError(source, result.problems);
  return result.config;
}

export async function loadConfig(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const { path, embedded } = resolveConfigPath(flag, env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(path, [{ path: '(file)', reason: `cannot be read (${code})` }]);
  }
  const warnings: string[] = [];
  return { config: parseConfig(text, path, env, warnings), path, embedded, warnings };
}
