import { existsSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ViewBind } from '../../os/rootview.js';
import type { Container, Pod } from '../types.js';
import { configMap, downwardAPI, emptyDir, hostPath, projected, secret } from './builtin.js';
import {
  configMapProjection,
  downwardAPIProjection,
  secretProjection,
  serviceAccountTokenProjection,
} from './projections.js';
import { type ProjectionSource, type Volume, type VolumeContext, VolumeError, type VolumePlugin } from './types.js';

export { VolumeError } from './types.js';
export type { ProjectionSource, VolumePlugin, VolumeContext } from './types.js';

/** Projection sources of `projected` volumes, by field: a new source is a module in projections/ added here. */
const projectionSources = new Map<string, ProjectionSource>(
  [configMapProjection, secretProjection, downwardAPIProjection, serviceAccountTokenProjection].map((s) => [
    s.field,
    s,
  ]),
);

/** Volume plugins by the Volume field they handle. */
export const volumePlugins = new Map<string, VolumePlugin>(
  [emptyDir, hostPath, configMap, secret, downwardAPI, projected(projectionSources)].map((p) => [p.field, p]),
);

function volumeSourceField(v: Volume): string | undefined {
  return Object.keys(v).find((k) => k !== 'name' && v[k] !== undefined && v[k] !== null);
}

interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}

/**
 * Prepare every volume the container mounts (under `podDir/volumes/<field>/<name>`) and return the binds for
 * its root view. Errors are VolumeError / ConfigError: the container waits with CreateContainerConfigError.
 */
export async function containerVolumeBinds(
  pod: Pod,
  c: Container,
  podDir: string,
  ctx: Omit<VolumeContext, 'dir' | 'pod'>,
): Promise<ViewBind[]> {
  const volumes = new Map(((pod.spec as { volumes?: Volume[] }).volumes ?? []).map((v) => [v.name, v]));
  const prepared = new Map<string, { path: string; readOnly: boolean }>();
  const binds: ViewBind[] = [];
  for (const m of ((c as { volumeMounts?: VolumeMount[] }).volumeMounts ?? []) as VolumeMount[]) {
    const v = volumes.get(m.name);
    if (!v) throw new VolumeError(`volumeMount ${m.mountPath}: no volume named "${m.name}"`);
    let p = prepared.get(m.name);
    if (!p) {
      const field = volumeSourceField(v);
      const plugin = field ? volumePlugins.get(field) : undefined;
      if (!field || !plugin) throw new VolumeError(`volume "${v.name}": type "${field ?? '?'}" is not supported`);
      const dir = join(podDir, 'volumes', field, v.name);
      p = await plugin.setUp((v[field] as Record<string, unknown>) ?? {}, { ...ctx, pod, dir });
      prepared.set(m.name, p);
    }
    let source = p.path;
    if (m.subPath) {
      if (m.subPath.startsWith('/') || m.subPath.split('/').includes('..'))
        throw new VolumeError(`volumeMount ${m.mountPath}: subPath "${m.subPath}" must be relative without ".."`);
      source = join(p.path, m.subPath);
      if (!existsSync(source)) {
        if (p.readOnly) throw new VolumeError(`volumeMount ${m.mountPath}: subPath "${m.subPath}" does not exist`);
        const { mkdirSync } = await import('node:fs');
        mkdirSync(source, { recursive: true });
      }
      // never follow a symlink out of the volume
      const real = realpathSync(source);
      if (!real.startsWith(`${realpathSync(p.path)}/`))
        throw new VolumeError(`volumeMount ${m.mountPath}: subPath "${m.subPath}" leaves the volume`);
      source = real;
    }
    binds.push({
      source,
      target: m.mountPath,
      readOnly: p.readOnly || m.readOnly === true,
      file: statSync(source).isFile(),
    });
  }
  return binds;
}
