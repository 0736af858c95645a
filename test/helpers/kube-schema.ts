import { Namespace, ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';

// Kubernetes objects checked against the API's OpenAPI schemas, as shipped (compiled to Ajv
// validators) by the kubernetes-models package, offline. Those schemas, like the API's own,
// do not forbid unknown fields, and the API server drops a misspelled field silently (a
// `livenesProbe` is simply no probe). So the validator runs on a proxy that records every
// property it looks at: it reads each property its schema defines and iterates maps
// (labels, data), so a field it never read is one the schema does not have.

type Validate = (this: unknown) => void;
const MODELS: Readonly<Record<string, { prototype: { validate: Validate } }>> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

function tracked(value: unknown, path: string, seen: Set<string>): unknown {
  if (value === null || typeof value !== 'object') return value;
  return new Proxy(value, {
    get(target, key, receiver) {
      const child = Reflect.get(target, key, receiver) as unknown;
      if (typeof key !== 'string') return child;
      seen.add(`${path}/${key}`);
      return tracked(child, `${path}/${key}`, seen);
    },
  });
}

function unread(value: unknown, path: string, seen: ReadonlySet<string>, out: string[]): void {
  if (value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    const p = `${path}/${key}`;
    if (!seen.has(p)) out.push(`${p}: not a field of this object`);
    else unread(child, p, seen, out);
  }
}

/** Problems of one manifest object: schema errors, unknown fields, an unknown kind. Empty when valid. */
export function kubernetesProblems(obj: unknown): string[] {
  const { apiVersion, kind } = (obj ?? {}) as { apiVersion?: unknown; kind?: unknown };
  const model = MODELS[`${String(apiVersion)}/${String(kind)}`];
  if (!model) return [`${String(apiVersion)}/${String(kind)}: not a kind these manifests are checked for`];
  const seen = new Set<string>();
  const problems: string[] = [];
  try {
    model.prototype.validate.call(tracked(obj, '', seen));
  } catch (err) {
    problems.push((err as Error).message);
  }
  unread(obj, '', seen, problems);
  return problems;
}
