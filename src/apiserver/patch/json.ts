/** RFC 6902 JSON patch (application/json-patch+json) over fast-json-patch, with errors worded for clients. */
import fjp from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';

export class JsonPatchError extends Error {}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new JsonPatchError('json patch must be an array of operations');
  const err = fjp.validate(ops as Operation[], target);
  if (err)
    throw new JsonPatchError(
      `the server rejected our request due to an error in our request: ${err.message.split('\n')[0]}`,
    );
  try {
    return fjp.applyPatch(structuredClone(target), ops as Operation[], true, false).newDocument;
  } catch (e) {
    throw new JsonPatchError(e instanceof Error ? e.message.split('\n')[0]! : String(e));
  }
}
