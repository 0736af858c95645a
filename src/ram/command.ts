import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Config } from '../config/schema.js';
import type { KeyMaterial } from '../keys/store.js';
import { EXIT, UsageError, exitCodeFor } from '../errors.js';
import { readLine, type CliIo } from '../cli/io.js';
import { ADDRESS_PATTERN } from '../config/register-schema.js';
import { ApplyError, applyAccount } from './apply.js';
import { createClients, credentialSecrets, resolveCredential, type AccountClients, type Credential } from './clients.js';
import { Cloud, DEFAULT_RETRY, type RetryOptions } from './cloud.js';
import { desiredState, registerSettings, type DesiredAccount } from './desired.js';
import { lockAccount, lockFile, type Release } from './lock.js';
import { operatorPolicy } from './operator-policy.js';
import { blockedItems, hasChanges, hasDrift, planAccount, type AccountPlan, type ActualAccount, type PlanOptions } from './plan.js';
import { readAccount, verifyAccount } from './read-account.js';
import { renderPlanJson, renderPlanText } from './render.js';

// `pai-sso register <plan|apply|policy>`. Exit codes are those of every pai-sso command
// (EXIT in src/errors.ts): 0 nothing to change or done, 3 plan shows drift, 1 cloud or
// credential failure, 2 bad usage.

export interface RegisterContext extends CliIo {
  readonly config: Config;
  readonly configPath: string;
  readonly keys: KeyMaterial;
}

/** Seams for tests; production callers pass nothing. */
export interface RegisterDeps {
  readonly retry?: Partial<RetryOptions>;
}

export const PAI_POLICY_FILE = new URL('../../data/pai-default-policy.json', import.meta.url);

const USAGE = `usage: pai-sso register <command> [options]

commands:
  plan     read Alibaba Cloud and show what apply would change
           exit 0: nothing to change, 3: changes pending, 1: API/credential error
  apply    show the plan, ask, then make the changes
  policy   print the RAM policy the credential running plan/apply needs

options:
  --account <key>   only this account (a key of accounts:); default: all
  --prune           also remove what the config does not name: trust statements, policies
                    and PAI roles others added, and what register created that left the
                    config (a role's trust in the provider, memberships, policies)
  --delete-roles    with --prune: delete roles that left the config instead of only
                    revoking their trust (after detaching policies and leaving workspaces)
  --adopt <addr>    take over an existing resource register did not create, e.g.
                    role/pai-admin (repeatable; also register.adopt in the config)
  --json            plan: machine-readable output
  --yes, -y         apply: do not ask (required without a terminal)

credentials: ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET[/_SECURITY_TOKEN], register.accounts.<key>.profile
(aliyun CLI profile), or the default chain (OIDC role, CLI profile, ECS RAM role).
`;

interface Options {
  readonly command: 'plan' | 'apply' | 'policy';
  readonly json: boolean;
  readonly prune: boolean;
  readonly deleteRoles: boolean;
  readonly adopt: readonly string[];
  readonly yes: boolean;
  readonly account: string | undefined;
}

// Each command takes only the flags that mean something to it.
const COMMON = {
  prune: { type: 'boolean' },
  'delete-roles': { type: 'boolean' },
  account: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
const ADOPT = { adopt: { type: 'string', multiple: true } } as const;
const FLAGS = {
  plan: { ...COMMON, ...ADOPT, json: { type: 'boolean' } },
  apply: { ...COMMON, ...ADOPT, yes: { type: 'boolean', short: 'y' } },
  // --json is accepted for older scripts; the policy is always plain JSON.
  policy: { ...COMMON, json: { type: 'boolean' } },
} as const;

const isCommand = (c: string): c is Options['command'] => Object.hasOwn(FLAGS, c);

function parseRegisterArgs(args: readonly string[]): Options | 'help' {
  const [command, ...rest] = args;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') return 'help';
  if (!isCommand(command)) throw new UsageError(`unknown command "${command}"`);
  // Typed as the union of all flags (absent ones read as undefined); parsed with this command's own.
  const { values } = parseArgs({ args: rest, options: FLAGS[command] as typeof FLAGS.plan & typeof FLAGS.apply });
  if (values.help) return 'help';
  if (values.account === '') throw new UsageError('--account needs an account key');
  const deleteRoles = values['delete-roles'] ?? false;
  if (deleteRoles && !values.prune) throw new UsageError('--delete-roles only goes with --prune');
  const adopt = values.adopt ?? [];
  for (const a of adopt) {
    if (!new RegExp(ADDRESS_PATTERN).test(a))
      throw new UsageError(`--adopt ${a}: expected role/<name>, policy/<name> or saml-provider/<name>`);
  }
  return {
    command,
    json: values.json ?? false,
    prune: values.prune ?? false,
    deleteRoles,
    adopt,
    yes: values.yes ?? false,
    account: values.account,
  };
}

/** Every resource address the config names in these accounts, for checking --adopt. */
function addresses(accounts: readonly DesiredAccount[]): Set<string> {
  return new Set(
    accounts.flatMap((a) => [
      `saml-provider/${a.provider.name}`,
      ...(a.paiPolicy ? [`policy/${a.paiPolicy.name}`] : []),
      ...a.roles.map((r) => `role/${r.roleName}`),
    ]),
  );
}

/** Every line leaves through here, scrubbed of any secret we know about. */
class Output {
  readonly #secrets = new Set<string>();
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly err: NodeJS.WritableStream,
  ) {}
  addSecrets(values: Iterable<string | undefined>): void {
    for (const v of values) if (v && v.length >= 4) this.#secrets.add(v);
  }
  #scrub(text: string): string {
    let t = text;
    for (const s of this.#secrets) t = t.split(s).join('****');
    return t;
  }
  stdout(text: string): void {
    this.out.write(this.#scrub(text));
  }
  stderr(text: string): void {
    this.err.write(this.#scrub(text));
  }
}

interface Session {
  readonly want: DesiredAccount;
  readonly cloud: Cloud;
  readonly actual: ActualAccount;
  readonly plan: AccountPlan;
}

async function connect(want: DesiredAccount, ctx: RegisterContext, out: Output, retry: RetryOptions): Promise<Cloud> {
  const source = resolveCredential(want.profile, ctx.env);
  const credential: Credential = source.credential;
  try {
    out.addSecrets(await credentialSecrets(credential));
  } catch (err) {
    throw new Error(
      `account "${want.key}": no usable credential from ${source.description}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  const clients: AccountClients = createClients(credential, registerSettings(ctx.config).endpoints);
  return new Cloud(clients, {
    retry,
    onRetry: (api, attempt, delay, err) =>
      out.stderr(`retrying ${api} in ${delay} ms (attempt ${attempt + 1}/${retry.attempts}): ${err.apiCode ?? 'error'}\n`),
    onRecovered: (api, what, err) =>
      out.stderr(`${api} ${what}: the call failed (${err.apiCode ?? 'error'}) but a read shows it took effect; its answer was lost\n`),
  });
}

/** Reads every account and plans it; the account check has already passed. */
async function planAll(sessions: ReadonlyArray<Omit<Session, 'actual' | 'plan'>>, opts: PlanOptions): Promise<Session[]> {
  const out: Session[] = [];
  for (const s of sessions) {
    const actual = await readAccount(s.cloud, s.want);
    out.push({ ...s, actual, plan: planAccount(s.want, actual, opts) });
  }
  return out;
}

const fail = (out: Output, err: unknown): number => {
  out.stderr(`pai-sso register: ${(err as Error).message}\n`);
  return exitCodeFor(err);
};

export async function runRegister(args: string[], ctx: RegisterContext, deps: RegisterDeps = {}): Promise<number> {
  const out = new Output(ctx.stdout, ctx.stderr);
  out.addSecrets([ctx.env['ALIBABA_CLOUD_ACCESS_KEY_SECRET'], ctx.env['ALIBABA_CLOUD_SECURITY_TOKEN']]);
  let opts: Options | 'help';
  try {
    opts = parseRegisterArgs(args);
  } catch (err) {
    out.stderr(`pai-sso register: ${(err as Error).message}\n\n${USAGE}`);
    return exitCodeFor(err);
  }
  if (opts === 'help') {
    out.stdout(USAGE);
    return EXIT.ok;
  }

  let accounts: DesiredAccount[];
  try {
    const document = await readFile(PAI_POLICY_FILE, 'utf8');
    JSON.parse(document);
    accounts = desiredState(ctx.config, ctx.keys, document);
  } catch (err) {
    out.stderr(`pai-sso register: cannot build the desired state: ${(err as Error).message}\n`);
    return exitCodeFor(err);
  }
  if (opts.account !== undefined) {
    const key = opts.account;
    accounts = accounts.filter((a) => a.key === key);
    if (accounts.length === 0) {
      out.stderr(`pai-sso register: --account "${key}" is not a key of accounts: in ${ctx.configPath}\n`);
      return EXIT.usage;
    }
  }

  if (opts.command === 'policy') {
    if (accounts.length > 1) {
      out.stderr(
        `pai-sso register: the config has ${accounts.length} accounts; print one policy at a time with --account <key> (${accounts.map((a) => a.key).join(', ')})\n`,
      );
      return EXIT.usage;
    }
    const [account] = accounts;
    if (account) out.stdout(`${JSON.stringify(operatorPolicy(account, { prune: opts.prune, deleteRoles: opts.deleteRoles }), null, 2)}\n`);
    return EXIT.ok;
  }

  const known = addresses(accounts);
  const unknown = opts.adopt.filter((a) => !known.has(a));
  if (unknown.length) {
    out.stderr(`pai-sso register: --adopt ${unknown.join(', ')}: not a resource the config names (${[...known].join(', ')})\n`);
    return EXIT.usage;
  }
  const planOpts: PlanOptions = { prune: opts.prune, deleteRoles: opts.deleteRoles, adopt: opts.adopt };

  if (opts.command === 'apply' && !opts.yes && !ctx.stdin.isTTY) {
    out.stderr('pai-sso register: refusing to apply without a terminal to confirm; review `pai-sso register plan` and rerun with --yes\n');
    return EXIT.usage;
  }

  const retry: RetryOptions = { ...DEFAULT_RETRY, ...deps.retry };
  const connected: Array<Omit<Session, 'actual' | 'plan'>> = [];
  try {
    // Who the credential is, for every account, before anything is read.
    for (const want of accounts) {
      const cloud = await connect(want, ctx, out, retry);
      await verifyAccount(cloud, want);
      connected.push({ want, cloud });
    }
  } catch (err) {
    return fail(out, err);
  }

  if (opts.command === 'plan') {
    let plans: AccountPlan[];
    try {
      plans = (await planAll(connected, planOpts)).map((s) => s.plan);
    } catch (err) {
      return fail(out, err);
    }
    out.stdout(opts.json ? renderPlanJson(plans) : renderPlanText(plans));
    return hasDrift(plans) ? EXIT.drift : EXIT.ok;
  }

  const releases: Release[] = [];
  try {
    releases.push(await lockFile(ctx.configPath));
    const shown = await planAll(connected, planOpts);
    const confirmed = await confirm(shown, opts, ctx, out);
    if (confirmed !== 'go') return confirmed;
    // Writes ahead: lock every account in the cloud, in config order, and plan again under
    // the lock; apply only if that is still the plan that was confirmed.
    for (const s of connected) releases.push(await lockAccount(s.cloud, s.want.key, s.want.accountId));
    const sessions = await planAll(connected, planOpts);
    const calls = (list: readonly Session[]) => JSON.stringify(list.map((x) => x.plan.items.map((i) => i.ops)));
    if (calls(sessions) !== calls(shown)) {
      out.stdout(renderPlanText(sessions.map((x) => x.plan)));
      out.stderr(
        'pai-sso register: the cloud changed after the plan was shown (see the plan above); nothing was applied: review it and rerun\n',
      );
      return EXIT.failure;
    }
    return await applySessions(sessions, out);
  } catch (err) {
    return fail(out, err);
  } finally {
    for (const release of releases.reverse()) {
      try {
        await release();
      } catch (err) {
        out.stderr(`pai-sso register: could not release a lock: ${(err as Error).message}\n`);
      }
    }
  }
}

function orphanNote(plans: readonly AccountPlan[], out: Output): void {
  const orphans = plans.flatMap((p) => p.items.filter((i) => i.action === 'orphan').map((i) => `[${p.key}] ${i.address}`));
  if (orphans.length)
    out.stderr(
      `pai-sso register: still granting access although the config no longer names them: ${orphans.join(', ')}; rerun with --prune\n`,
    );
}

/** Shows the plan and decides: 'go', or the exit code when there is nothing to do or no consent. */
async function confirm(sessions: readonly Session[], opts: Options, ctx: RegisterContext, out: Output): Promise<'go' | number> {
  const plans = sessions.map((s) => s.plan);
  out.stdout(renderPlanText(plans));
  const blocked = blockedItems(plans);
  if (blocked.length) {
    out.stderr(
      `pai-sso register: nothing was applied: ${blocked.join(', ')} ${blocked.length === 1 ? 'exists' : 'exist'} but register did not create ${blocked.length === 1 ? 'it' : 'them'}. ` +
        'Take over with --adopt <address> (or register.adopt), or rename in the config.\n',
    );
    return EXIT.failure;
  }
  if (!hasChanges(plans)) {
    orphanNote(plans, out);
    return EXIT.ok;
  }
  if (!opts.yes) {
    if (!ctx.stdin.isTTY) {
      out.stderr(
        'pai-sso register: refusing to apply without a terminal to confirm; review `pai-sso register plan` and rerun with --yes\n',
      );
      return EXIT.usage;
    }
    out.stdout(`\nApply these changes to Alibaba Cloud? Only "yes" continues: `);
    const answer = await readLine(ctx.stdin);
    if (answer !== 'yes') {
      out.stderr('Apply cancelled; nothing was changed.\n');
      return EXIT.failure;
    }
  }
  return 'go';
}

async function applySessions(sessions: readonly Session[], out: Output): Promise<number> {
  const done: string[] = [];
  for (const s of sessions) {
    try {
      done.push(...(await applyAccount(s.cloud, s.plan, s.actual, { onDone: (label) => out.stdout(`  done ${label}\n`) })));
    } catch (err) {
      if (!(err instanceof ApplyError)) {
        out.stderr(`pai-sso register: ${(err as Error).message}\n`);
        return EXIT.failure;
      }
      const later = sessions
        .slice(sessions.indexOf(s) + 1)
        .flatMap((x) => x.plan.items.filter((i) => i.ops.length).map((i) => `[${x.plan.key}] ${i.address} (not started)`));
      out.stderr(
        `\npai-sso register: apply stopped.\n` +
          `  done (${done.length + err.done.length}):\n${[...done, ...err.done].map((d) => `    ${d}\n`).join('') || '    (nothing)\n'}` +
          `  failed:\n    ${err.failed}\n      ${err.reason.message}\n` +
          `  not done (${err.notDone.length + later.length}):\n${[...err.notDone, ...later].map((d) => `    ${d}\n`).join('') || '    (nothing)\n'}` +
          `Every step is idempotent: fix the cause and rerun \`pai-sso register apply\`; it re-reads the cloud and continues.\n`,
      );
      return EXIT.failure;
    }
  }
  out.stdout(`\nApply complete: ${done.length} call(s) made. \`pai-sso register plan\` should now exit 0.\n`);
  orphanNote(
    sessions.map((s) => s.plan),
    out,
  );
  return EXIT.ok;
}
