import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { FILES, loadOrCreateKeys } from '../../src/keys/store.js';
import { readUsers } from '../../src/identity/users-file.js';
import { usableCpus } from '../../src/cli/cpu-quota.js';
import { kubernetesProblems } from '../helpers/kube-schema.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { baseConfig, tempDir } from '../helpers/fixture.js';

// deploy/kubernetes/ checked against the Kubernetes schemas and against the gateway itself:
// every probe path is a route, the ConfigMap's gateway.yaml is a config the gateway accepts,
// ports, mounts, Secrets and grace periods agree with each other and with that config.

const DIR = 'deploy/kubernetes';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number };
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string }; emptyDir?: object }[];
}
interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

let objects: { file: string; obj: K8sObject }[];
let deployment: Workload;
let pod: PodSpec;
let gateway: Container;
let config: Config;

const byKind = (kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.obj.kind === kind && o.obj.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${DIR}`);
  return found.obj;
};
const envOf = (c: Container, name: string) => c.env?.find((e) => e.name === name);
const mountAt = (c: Container, path: string) => c.volumeMounts?.find((m) => m.mountPath === path);
const volume = (name: string) => pod.volumes?.find((v) => v.name === name);
const memoryBytes = (q: string) => {
  const m = /^(\d+)(Mi|Gi)$/.exec(q);
  if (!m) throw new Error(`unexpected memory quantity ${q}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 2 ** 30 : 2 ** 20);
};
const cpus = (q: string) => (q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q));

beforeAll(async () => {
  const files = (await readdir(DIR)).filter((f) => f.endsWith('.yaml')).sort();
  objects = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(join(DIR, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message ?? ''}`);
      const obj = doc.toJS() as K8sObject | null;
      if (obj) objects.push({ file, obj });
    }
  }
  deployment = byKind('Deployment', 'pai-sso') as Workload;
  pod = deployment.spec.template.spec;
  gateway = pod.containers[0] as Container;
  const configMap = byKind('ConfigMap', 'pai-sso-config') as K8sObject & { data: Record<string, string> };
  const env = Object.fromEntries((gateway.env ?? []).map((e) => [e.name, e.value ?? 'from-a-secret']));
  config = parseConfig(configMap.data['gateway.yaml'] ?? '', 'ConfigMap pai-sso-config', env);
});

describe('deploy/kubernetes: schemas', () => {
  it('every object is valid for its kind, with no field the schema does not know, in one namespace', () => {
    expect(objects.length).toBeGreaterThanOrEqual(10);
    for (const { file, obj } of objects) {
      expect(kubernetesProblems(obj), `${file}: ${obj.kind} ${obj.metadata.name}`).toEqual([]);
      if (obj.kind !== 'Namespace') expect(obj.metadata.namespace, `${file}: ${obj.kind}`).toBe('pai-sso');
    }
    const keys = objects.map((o) => `${o.obj.kind}/${o.obj.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('the check catches a misspelled field, a wrong type, a missing required field and an unknown kind', () => {
    const broken = structuredClone(deployment) as unknown as Record<string, unknown>;
    const spec = (broken as unknown as Workload).spec.template.spec;
    const c = spec.containers[0] as unknown as Record<string, unknown>;
    c['livenesProbe'] = c['livenessProbe'];
    expect(kubernetesProblems(broken)).toEqual(['/spec/template/spec/containers/0/livenesProbe: not a field of this object']);
    const wrongType = structuredClone(deployment);
    (wrongType.spec as { replicas: unknown }).replicas = 'two';
    expect(kubernetesProblems(wrongType).join()).toMatch(/replicas/);
    const noSelector = structuredClone(deployment) as unknown as { spec: Record<string, unknown> };
    delete noSelector.spec['selector'];
    expect(kubernetesProblems(noSelector).join()).toMatch(/selector/);
    expect(kubernetesProblems({ apiVersion: 'v1', kind: 'Pod' }).join()).toMatch(/not a kind/);
  });
});

describe('deploy/kubernetes: the Deployment agrees with the gateway', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ config: baseConfig() });
  });
  afterAll(() => gw.close());

  it('probes: startup and liveness on /healthz, readiness on /readyz, all on the port the config listens on', async () => {
    const port = gateway.ports?.find((p) => p.name === 'http');
    expect(port?.containerPort).toBe(config.server.port);
    expect(config.server.host).toBe('0.0.0.0');
    expect(gateway.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(gateway.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(gateway.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    // The startup budget must allow a cold start; liveness only takes over after it.
    expect((gateway.startupProbe?.periodSeconds ?? 10) * (gateway.startupProbe?.failureThreshold ?? 3)).toBeGreaterThanOrEqual(30);
    // The paths are the gateway's routes, answering GET without a session.
    for (const path of ['/healthz', '/readyz']) {
      const res = await gw.app.inject({ method: 'GET', url: path });
      expect(res.statusCode, path).toBe(200);
    }
    expect((await gw.app.inject({ method: 'GET', url: '/livez' })).statusCode).toBe(404);
  });

  it('grace: terminationGracePeriodSeconds covers the preStop sleep, server.shutdownGraceSeconds and 5 s to finish', () => {
    const preStop = gateway.lifecycle?.preStop?.exec?.command ?? [];
    expect(preStop[0]).toBe('sleep');
    const sleep = Number(preStop[1]);
    expect(sleep).toBeGreaterThanOrEqual(5);
    expect(config.server.shutdownGraceSeconds).toBeGreaterThan(3);
    expect(pod.terminationGracePeriodSeconds).toBe(sleep + config.server.shutdownGraceSeconds + 5);
  });

  it('resources: requests and limits; the memory limit fits the workers `auto` starts under the CPU limit', () => {
    const { requests = {}, limits = {} } = gateway.resources ?? {};
    expect(Object.keys(requests).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(limits).sort()).toEqual(['cpu', 'memory']);
    expect(config.server.workers).toBe('auto');
    const workers = usableCpus(64, cpus(limits['cpu'] ?? '0'));
    expect(workers).toBe(2);
    // ~125 MB per worker plus the primary process.
    expect(memoryBytes(limits['memory'] ?? '0')).toBeGreaterThanOrEqual((workers + 1) * 125 * 2 ** 20);
    expect(memoryBytes(requests['memory'] ?? '0')).toBeLessThanOrEqual(memoryBytes(limits['memory'] ?? '0'));
  });

  it('security: non-root with an arbitrary UID, no privilege escalation, no capabilities, read-only root filesystem', () => {
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    const uid = pod.securityContext?.runAsUser ?? 0;
    expect(uid).toBeGreaterThan(0);
    expect(uid).not.toBe(1000); // not the image's own user: any UID must work
    expect(pod.securityContext?.fsGroup).toBeGreaterThan(0);
    expect(gateway.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    expect(gateway.securityContext?.capabilities?.drop).toEqual(['ALL']);
    for (const obj of objects.filter((o) => o.obj.kind === 'StatefulSet')) {
      const spec = (obj.obj as Workload).spec.template.spec;
      expect(spec.securityContext?.runAsNonRoot, obj.obj.metadata.name).toBe(true);
      for (const c of spec.containers) {
        expect(c.securityContext, c.name).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
        expect(c.resources?.limits?.['memory'], c.name).toBeDefined();
        expect(c.resources?.requests, c.name).toBeDefined();
      }
    }
  });

  it('config, keys and users are mounted where the gateway reads them, from the ConfigMap and Secrets (no subPath)', () => {
    const configPath = envOf(gateway, 'PAI_SSO_CONFIG')?.value ?? '';
    expect(configPath.endsWith('/gateway.yaml')).toBe(true);
    const configMount = mountAt(gateway, configPath.slice(0, -'/gateway.yaml'.length));
    expect(volume(configMount?.name ?? '')?.configMap?.name).toBe('pai-sso-config');

    const keysMount = mountAt(gateway, config.keys.dir);
    expect(keysMount?.readOnly).toBe(true);
    const keysSecret = byKind('Secret', volume(keysMount?.name ?? '')?.secret?.secretName ?? '') as K8sObject & {
      stringData: Record<string, string>;
    };
    expect(Object.keys(keysSecret.stringData).sort()).toEqual([FILES.session, FILES.cert, FILES.key].sort());

    // Users: the data directory, whose users.yaml is the local source's file.
    const dataDir = envOf(gateway, 'PAI_SSO_DATA_DIR')?.value ?? '';
    expect(config.identity.local.usersFile).toBe(`${dataDir}/users.yaml`);
    const usersSecret = byKind('Secret', volume(mountAt(gateway, dataDir)?.name ?? '')?.secret?.secretName ?? '') as K8sObject & {
      stringData: Record<string, string>;
    };
    expect(Object.keys(usersSecret.stringData)).toEqual(['users.yaml']);
    // A subPath mount never sees updates: the Secret must be mounted as a directory.
    for (const m of gateway.volumeMounts ?? []) expect(m.subPath, m.mountPath).toBeUndefined();
    // With a read-only root filesystem, /tmp is a volume.
    expect(volume(mountAt(gateway, '/tmp')?.name ?? '')?.emptyDir).toBeDefined();
  });

  it('replicas share state: redis at the Valkey Service, its password from the Secret Valkey uses', () => {
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(config.state.store).toBe('redis');
    const url = new URL(config.state.redis?.url ?? '');
    const valkeyService = byKind('Service', url.hostname) as K8sObject & {
      spec: { ports: { port: number }[]; selector: Record<string, string> };
    };
    expect(valkeyService.spec.ports.map((p) => p.port)).toContain(Number(url.port));
    const valkey = objects.find(
      (o) =>
        o.obj.kind === 'StatefulSet' &&
        (o.obj as Workload).spec.template.metadata.labels['app.kubernetes.io/name'] ===
          valkeyService.spec.selector['app.kubernetes.io/name'],
    )?.obj as Workload;
    const passwordRef = envOf(gateway, config.state.redis?.passwordEnv ?? '')?.valueFrom?.secretKeyRef;
    expect(passwordRef).toBeDefined();
    expect(envOf(valkey.spec.template.spec.containers[0] as Container, 'VALKEY_PASSWORD')?.valueFrom?.secretKeyRef).toEqual(passwordRef);
    expect((byKind('Secret', passwordRef?.name ?? '') as K8sObject & { stringData: Record<string, string> }).stringData).toHaveProperty(
      passwordRef?.key ?? '',
    );
  });

  it("Service and PodDisruptionBudget select the Deployment's pods; the budget leaves one replica to evict", () => {
    const labels = deployment.spec.template.metadata.labels;
    expect(deployment.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': labels['app.kubernetes.io/name'] });
    const service = byKind('Service', 'pai-sso') as K8sObject & {
      spec: { selector: Record<string, string>; ports: { targetPort: string }[] };
    };
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    for (const p of service.spec.ports) expect(gateway.ports?.map((c) => c.name)).toContain(p.targetPort);
    const pdb = byKind('PodDisruptionBudget', 'pai-sso') as K8sObject & {
      spec: { minAvailable: number; selector: { matchLabels: object } };
    };
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas ?? 1);
  });
});

describe('deploy/kubernetes: the Secrets', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('pai-sso-k8s-');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('the placeholder keys are refused at start (the message names the file), the placeholder users file is empty', async () => {
    const keys = byKind('Secret', 'pai-sso-keys') as K8sObject & { stringData: Record<string, string> };
    const placeholder = join(dir, 'placeholder');
    await mkdir(placeholder);
    for (const [name, value] of Object.entries(keys.stringData)) await writeFile(join(placeholder, name), value);
    await expect(loadOrCreateKeys({ dir: placeholder, commonName: 'x', certValidityDays: 1 })).rejects.toThrow(
      /signing\.key: not a readable PEM/,
    );
    const users = byKind('Secret', 'pai-sso-users') as K8sObject & { stringData: Record<string, string> };
    await writeFile(join(dir, 'users.yaml'), users.stringData['users.yaml'] ?? '');
    expect(await readUsers(join(dir, 'users.yaml'))).toEqual({});
  });

  it('the keys made by the commands in 20-secrets.yaml are keys the gateway loads', async () => {
    const text = await readFile(join(DIR, '20-secrets.yaml'), 'utf8');
    const commands = /#\s+(openssl req[^\n]*\\\n#\s+[^\n]*)\n#\s+(openssl rand[^\n]*)/.exec(text);
    expect(commands).not.toBeNull();
    const keysDir = join(dir, 'made');
    await mkdir(keysDir);
    for (const cmd of [commands?.[1] ?? '', commands?.[2] ?? '']) {
      const res = spawnSync('sh', ['-c', cmd.replace(/\\\n#\s+/, '')], { cwd: keysDir, encoding: 'utf8' });
      expect(res.status, res.stderr).toBe(0);
    }
    const keys = await loadOrCreateKeys({ dir: keysDir, commonName: 'unused', certValidityDays: 1 });
    expect(keys.created).toEqual([]);
    expect(keys.privateKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
    expect(keys.sessionSecret.length).toBe(32);
  });
});

describe('the image runs as any non-root UID', () => {
  it('the Dockerfile: numeric non-root USER, group-0 writable certs/ and var/, the data dir the Deployment uses', async () => {
    const dockerfile = await readFile('Dockerfile', 'utf8');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const user = /^USER (\d+)(?::(\d+))?$/m.exec(runtime);
    expect(Number(user?.[1])).toBeGreaterThan(0);
    expect(user?.[2]).toBe('0');
    expect(runtime).toMatch(/chown -R node:0 certs config var && chmod -R g=u certs config var/);
    expect(/^ENV PAI_SSO_DATA_DIR=(\S+)$/m.exec(runtime)?.[1]).toBe(envOf(gateway, 'PAI_SSO_DATA_DIR')?.value);
    expect(runtime).toMatch(/^VOLUME \["\/app\/certs", "\/app\/var"\]$/m);
  });

  // Needs root (to switch UID) and a checkout that other users can read (not one under a 0700 home).
  const asAnyUid = (args: string[]) => spawnSync('setpriv', ['--reuid=10001', '--regid=0', '--clear-groups', ...args]);
  const root =
    process.getuid?.() === 0 &&
    asAnyUid([
      'test',
      '-r',
      join(process.cwd(), 'node_modules', 'tsx', 'package.json'),
      '-a',
      '-r',
      join(process.cwd(), 'bin', 'pai-sso.js'),
    ]).status === 0;
  it.skipIf(!root)(
    'an arbitrary UID in group 0 creates keys and users in folders laid out as the image lays them out',
    { timeout: 60_000 },
    async () => {
      const dir = await tempDir('pai-sso-uid-');
      try {
        await chmod(dir, 0o755);
        // As the Dockerfile: owned by the image user (1000), group 0, chmod g=u.
        for (const sub of ['certs', 'var', 'closed']) {
          await mkdir(join(dir, sub));
          await chown(join(dir, sub), 1000, 0);
          await chmod(join(dir, sub), sub === 'closed' ? 0o755 : 0o775);
        }
        const configFor = async (keysDir: string) => {
          const file = join(dir, `gateway-${keysDir}.yaml`);
          await writeFile(file, stringify({ ...baseConfig(), keys: { dir: join(dir, keysDir) } }));
          await chmod(file, 0o644);
          return file;
        };
        const asUid = (args: string[], dataDir: string, input?: string) =>
          spawnSync(
            'setpriv',
            ['--reuid=10001', '--regid=0', '--clear-groups', process.execPath, join(process.cwd(), 'bin/pai-sso.js'), ...args],
            {
              encoding: 'utf8',
              input,
              env: { PATH: process.env['PATH'], HOME: '/tmp', PAI_SSO_DATA_DIR: join(dir, dataDir) },
            },
          );
        const check = asUid(['check', '--config', await configFor('certs')], 'var');
        expect(check.status, check.stderr).toBe(0);
        const key = await stat(join(dir, 'certs', FILES.key));
        expect([key.uid, key.mode & 0o777]).toEqual([10001, 0o600]);
        const add = asUid(
          ['user', 'add', 'alice', '--groups', 'ml', '--password-stdin', '--config', await configFor('certs')],
          'var',
          'a long enough password\n',
        );
        expect(add.status, add.stderr).toBe(0);
        expect((await stat(join(dir, 'var', 'users.yaml'))).uid).toBe(10001);
        // Without g=u the same UID cannot write: the layout is what makes it work.
        const closed = asUid(['check', '--config', await configFor('closed')], 'var');
        expect(closed.status).toBe(1);
        expect(closed.stderr).toMatch(/EACCES|permission denied/i);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
