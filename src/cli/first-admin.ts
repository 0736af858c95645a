import { readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { PaiSsoError } from '../errors.js';
import type { FirstUser } from '../identity/bootstrap.js';
import type { CliIo } from './io.js';

// The first start creates one `admin`. Its password is either the operator's (a mounted
// secret file, or an environment variable) or generated; a generated one is shown on the
// terminal, or, when output goes anywhere else (a container's log store), written once to a
// 0600 file beside the users file and only that file's path is logged.

export const ADMIN_PASSWORD_FILE_ENV = 'PAI_SSO_ADMIN_PASSWORD_FILE';
export const ADMIN_PASSWORD_ENV = 'PAI_SSO_ADMIN_PASSWORD';
export const GENERATED_PASSWORD_FILE = 'initial-admin-password';
const MIN_PASSWORD = 12;

export class AdminPasswordError extends PaiSsoError {
  constructor(message: string) {
    super('PAI_SSO_ADMIN_PASSWORD', 'config', message);
  }
}

/** The operator's password for the first admin, or undefined to generate one. */
export async function suppliedAdminPassword(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const file = env[ADMIN_PASSWORD_FILE_ENV];
  const inline = env[ADMIN_PASSWORD_ENV];
  if (file && inline) throw new AdminPasswordError(`set ${ADMIN_PASSWORD_FILE_ENV} or ${ADMIN_PASSWORD_ENV}, not both`);
  let password: string;
  if (file) {
    try {
      // One trailing newline is what `echo` and most secret tools add; it is not part of the password.
      password = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new AdminPasswordError(
        `${ADMIN_PASSWORD_FILE_ENV}: ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  } else if (inline) {
    password = inline;
  } else {
    return undefined;
  }
  if (password.length < MIN_PASSWORD)
    throw new AdminPasswordError(
      `${file ? ADMIN_PASSWORD_FILE_ENV : ADMIN_PASSWORD_ENV}: passwords are at least ${MIN_PASSWORD} characters`,
    );
  return password;
}

const isTerminal = (s: NodeJS.WritableStream) => (s as { isTTY?: boolean }).isTTY === true;

/** Tells the operator how to sign in the first time, without putting the password in a log. */
export async function announceFirstAdmin(
  first: FirstUser,
  opts: { usersFile: string; groups: readonly string[]; io: CliIo; log: Logger },
): Promise<void> {
  const { usersFile, groups, io, log } = opts;
  const addMore = `pai-sso user add NAME --groups ${groups[0] ?? 'GROUP'}`;
  if (!first.generated) {
    log.info({ user: first.username, file: usersFile, groups }, 'first start: created the admin user with the password you supplied');
    return;
  }
  if (isTerminal(io.stdout) && isTerminal(io.stderr)) {
    // Straight to the terminal, not through the logger: log pipelines keep what they get.
    io.stderr.write(
      `\n  First start: created user "${first.username}" (groups: ${groups.join(', ')}) in ${usersFile}.\n` +
        `  Password (shown once): ${first.password}\n` +
        `  Add more users with: ${addMore}\n\n`,
    );
    return;
  }
  const file = join(dirname(usersFile), GENERATED_PASSWORD_FILE);
  // A stale file (or a link someone left there) is replaced, never written through.
  await rm(file, { force: true });
  await writeFile(file, `${first.password}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  log.warn(
    { user: first.username, file, groups },
    `first start: created user "${first.username}"; output is not a terminal, so its password is in ${file} (mode 0600): read it, then delete the file. Add more users with: ${addMore}`,
  );
}
