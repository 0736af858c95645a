import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { Config } from '../config/schema.js';
import { createAudit } from '../audit/audit.js';
import { createLogger } from '../logger.js';
import { createStore } from '../state/create.js';
import { createSessionRecords, type SessionRecord } from '../state/sessions.js';
import { StoreUnavailableError, type StateStore } from '../state/store.js';
import { EXIT, UsageError, type CliIo } from './io.js';

export const SESSION_USAGE = `usage: pai-sso session list [--user NAME] [--json]
       pai-sso session revoke (--user NAME | --sid ID | --all)

Talks to the shared state store (state.store: redis); a revoked session is refused by every
replica on its next request. With state.store: memory the sessions live inside the running
gateway process, so these commands refuse: there, \`pai-sso user remove NAME\` (or a change of
the user's groups) applies on the user's next request, and a restart ends every session.`;

const MEMORY_REFUSAL =
  'session list/revoke need state.store: redis. With the memory store the sessions live inside the running gateway process, ' +
  "which this command cannot reach. There, `pai-sso user remove NAME` or a change of the user's groups applies on their next request, " +
  'and restarting the gateway ends every session.';

async function connected(store: StateStore, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await store.ready();
    if (status.ok) return;
    if (Date.now() > deadline) throw new StoreUnavailableError(status.reason ?? 'not reachable');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const row = (r: SessionRecord) =>
  [
    r.sid,
    r.username,
    r.userId,
    r.source,
    new Date(r.issued).toISOString(),
    new Date(r.expires).toISOString(),
    r.revoked ? 'revoked' : 'active',
  ].join('\t');

/** `pai-sso session list|revoke`: for an administrator responding to an incident. */
export async function runSession(args: string[], config: Config, io: CliIo): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'list' && action !== 'revoke') throw new UsageError(SESSION_USAGE);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      user: { type: 'string' },
      sid: { type: 'string' },
      all: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 0) throw new UsageError(SESSION_USAGE);
  if (action === 'list' && (values.sid !== undefined || values.all)) throw new UsageError(SESSION_USAGE);
  if (action === 'revoke' && [values.user !== undefined, values.sid !== undefined, values.all].filter(Boolean).length !== 1) {
    throw new UsageError(`revoke exactly one of --user NAME, --sid ID or --all\n\n${SESSION_USAGE}`);
  }
  if (config.state.store !== 'redis') throw new UsageError(MEMORY_REFUSAL);

  const store = await createStore(config.state, { env: io.env });
  try {
    await connected(store, (config.state.redis?.connectTimeoutMs ?? 2000) + 1000);
    const records = createSessionRecords(store, { absoluteTimeoutMs: config.session.absoluteTimeoutSeconds * 1000 });
    if (action === 'list') {
      const list = await records.list(values.user);
      if (values.json) io.stdout.write(`${JSON.stringify(list)}\n`);
      else io.stdout.write(['sid\tuser\tuser id\tsource\tissued\texpires\tstate', ...list.map(row)].join('\n') + '\n');
      return EXIT.ok;
    }
    // Audit lines go to stderr as JSON (stdout stays for people); a log shipper can take either.
    const audit = createAudit(createLogger('info', io.stderr));
    const common = { by: 'admin' as const, host: hostname(), ip: '-', operator: io.env['SUDO_USER'] ?? io.env['USER'] ?? '-' };
    if (values.sid !== undefined) {
      const r = await records.revoke(values.sid);
      if (!r) {
        io.stderr.write(`pai-sso: no session ${values.sid} (unknown or expired)\n`);
        return EXIT.failure;
      }
      audit({ event: 'session.revoked', scope: 'sid', sid: r.sid, user: r.username, count: 1, ...common });
      io.stdout.write(`revoked session ${r.sid} of ${r.username}\n`);
    } else if (values.user !== undefined) {
      const revoked = await records.revokeUser(values.user);
      audit({ event: 'session.revoked', scope: 'user', user: values.user, count: revoked.length, ...common });
      io.stdout.write(`revoked ${revoked.length} session(s) of ${values.user}; any session of theirs issued before now is refused\n`);
    } else {
      const count = await records.revokeAll();
      audit({ event: 'session.revoked', scope: 'all', count, ...common });
      io.stdout.write(`revoked ${count} session(s); every session issued before now is refused\n`);
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
