/** Server-side printing: meta.k8s.io/v1 Table, as `kubectl get` asks for it (Accept: ...;as=Table). */
import type { KObject } from '../api/meta.js';
import type { ResourceDef } from './resources/types.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /(^|[;,\s])as=Table/.test(accept);
}

export function parseIncludeObject(v: unknown): IncludeObject {
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function rowObject(obj: KObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export function toTable(
  def: ResourceDef,
  objs: KObject[],
  opts: { include: IncludeObject; resourceVersion?: string; continue?: string; columns?: boolean },
): Record<string, unknown> {
  const now = Date.now();
  const meta: Record<string, unknown> = {};
  if (opts.resourceVersion) meta.resourceVersion = opts.resourceVersion;
  if (opts.continue) meta.continue = opts.continue;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: meta,
    columnDefinitions:
      opts.columns === false
        ? []
        : def.table.columns.map((c) => ({
            name: c.name,
            type: c.type,
            format: c.format ?? '',
            description: c.description,
            priority: c.priority,
          })),
    rows: objs.map((o) => {
      const row: Record<string, unknown> = { cells: def.table.cells(o, now) };
      const ro = rowObject(o, opts.include);
      if (ro !== undefined) row.object = ro;
      return row;
    }),
  };
}
