import { parseArgs } from 'node:util';
import type { Config } from '../config/schema.js';
import { hashPassword } from '../identity/password.js';
import { GROUP_PATTERN, USERNAME_PATTERN, newUserId, readUsers, writeUsers } from '../identity/users-file.js';
import { EXIT, UsageError, promptHidden, readAll, type CliIo } from './io.js';
import { runResetMfa } from './reset-mfa.js';

const MIN_PASSWORD = 12;

async function readPassword(io: CliIo, fromStdin: boolean): Promise<string> {
  if (fromStdin) return (await readAll(io.stdin)).replace(/\r?\n$/, '');
  if (!io.stdin.isTTY) throw new UsageError('no terminal to ask for the password; pipe it with --password-stdin');
  const first = await promptHidden(io, 'Password: ');
  const second = await promptHidden(io, 'Repeat password: ');
  if (first !== second) throw new UsageError('the passwords do not match');
  return first;
}

/** `pai-sso user add|list|remove`: edits the local users file the gateway watches. */
export async function runUser(args: string[], config: Config, io: CliIo): Promise<number> {
  const [action, ...rest] = args;
  const file = config.identity.local.usersFile;
  const users = (await readUsers(file)) ?? {};
  switch (action) {
    case 'add': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          groups: { type: 'string', default: '' },
          'display-name': { type: 'string' },
          email: { type: 'string' },
          'password-stdin': { type: 'boolean', default: false },
          force: { type: 'boolean', default: false },
        },
      });
      const name = positionals[0];
      if (!name || positionals.length > 1)
        throw new UsageError('usage: pai-sso user add NAME [--groups a,b] [--display-name X] [--email E] [--password-stdin] [--force]');
      if (!USERNAME_PATTERN.test(name)) throw new UsageError('usernames are 1-64 letters, digits, ".", "_", "@" or "-"');
      if (users[name] && !values.force) throw new UsageError(`user ${name} exists; pass --force to replace their password and groups`);
      const groups = values.groups
        .split(',')
        .map((g) => g.trim())
        .filter(Boolean);
      const bad = groups.find((g) => !GROUP_PATTERN.test(g));
      if (bad !== undefined) throw new UsageError(`invalid group name "${bad}"`);
      const password = await readPassword(io, values['password-stdin']);
      if (password.length < MIN_PASSWORD) throw new UsageError(`passwords are at least ${MIN_PASSWORD} characters`);
      users[name] = {
        id: users[name]?.id ?? newUserId(),
        displayName: values['display-name'] ?? users[name]?.displayName,
        email: values.email ?? users[name]?.email,
        groups,
        passwordHash: await hashPassword(password),
      };
      await writeUsers(file, users);
      io.stdout.write(`${values.force ? 'updated' : 'added'} ${name} (groups: ${groups.join(', ') || 'none'}) in ${file}\n`);
      return EXIT.ok;
    }
    case 'list': {
      const rows = Object.entries(users).map(([n, u]) => `${n}\t${u.displayName ?? ''}\t${u.email ?? ''}\t${u.groups.join(',')}`);
      io.stdout.write(['username\tdisplay name\temail\tgroups', ...rows].join('\n') + '\n');
      return EXIT.ok;
    }
    case 'remove': {
      const name = rest[0];
      if (!name || rest.length > 1) throw new UsageError('usage: pai-sso user remove NAME');
      if (!users[name]) {
        io.stderr.write(`no user ${name} in ${file}\n`);
        return EXIT.failure;
      }
      const { [name]: _removed, ...remaining } = users;
      await writeUsers(file, remaining);
      io.stdout.write(`removed ${name}\n`);
      return EXIT.ok;
    }
    case 'reset-mfa':
      return runResetMfa(rest, config, io);
    default:
      throw new UsageError('usage: pai-sso user <add|list|remove|reset-mfa> ...');
  }
}
