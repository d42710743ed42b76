import type { PodFacts } from '../fieldpath.js';
import type { ConfigSources } from '../sources.js';
import type { Pod } from '../types.js';

/**
 * Volume plugins: one per volume source field of core/v1 Volume (`configMap`, `secret`, `emptyDir`, ...).
 * A plugin prepares the volume's directory on the node; the kubelet bind-mounts it (or a subPath of it)
 * into each container's root view at its volumeMounts. A new volume type is a new file plus one line in
 * ./index.ts; a new projected source (e.g. serviceAccountToken) is a ProjectionSource registered the same way.
 */
export interface Volume {
  name: string;
  [source: string]: unknown;
}

export interface VolumeContext {
  pod: Pod;
  facts: PodFacts;
  sources: ConfigSources;
  /** <pod dir>/volumes/<plugin field>/<volume name>, for plugins that keep the data on the node */
  dir: string;
}

interface PreparedVolume {
  /** host path to bind into the views */
  path: string;
  /** always mounted read-only (configMap, secret, downwardAPI, projected), whatever the volumeMount says */
  readOnly: boolean;
}

export interface VolumePlugin {
  /** the Volume field this plugin handles */
  field: string;
  setUp(source: Record<string, unknown>, ctx: VolumeContext): Promise<PreparedVolume>;
}

/** One file of a projected payload: path relative to the volume root. */
interface ProjectedFile {
  data: Buffer;
  mode: number;
}
export type Payload = Map<string, ProjectedFile>;

/** A source of a `projected` volume (and, reused, the configMap / secret / downwardAPI volumes). */
export interface ProjectionSource {
  field: string;
  project(source: Record<string, unknown>, defaultMode: number, ctx: VolumeContext): Promise<Payload>;
}

export class VolumeError extends Error {}
