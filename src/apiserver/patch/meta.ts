/** PatchMeta for the strategic merge patch, read from the schema table (merge keys, patch strategies). */
import { getType, type Schema } from '../../api/schema.js';
import type { PatchMeta } from './strategic.js';

export function patchMetaFor(typeName: string): PatchMeta {
  return fromSchema({ t: 'ref', ref: typeName })!;
}

function fromSchema(s: Schema | undefined): PatchMeta | undefined {
  if (!s) return undefined;
  switch (s.t) {
    case 'ref': {
      const t = getType(s.ref);
      return { field: (n) => fromSchema(t.props[n]), items: () => undefined };
    }
    case 'map':
      return { field: () => fromSchema(s.values), items: () => undefined };
    case 'array':
      return { field: () => undefined, items: () => fromSchema(s.items), mergeKey: s.mergeKey, strategy: s.strategy };
    default:
      return undefined;
  }
}
