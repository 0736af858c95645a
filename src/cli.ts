import { parseArgs } from 'node:util';
import { loadConfig, type LoadedConfig } from './config/load.js';
import { exitCodeFor } from './errors.js';
import { ConfigError } from './config/errors.js';
import { gatewayMetadata } from './saml/metadata.js';
import { EXIT, UsageError, type CliIo } from './cli/io.js';
import { keysFor, serve } from './cli/serve.js';
import { runUser } from './cli/user.js';
import { runSession } from './cli/session.js';
import { CLIENT_COMMANDS, CLIENT_HELP } from './cli/client/names.js';

const HELP = `pai-sso: SAML identity provider for Alibaba Cloud PAI (RAM role-based SSO)

Usage: pai-sso <command> [--config PATH]

  serve                         start the gateway (default command)
  check                         validate the config and the signing key, then exit
  metadata                      print the IdP metadata to upload to RAM
  user add NAME --groups a,b    add a local user (password prompted, or --password-stdin)
  user list | user remove NAME  list or remove local users
  user reset-mfa NAME           remove a user's second factors (helpdesk; audited); they enrol again
  session list [--user NAME]    list sessions (needs state.store: redis; see pai-sso session help)
  session revoke (--user NAME | --sid ID | --all)   revoke sessions on every replica (audited)
  register plan|apply|policy    reconcile the SAML provider, roles, policies and PAI workspaces

On an employee's computer (no gateway config needed):
${CLIENT_HELP}
Config: --config PATH, else PAI_SSO_CONFIG, else config/gateway.yaml, else the embedded default.
Exit codes: 0 ok, 1 runtime failure, 2 bad usage or invalid config, 3 register plan shows drift.
`;

export async function main(argv: string[], io: CliIo): Promise<number> {
  let configFlag: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--config' || a === '-c') configFlag = argv[++i];
    else if (a.startsWith('--config=')) configFlag = a.slice('--config='.length);
    else rest.push(a);
  }
  const [command = 'serve', ...args] = rest;
  if (command === 'help' || command === '--help' || command === '-h') {
    io.stdout.write(HELP);
    return EXIT.ok;
  }

  try {
    // The client commands run on a laptop or a notebook: no gateway config to load.
    const client = CLIENT_COMMANDS.find((c) => c === command);
    if (client) {
      const { runClient } = await import('./cli/client/command.js');
      return await runClient(client, args, io);
    }
    if (!['serve', 'check', 'metadata', 'user', 'session', 'register'].includes(command))
      throw new UsageError(`unknown command "${command}"\n\n${HELP}`);
    const loaded: LoadedConfig = await loadConfig(configFlag, io.env);
    const warn = (m: string) => io.stderr.write(`warning: ${m}\n`);
    if (command !== 'serve') for (const w of loaded.warnings ?? []) warn(w);
    switch (command) {
      case 'serve':
        parseArgs({ args, options: {} });
        return await serve(loaded, io);
      case 'check': {
        parseArgs({ args, options: {} });
        // What the identity sources would refuse at start, without connecting to anything.
        const { checkIdentitySettings } = await import('./identity/check.js');
        const problems = await checkIdentitySettings(loaded.config, io.env);
        if (problems.length > 0) throw new ConfigError(loaded.path, problems);
        const keys = await keysFor(loaded.config, warn);
        io.stdout.write(
          `${loaded.path}: ok (site ${loaded.config.idp.site}, ${Object.keys(loaded.config.roles).length} roles, certificate ${keys.current.sha256} valid until ${keys.current.notAfter.toISOString()})\n`,
        );
        return EXIT.ok;
      }
      case 'metadata': {
        parseArgs({ args, options: {} });
        io.stdout.write(gatewayMetadata(loaded.config, await keysFor(loaded.config, warn)));
        return EXIT.ok;
      }
      case 'user':
        return await runUser(args, loaded.config, io);
      case 'session':
        return await runSession(args, loaded.config, io);
      case 'register': {
        const { runRegister } = await import('./ram/command.js');
        const keys = await keysFor(loaded.config, warn);
        return await runRegister(args, { ...io, config: loaded.config, configPath: loaded.path, keys });
      }
    }
    return EXIT.usage;
  } catch (err) {
    // The error's kind alone decides the exit code (errors.ts): 2 for usage and config, 1 otherwise.
    const e = err as NodeJS.ErrnoException;
    io.stderr.write(`pai-sso: ${e.code === 'EADDRINUSE' ? `port already in use (${e.message})` : e.message}\n`);
    return exitCodeFor(err);
  }
}
