import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EXIT, UsageError } from '../../errors.js';
import { STS_DURATION_MAX, STS_DURATION_MIN } from '../../sts/assume-role-with-saml.js';
import { readCache } from './credential-cache.js';
import { startCredentialsServer } from './credentials-server.js';
import { configDir, credentialsDir, listJson, removeFile } from './files.js';
import { FORMATS, render, type Format } from './formats.js';
import { gatewayApi } from './gateway-api.js';
import { currentCredentials, signIn, type ClientContext, type ClientIo } from './obtain.js';
import { checkProfileName, gatewayUrl, readProfile, requireProfile, type Profile } from './profile.js';
import type { ClientCommand } from './names.js';

// `pai-sso login | credentials | logout`: the commands that run on an employee's computer.
// They read no gateway config: everything they need is in the profile `login` saved.

const common = {
  profile: { type: 'string' },
  gateway: { type: 'string' },
  role: { type: 'string' },
  'sts-endpoint': { type: 'string' },
} as const;

function duration(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < STS_DURATION_MIN || n > STS_DURATION_MAX) {
    throw new UsageError(`--duration must be whole seconds between ${STS_DURATION_MIN} and ${STS_DURATION_MAX}`);
  }
  return n;
}

function context(io: ClientIo, profileName: string, profile: Profile, stsFlag: string | undefined): ClientContext {
  const sts = stsFlag ?? io.env['PAI_SSO_STS_ENDPOINT'];
  return { dir: configDir(io.env), profileName, profile, io, ...(sts ? { stsEndpoint: sts } : {}) };
}

const local = (iso: string) => new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function login(args: string[], io: ClientIo): Promise<number> {
  const { values } = parseArgs({ args, options: { ...common, duration: { type: 'string' }, device: { type: 'boolean', default: false } } });
  const name = checkProfileName(values.profile ?? 'default');
  const saved = await readProfile(configDir(io.env), name);
  const gateway = values.gateway ?? saved?.gateway;
  if (gateway === undefined)
    throw new UsageError('pai-sso login needs --gateway https://<your gateway> (remembered per --profile afterwards)');
  const sameGateway = saved?.gateway === gatewayUrl(gateway);
  const durationSeconds = duration(values.duration) ?? (sameGateway ? saved.durationSeconds : undefined);
  const role = values.role ?? (sameGateway ? saved.role : undefined);
  const profile: Profile = {
    gateway: gatewayUrl(gateway),
    ...(role !== undefined ? { role } : {}),
    ...(durationSeconds !== undefined ? { durationSeconds } : {}),
    ...(sameGateway && saved.stsEndpoint !== undefined ? { stsEndpoint: saved.stsEndpoint } : {}),
  };
  const ctx = context(io, name, profile, values['sts-endpoint']);
  const c = await signIn(ctx, { device: values.device });
  const p = name === 'default' ? '' : ` --profile ${name}`;
  io.stderr.write(
    `Signed in: role ${c.role.label} in ${c.role.accountLabel} (${c.role.roleArn}).\n` +
      `Credentials valid until ${local(c.credentials.expiration)}; renewed without a browser until the gateway session ends (${new Date(c.refreshExpiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z')}).\n` +
      `Use them:\n` +
      `  aliyun CLI:   aliyun configure --mode External --profile pai  (process_command: pai-sso credentials --format aliyun-external${p})\n` +
      `  SDKs, shell:  eval "$(pai-sso credentials --format env${p})"\n` +
      `  URI:          pai-sso credentials serve${p}   (then ALIBABA_CLOUD_CREDENTIALS_URI=<the address it prints>)\n`,
  );
  return EXIT.ok;
}

async function credentials(args: string[], io: ClientIo): Promise<number> {
  if (args[0] === 'serve') return serve(args.slice(1), io);
  const { values } = parseArgs({ args, options: { ...common, format: { type: 'string', default: 'aliyun-external' } } });
  if (!(FORMATS as readonly string[]).includes(values.format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const name = checkProfileName(values.profile ?? 'default');
  const profile = await requireProfile(configDir(io.env), name, values.gateway);
  const ctx = context(io, name, values.role !== undefined ? { ...profile, role: values.role } : profile, values['sts-endpoint']);
  // Without a terminal (the aliyun CLI's process_command, a script) no browser is opened.
  const c = await currentCredentials(ctx, { interactive: io.stdin.isTTY === true });
  io.stdout.write(render(values.format as Format, c.credentials));
  return EXIT.ok;
}

async function serve(args: string[], io: ClientIo): Promise<number> {
  const { values } = parseArgs({ args, options: { ...common, port: { type: 'string', default: '0' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0..65535 (0: any free port)');
  const name = checkProfileName(values.profile ?? 'default');
  const profile = await requireProfile(configDir(io.env), name, values.gateway);
  const ctx = context(io, name, values.role !== undefined ? { ...profile, role: values.role } : profile, values['sts-endpoint']);
  const server = await startCredentialsServer(
    port,
    () => currentCredentials(ctx, { interactive: false }),
    (message) => io.stderr.write(`pai-sso: ${message}\n`),
  );
  io.stderr.write(
    `Serving credentials of profile "${name}" at ${server.url} (Ctrl-C to stop)\n  export ALIBABA_CLOUD_CREDENTIALS_URI=${server.url}\n`,
  );
  await new Promise<void>((resolve) => {
    if (io.signal) {
      if (io.signal.aborted) resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
  return EXIT.ok;
}

async function logout(args: string[], io: ClientIo): Promise<number> {
  const { values } = parseArgs({ args, options: { profile: { type: 'string' }, all: { type: 'boolean', default: false } } });
  const dir = configDir(io.env);
  const names = values.all ? await profileDirs(dir) : [checkProfileName(values.profile ?? 'default')];
  let removed = 0;
  for (const name of names) {
    for (const file of await listJson(credentialsDir(dir, name))) {
      const cached = await readCache(file);
      // Best effort: the grant also ends with the gateway session; an unreachable gateway does not keep the file.
      if (cached)
        await gatewayApi(cached.gateway, io.now)
          .revoke(cached.refreshToken)
          .catch(() => undefined);
      await removeFile(file);
      removed++;
    }
  }
  io.stderr.write(`Signed out: removed ${removed} cached credential file(s)${values.all ? '' : ` of profile "${names[0] ?? ''}"`}.\n`);
  return EXIT.ok;
}

async function profileDirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(join(dir, 'credentials'), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

export async function runClient(command: ClientCommand, args: string[], io: ClientIo): Promise<number> {
  switch (command) {
    case 'login':
      return login(args, io);
    case 'credentials':
      return credentials(args, io);
    case 'logout':
      return logout(args, io);
  }
}
