/**
 * Child process for the durability test: writes to a sqlite store in a loop and prints one line per
 * acknowledged write ("ack REVISION OP KEY"), until killed or bounded by count and time.
 */
import { openSqliteBackend } from '../../../src/store/sqlite.js';

async function main(): Promise<void> {
  const [dir, maxArg] = process.argv.slice(2);
  if (!dir) throw new Error('usage: durability-child DIR [MAX]');
  const max = Number(maxArg ?? 20_000);
  const s = openSqliteBackend({ kind: 'sqlite', dir });
  const deadline = Date.now() + 60_000;
  const key = (i: number): string => `/dur/k${String(i).padStart(6, '0')}`;
  const ack = (rev: number, op: string, k: string): void => {
    process.stdout.write(`ack ${rev} ${op} ${k}\n`);
  };
  for (let i = 0; i < max && Date.now() < deadline; i++) {
    ack((await s.create(key(i), JSON.stringify({ i }))).modRevision, 'put', key(i));
    if (i % 3 === 2)
      ack((await s.update(key(i - 1), JSON.stringify({ i, updated: true }))).modRevision, 'put', key(i - 1));
    if (i % 5 === 4) ack((await s.delete(key(i - 2))).revision, 'delete', key(i - 2));
  }
  await s.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
