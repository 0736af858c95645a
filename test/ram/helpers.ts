import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { KeyMaterial } from '../../src/keys/store.js';
import { runRegister, type RegisterDeps } from '../../src/ram/command.js';
import { AlibabaEmulator } from '../emulators/alibaba.js';
import { ACCOUNT, fixtureKeys, tempDir } from '../helpers/fixture.js';

export { ACCOUNT };
export const AK = { id: 'LTAI5tEmulatorKeyId01', secret: 'emulator-secret-Zq8vX3pW9kLm2NbR' } as const;
/** A valid credential of another, empty account. */
export const OTHER_ACCOUNT = '9876543210987654';
export const OTHER_AK = { id: 'LTAI5tOtherAccountKey', secret: 'other-account-secret-Hq2wE8rT' } as const;
export const WORKSPACE = '12345';

export function testConfig(endpoint: string, registerYaml?: string): Config {
  const register =
    registerYaml ??
    `
  roles:
    pai-dev:
      attachPaiPolicy: true
      systemPolicies: [AliyunPAIReadOnlyAccess]
      trustedServices: [dataworks.aliyuncs.com]
      workspaces:
        - { id: "${WORKSPACE}", region: cn-hangzhou, roles: [PAI.AlgoDeveloper] }
    pai-admin:
      systemPolicies: [AliyunPAIFullAccess]
      workspaces:
        - { id: "${WORKSPACE}", region: cn-hangzhou, roles: [PAI.WorkspaceAdmin, PAI.AlgoDeveloper] }`;
  return parseConfig(
    `
server: { baseUrl: https://sso.example.test }
idp: { entityId: https://sso.example.test/saml/metadata, site: cn }
accounts:
  prod: { accountId: "${ACCOUNT}", samlProvider: corp-idp }
roles:
  pai-dev: { account: prod, roleName: pai-developer, sessionDuration: 7200 }
  pai-admin: { account: prod, roleName: pai-admin }
mappings: [{ group: ml, roles: [pai-dev, pai-admin] }]
targets: { pai: { url: "https://pai.console.aliyun.com/" } }
register:
  endpoints: { ims: "${endpoint}", ram: "${endpoint}", sts: "${endpoint}", aiworkspace: "${endpoint}", protocol: http }
${register}
`,
    'test-config.yaml',
  );
}

export interface Harness {
  readonly emulator: AlibabaEmulator;
  readonly keysDir: string;
  /** The config path register is told about (its lock file goes beside it). */
  configPath: string;
  keys: KeyMaterial;
  config: Config;
  run(args: string[], opts?: { env?: NodeJS.ProcessEnv; stdin?: string; tty?: boolean }): Promise<RunResult>;
  close(): Promise<void>;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Backoff that records instead of sleeping, so retry scenarios take milliseconds. */
export const sleeps: number[] = [];
export const fastRetry: RegisterDeps = {
  retry: {
    attempts: 4,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  },
};

export async function harness(registerYaml?: string): Promise<Harness> {
  const emulator = new AlibabaEmulator([
    { accessKeyId: AK.id, accessKeySecret: AK.secret, accountId: ACCOUNT },
    { accessKeyId: OTHER_AK.id, accessKeySecret: OTHER_AK.secret, accountId: OTHER_ACCOUNT },
  ]);
  await emulator.start();
  emulator.addWorkspace(ACCOUNT, WORKSPACE, 'cn-hangzhou');
  const keysDir = await tempDir('pai-sso-register-');
  const keys = await fixtureKeys(keysDir);
  const h: Harness = {
    emulator,
    keysDir,
    configPath: join(keysDir, 'gateway.yaml'),
    keys,
    config: testConfig(emulator.endpoint, registerYaml),
    async run(args, opts = {}) {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      let err = '';
      stdout.on('data', (c: Buffer) => (out += c.toString()));
      stderr.on('data', (c: Buffer) => (err += c.toString()));
      const stdin = Object.assign(Readable.from(opts.stdin === undefined ? [] : [opts.stdin]), { isTTY: opts.tty ?? false });
      const code = await runRegister(
        args,
        {
          config: h.config,
          configPath: h.configPath,
          keys: h.keys,
          stdout,
          stderr,
          stdin,
          env: opts.env ?? { ALIBABA_CLOUD_ACCESS_KEY_ID: AK.id, ALIBABA_CLOUD_ACCESS_KEY_SECRET: AK.secret },
        },
        fastRetry,
      );
      return { code, stdout: out, stderr: err };
    },
    async close() {
      await emulator.stop();
      await rm(keysDir, { recursive: true, force: true });
    },
  };
  return h;
}
