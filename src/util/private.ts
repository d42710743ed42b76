import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';

/**
 * Files that hold the cluster's state or secrets (the store and its WAL, tokens, keys, kubeconfigs) are
 * root's alone: their directories 0700, the files 0600, whatever the umask or an earlier run left behind.
 */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Create `path` empty if missing, and make it 0600 (existing content kept). */
export function privateFile(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

/** Tighten files that may exist (e.g. SQLite's -wal and -shm, created with the database's mode). */
export function tightenIfPresent(...paths: string[]): void {
  for (const p of paths) if (existsSync(p)) chmodSync(p, 0o600);
}
