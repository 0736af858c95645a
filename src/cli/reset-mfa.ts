import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../config/schema.js';
import { createAudit } from '../audit/audit.js';
import { createLogger } from '../logger.js';
import { removeEnrolments } from '../mfa/enrolments.js';
import { EXIT, UsageError, type CliIo } from './io.js';

export const RESET_MFA_USAGE = 'usage: pai-sso user reset-mfa NAME [--source local|ldap]';

/** Where enrolments live: identity.secondFactor.dir, else mfa/ beside the users file. */
export function enrolmentDir(config: Config): string {
  return config.identity.secondFactor.dir ?? join(dirname(config.identity.local.usersFile), 'mfa');
}

/**
 * `pai-sso user reset-mfa NAME`: the helpdesk's answer to a lost phone or key. Removes every
 * second factor and recovery code of the user (local and LDAP alike, or one --source), so
 * their next sign-in is password only and they enrol again; one audit line on stderr. It
 * needs no secret: the enrolment files name their user in clear. Sessions already signed
 * in are left alone (`pai-sso session revoke --user NAME` ends them).
 */
export async function runResetMfa(args: string[], config: Config, io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { source: { type: 'string' } } });
  const name = positionals[0];
  if (!name || positionals.length > 1) throw new UsageError(RESET_MFA_USAGE);
  if (values.source !== undefined && values.source !== 'local' && values.source !== 'ldap') throw new UsageError(RESET_MFA_USAGE);
  const dir = enrolmentDir(config);
  const removed = await removeEnrolments(dir, name, values.source);
  if (removed.length === 0) {
    io.stderr.write(`pai-sso: ${name} has no second factor enrolled (in ${dir})\n`);
    return EXIT.failure;
  }
  const audit = createAudit(createLogger('info', io.stderr));
  const operator = io.env['SUDO_USER'] ?? io.env['USER'] ?? '-';
  for (const r of removed) {
    audit({ event: 'mfa.reset', by: 'admin', operator, user: r.username, source: r.source, host: hostname(), ip: '-' });
    io.stdout.write(`reset the second factor of ${r.username} (${r.source}); they sign in with their password and enrol again\n`);
  }
  return EXIT.ok;
}
