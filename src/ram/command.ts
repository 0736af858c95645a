import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Config } from '../config/schema.js';
import type { KeyMaterial } from '../keys/store.js';
import { EXIT, UsageError, exitCodeFor } from '../errors.js';
import { readLine, type CliIo } from '../cli/io.js';
import { ApplyError, applyAccount } from './apply.js';
import { createClients, credentialSecrets, resolveCredential, type AccountClients, type Credential } from './clients.js';
import { Cloud, DEFAULT_RETRY, readAccount, type RetryOptions } from './cloud.js';
import { desiredState, registerSettings, type DesiredAccount } from './desired.js';
import { operatorPolicy } from './operator-policy.js';
import { hasChanges, planAccount, type AccountPlan, type ActualAccount } from './plan.js';
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
  --prune           also detach policies, drop trust statements and PAI roles that the
                    config does not name (plan shows what; nothing is deleted without it)
  --json            plan/policy: machine-readable output
  --yes, -y         apply: do not ask (required without a terminal)

credentials: ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET[/_SECURITY_TOKEN], register.accounts.<key>.profile
(aliyun CLI profile), or the default chain (OIDC role, CLI profile, ECS RAM role).
`;

interface Options {
  readonly command: 'plan' | 'apply' | 'policy';
  readonly json: boolean;
  readonly prune: boolean;
  readonly yes: boolean;
  readonly account: string | undefined;
}

// Each command takes only the flags that mean something to it.
const COMMON = { prune: { type: 'boolean' }, account: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;
const FLAGS = {
  plan: { ...COMMON, json: { type: 'boolean' } },
  apply: { ...COMMON, yes: { type: 'boolean', short: 'y' } },
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
  return { command, json: values.json ?? false, prune: values.prune ?? false, yes: values.yes ?? false, account: values.account };
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
  });
}

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
    return EXIT.failure;
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
    const policies = accounts.map((a) => ({ key: a.key, accountId: a.accountId, policy: operatorPolicy(a, { prune: opts.prune }) }));
    if (opts.json) out.stdout(`${JSON.stringify(Object.fromEntries(policies.map((p) => [p.key, p.policy])), null, 2)}\n`);
    else {
      for (const p of policies) {
        out.stdout(
          `# RAM policy for the credential that runs \`pai-sso register\` on account ${p.key} (${p.accountId})${opts.prune ? ', with --prune' : ''}\n`,
        );
        out.stdout(`${JSON.stringify(p.policy, null, 2)}\n`);
      }
    }
    return EXIT.ok;
  }

  const retry: RetryOptions = { ...DEFAULT_RETRY, ...deps.retry };
  const sessions: Session[] = [];
  try {
    for (const want of accounts) {
      const cloud = await connect(want, ctx, out, retry);
      const actual = await readAccount(cloud, want);
      sessions.push({ want, cloud, actual, plan: planAccount(want, actual, { prune: opts.prune }) });
    }
  } catch (err) {
    out.stderr(`pai-sso register: ${(err as Error).message}\n`);
    return EXIT.failure;
  }
  const plans = sessions.map((s) => s.plan);

  if (opts.command === 'plan') {
    out.stdout(opts.json ? renderPlanJson(plans) : renderPlanText(plans));
    return hasChanges(plans) ? EXIT.drift : EXIT.ok;
  }

  out.stdout(renderPlanText(plans));
  if (!hasChanges(plans)) return EXIT.ok;
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
  return EXIT.ok;
}
