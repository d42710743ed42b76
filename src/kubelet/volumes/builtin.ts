import { existsSync, mkdirSync, statSync } from 'node:fs';
import { writePayload } from './atomic-writer.js';
import { configMapProjection, downwardAPIProjection, secretProjection } from './projections.js';
import { type Payload, type ProjectionSource, type VolumePlugin, VolumeError } from './types.js';

/** The volume types the kubelet implements: emptyDir, hostPath, and the projected kinds. */
const DEFAULT_MODE = 0o644;

export const emptyDir: VolumePlugin = {
  field: 'emptyDir',
  async setUp(_src, ctx) {
    mkdirSync(ctx.dir, { recursive: true, mode: 0o777 });
    return { path: ctx.dir, readOnly: false };
  },
};

const HOST_PATH_TYPES = [
  '',
  'DirectoryOrCreate',
  'Directory',
  'FileOrCreate',
  'File',
  'Socket',
  'CharDevice',
  'BlockDevice',
];

export const hostPath: VolumePlugin = {
  field: 'hostPath',
  async setUp(src) {
    const path = String(src.path ?? '');
    const type = String(src.type ?? '');
    if (!path.startsWith('/')) throw new VolumeError(`hostPath.path "${path}" must be absolute`);
    if (!HOST_PATH_TYPES.includes(type)) throw new VolumeError(`hostPath.type "${type}" is not supported`);
    if (type === 'DirectoryOrCreate' && !existsSync(path)) mkdirSync(path, { recursive: true, mode: 0o755 });
    if (type === 'FileOrCreate' && !existsSync(path)) {
      const { closeSync, openSync } = await import('node:fs');
      closeSync(openSync(path, 'a', 0o644));
    }
    if (type) {
      let st;
      try {
        st = statSync(path);
      } catch {
        throw new VolumeError(`hostPath type check failed: ${path} does not exist`);
      }
      const ok: Record<string, boolean> = {
        DirectoryOrCreate: st.isDirectory(),
        Directory: st.isDirectory(),
        FileOrCreate: st.isFile(),
        File: st.isFile(),
        Socket: st.isSocket(),
        CharDevice: st.isCharacterDevice(),
        BlockDevice: st.isBlockDevice(),
      };
      if (!ok[type]) throw new VolumeError(`hostPath type check failed: ${path} is not a ${type}`);
    }
    return { path, readOnly: false };
  },
};

/** A volume made of one projection source (configMap, secret, downwardAPI volumes). */
function single(field: string, source: ProjectionSource): VolumePlugin {
  return {
    field,
    async setUp(src, ctx) {
      const mode = typeof src.defaultMode === 'number' ? src.defaultMode : DEFAULT_MODE;
      writePayload(ctx.dir, await source.project(src, mode, ctx));
      return { path: ctx.dir, readOnly: true };
    },
  };
}

export const configMap = single('configMap', configMapProjection);
export const secret = single('secret', secretProjection);
export const downwardAPI = single('downwardAPI', downwardAPIProjection);

/** `projected`: every source's files in one directory. */
export function projected(sources: Map<string, ProjectionSource>): VolumePlugin {
  return {
    field: 'projected',
    async setUp(src, ctx) {
      const mode = typeof src.defaultMode === 'number' ? src.defaultMode : DEFAULT_MODE;
      const payload: Payload = new Map();
      for (const s of (src.sources as Record<string, unknown>[] | undefined) ?? []) {
        const field = Object.keys(s).find((k) => s[k] !== undefined && s[k] !== null);
        const source = field ? sources.get(field) : undefined;
        if (!field || !source)
          throw new VolumeError(`projected source "${field ?? '?'}" is not supported by this kubelet`);
        for (const [p, f] of await source.project(s[field] as Record<string, unknown>, mode, ctx)) payload.set(p, f);
      }
      writePayload(ctx.dir, payload);
      return { path: ctx.dir, readOnly: true };
    },
  };
}
