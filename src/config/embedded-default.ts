import { readFile } from 'node:fs/promises';
import { EMBEDDED_CONFIG_PATH, parseConfig } from './load.js';

/**
 * The groups the embedded default config (config/default.yaml) maps: all the first-start
 * `admin` gets, whatever config is served. That user exists so someone can sign in on a
 * fresh install; it should reach the default's one developer role, never every role an
 * operator's config maps (its most privileged mapping included). The operator grants
 * more with `pai-sso user add admin --groups ... --force`. Without the file (the gateway
 * run from elsewhere): no groups, rather than guessed ones.
 */
export async function embeddedDefaultGroups(path: string = EMBEDDED_CONFIG_PATH): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  return [...new Set(parseConfig(text, path, {}).mappings.map((m) => m.group))];
}
