import { ApiError } from '../../src/apiserver/errors.js';

/** The ApiError a registry call rejects with (fails the test when it resolves or throws something else). */
export async function apiError(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}
