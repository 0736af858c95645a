import { PaiSsoError, UsageError } from '../../errors.js';
import { PROFILE_PATTERN, profileFile, readJson, writePrivateJson } from './files.js';

// A profile is what `pai-sso credentials --profile X` needs to find its way back without
// flags (the aliyun CLI runs it as a process_command): the gateway, the role, the
// duration and the STS endpoint `pai-sso login` was given.

export interface Profile {
  readonly gateway: string;
  readonly role?: string;
  readonly durationSeconds?: number;
  readonly stsEndpoint?: string;
}

/** https, or http on a loopback address (a gateway on this computer, tests). */
export function gatewayUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--gateway must be a URL, not "${value}"`);
  }
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new UsageError(`--gateway must be an https URL (http only on this computer's loopback), not "${value}"`);
  }
  if (url.username || url.password || url.search || url.hash) throw new UsageError('--gateway must be a plain base URL');
  return url.href.replace(/\/+$/, '');
}

export function checkProfileName(name: string): string {
  if (!PROFILE_PATTERN.test(name)) throw new UsageError(`--profile must be 1-64 of [A-Za-z0-9._-], not "${name}"`);
  return name;
}

function isProfile(v: unknown): v is Profile {
  return !!v && typeof v === 'object' && typeof (v as { gateway?: unknown }).gateway === 'string';
}

export async function readProfile(dir: string, name: string): Promise<Profile | undefined> {
  const v = await readJson(profileFile(dir, name));
  return isProfile(v) ? v : undefined;
}

export async function requireProfile(dir: string, name: string, gateway: string | undefined): Promise<Profile> {
  const saved = await readProfile(dir, name);
  if (gateway !== undefined) return { ...saved, gateway: gatewayUrl(gateway) };
  if (!saved) {
    throw new PaiSsoError(
      'PAI_SSO_CLI_NO_PROFILE',
      'usage',
      `no profile "${name}" on this computer: run \`pai-sso login --gateway https://<your gateway> --profile ${name}\` first`,
    );
  }
  return saved;
}

export const saveProfile = (dir: string, name: string, profile: Profile): Promise<void> =>
  writePrivateJson(profileFile(dir, name), profile);
