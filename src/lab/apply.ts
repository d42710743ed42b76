import { isStatus, type ApiClient } from '../kubelet/api.js';

/** An object for a collection: POST `path` with `body` (which names itself in metadata.name). */
export interface AddonObject {
  path: string;
  body: { metadata: { name: string } & Record<string, unknown> } & Record<string, unknown>;
}

/**
 * Create each object unless it exists (the lab's add-ons and demo, applied again when a stopped lab
 * resumes). Existence is asked first: a create of an existing Service with a fixed clusterIP fails as
 * kube-apiserver's does, 422 "provided IP is already allocated", before any 409 AlreadyExists.
 */
export async function createIfAbsent(api: ApiClient, objects: AddonObject[]): Promise<void> {
  for (const o of objects) {
    try {
      await api.request('GET', `${o.path}/${encodeURIComponent(o.body.metadata.name)}`);
      continue;
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    try {
      await api.request('POST', o.path, o.body);
    } catch (err) {
      if (!isStatus(err, 409)) throw err; // created meanwhile
    }
  }
}
