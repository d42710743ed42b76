import { randomBytes } from 'node:crypto';
import { cleanupRun } from './lab.js';

// One prefix per vitest run, inherited by every worker, so parallel runs never share a name and the
// teardown removes exactly what this run made.
export function setup(): void {
  process.env.SKIFF_TEST_PREFIX ??= `skt${randomBytes(2).toString('hex')}`;
}

export async function teardown(): Promise<void> {
  const prefix = process.env.SKIFF_TEST_PREFIX;
  if (prefix && process.getuid?.() === 0) await cleanupRun(prefix);
}
