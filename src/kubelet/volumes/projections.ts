import { resolveFieldRef, resolveResourceFieldRef } from '../fieldpath.js';
import { missing } from '../sources.js';
import { type Payload, type ProjectionSource, type VolumeContext, VolumeError } from './types.js';

/** The built-in projection sources: configMap, secret, downwardAPI (for `projected` and their own volumes). */
interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

function keyed(kind: 'ConfigMap' | 'Secret'): ProjectionSource['project'] {
  return async (src, defaultMode, ctx) => {
    const name = String(src.name ?? src.secretName ?? '');
    const optional = src.optional === true;
    const obj = kind === 'ConfigMap' ? await ctx.sources.configMap(name) : await ctx.sources.secret(name);
    const out: Payload = new Map();
    if (!obj) {
      if (optional) return out;
      throw missing(kind, name);
    }
    const items = src.items as KeyToPath[] | undefined;
    if (!items?.length) {
      for (const [k, v] of obj.data) out.set(k, { data: v, mode: defaultMode });
      return out;
    }
    for (const it of items) {
      const v = obj.data.get(it.key);
      if (v === undefined) {
        if (optional) continue;
        throw new VolumeError(`configuration key "${it.key}" not found in ${kind} ${name}`);
      }
      out.set(it.path, { data: v, mode: it.mode ?? defaultMode });
    }
    return out;
  };
}

interface DownwardItem {
  path: string;
  mode?: number;
  fieldRef?: { fieldPath: string };
  resourceFieldRef?: { containerName?: string; resource: string; divisor?: string | number };
}

async function downward(src: Record<string, unknown>, defaultMode: number, ctx: VolumeContext): Promise<Payload> {
  const out: Payload = new Map();
  for (const it of (src.items as DownwardItem[] | undefined) ?? []) {
    let v: string;
    if (it.fieldRef) v = resolveFieldRef(it.fieldRef.fieldPath, ctx.facts);
    else if (it.resourceFieldRef) {
      if (!it.resourceFieldRef.containerName)
        throw new VolumeError(`downwardAPI item ${it.path}: resourceFieldRef needs a containerName in a volume`);
      v = resolveResourceFieldRef(it.resourceFieldRef, ctx.pod, undefined);
    } else throw new VolumeError(`downwardAPI item ${it.path}: needs fieldRef or resourceFieldRef`);
    out.set(it.path, { data: Buffer.from(v, 'utf8'), mode: it.mode ?? defaultMode });
  }
  return out;
}

export const configMapProjection: ProjectionSource = { field: 'configMap', project: keyed('ConfigMap') };
export const secretProjection: ProjectionSource = { field: 'secret', project: keyed('Secret') };
export const downwardAPIProjection: ProjectionSource = { field: 'downwardAPI', project: downward };

/** serviceAccountToken: a token bound to this pod, requested from the API server when the volume is set up. */
async function serviceAccountToken(
  src: Record<string, unknown>,
  defaultMode: number,
  ctx: VolumeContext,
): Promise<Payload> {
  const path = String(src.path ?? '');
  if (!path) throw new VolumeError('serviceAccountToken projection needs a path');
  const token = await ctx.sources.serviceAccountToken(
    {
      name: ctx.pod.metadata.name,
      uid: ctx.pod.metadata.uid ?? '',
      serviceAccountName: (ctx.pod.spec as { serviceAccountName?: string }).serviceAccountName || 'default',
    },
    {
      audience: typeof src.audience === 'string' && src.audience ? src.audience : undefined,
      expirationSeconds: Number(src.expirationSeconds ?? 3600),
    },
  );
  return new Map([[path, { data: Buffer.from(token, 'utf8'), mode: defaultMode }]]);
}
export const serviceAccountTokenProjection: ProjectionSource = {
  field: 'serviceAccountToken',
  project: serviceAccountToken,
};
