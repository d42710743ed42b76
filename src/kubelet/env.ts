import { ConfigError, type ConfigSources, type KeyedData, missing } from './sources.js';
import { type PodFacts, resolveFieldRef, resolveResourceFieldRef } from './fieldpath.js';
import type { Container } from './types.js';

/**
 * A container's environment as Kubernetes builds it: envFrom (ConfigMaps and Secrets, with prefix), then
 * env in order (value with $(VAR) expansion, or valueFrom configMapKeyRef / secretKeyRef / fieldRef /
 * resourceFieldRef), then the Service variables where no explicit variable has the name.
 */
interface KeyRef {
  name?: string;
  key: string;
  optional?: boolean;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: KeyRef;
    secretKeyRef?: KeyRef;
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { containerName?: string; resource: string; divisor?: string | number };
  };
}
interface EnvFrom {
  prefix?: string;
  configMapRef?: { name?: string; optional?: boolean };
  secretRef?: { name?: string; optional?: boolean };
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** $(VAR) references to variables defined earlier; $$ escapes; unknown references stay as written. */
export function expandEnv(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)/g, (m, name: string | undefined) =>
    m === '$$' ? '$' : name !== undefined && name in env ? (env[name] as string) : m,
  );
}

async function lookup(src: ConfigSources, kind: KeyedData['kind'], ref: KeyRef): Promise<string | undefined> {
  const name = ref.name ?? '';
  const obj = kind === 'ConfigMap' ? await src.configMap(name) : await src.secret(name);
  if (!obj) {
    if (ref.optional) return undefined;
    throw missing(kind, name);
  }
  const v = obj.data.get(ref.key);
  if (v === undefined) {
    if (ref.optional) return undefined;
    throw new ConfigError(`couldn't find key ${ref.key} in ${kind} ${src.namespaceOf()}/${name}`);
  }
  return v.toString('utf8');
}

export async function containerEnv(
  c: Container,
  facts: PodFacts,
  src: ConfigSources,
  base: Record<string, string>,
  serviceEnv: Record<string, string>,
): Promise<Record<string, string>> {
  const env: Record<string, string> = { ...base };
  const explicit = new Set<string>();
  const set = (k: string, v: string): void => {
    env[k] = v;
    explicit.add(k);
  };
  for (const from of ((c as { envFrom?: EnvFrom[] }).envFrom ?? []) as EnvFrom[]) {
    const kind = from.configMapRef ? 'ConfigMap' : from.secretRef ? 'Secret' : undefined;
    const ref = from.configMapRef ?? from.secretRef;
    if (!kind || !ref) continue;
    const name = ref.name ?? '';
    const obj = kind === 'ConfigMap' ? await src.configMap(name) : await src.secret(name);
    if (!obj) {
      if (ref.optional) continue;
      throw missing(kind, name);
    }
    for (const [k, v] of obj.data) {
      const key = `${from.prefix ?? ''}${k}`;
      if (ENV_NAME.test(key)) set(key, v.toString('utf8')); // invalid names are skipped, as Kubernetes does
    }
  }
  for (const e of (c.env ?? []) as EnvVar[]) {
    const vf = e.valueFrom;
    if (!vf) {
      set(e.name, expandEnv(e.value ?? '', env));
      continue;
    }
    let v: string | undefined;
    if (vf.configMapKeyRef) v = await lookup(src, 'ConfigMap', vf.configMapKeyRef);
    else if (vf.secretKeyRef) v = await lookup(src, 'Secret', vf.secretKeyRef);
    else if (vf.fieldRef) v = resolveFieldRef(vf.fieldRef.fieldPath, facts);
    else if (vf.resourceFieldRef) v = resolveResourceFieldRef(vf.resourceFieldRef, facts.pod, c);
    if (v !== undefined) set(e.name, v);
  }
  for (const [k, v] of Object.entries(serviceEnv)) if (!explicit.has(k)) env[k] = v;
  return env;
}
