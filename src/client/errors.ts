/**
 * Helpers over the errors @kubernetes/client-node throws (ApiException with a numeric `code`), so callers
 * branch on HTTP status without importing the generated classes.
 */
export function statusCode(err: unknown): number | undefined {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; statusCode?: unknown };
    if (typeof e.code === 'number') return e.code;
    if (typeof e.statusCode === 'number') return e.statusCode;
  }
  return undefined;
}

export const isNotFound = (err: unknown): boolean => statusCode(err) === 404;
export const isConflict = (err: unknown): boolean => statusCode(err) === 409;
/** AlreadyExists is also a 409 in Kubernetes; callers that create objects treat it separately by context. */
export const isAlreadyExists = (err: unknown): boolean => statusCode(err) === 409;

/** Run `fn` again while it fails with 409 Conflict (it should re-read the object each time). */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isConflict(err) || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 20 * i));
    }
  }
}

/** Short description of a client error for logs (status code + the server's message when there is one). */
export function describeError(err: unknown): string {
  const code = statusCode(err);
  let msg = err instanceof Error ? err.message : String(err);
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) msg = parsed.message;
    } catch {
      /* keep the exception message */
    }
  }
  msg = msg.split('\n')[0] ?? msg;
  return code ? `${code}: ${msg}` : msg;
}
