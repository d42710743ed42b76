import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The docs hold the present: every file they link to or name by its repository path exists.
const root = resolve(import.meta.dirname, '../..');
const docs = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const TOP = '(?:src|test|bench|plugins|scripts|docs|cni-conf|bin)';

/** A named path exists as written, or as its TypeScript source when the docs name the built `.mjs`. */
function exists(path: string): boolean {
  const candidates = [path, path.replace(/^dist\//, ''), path.replace(/\.mjs$/, '.ts')];
  return candidates.some((p) => existsSync(join(root, p)));
}

describe('docs', () => {
  it.each(docs)('%s links and names only files that exist', (doc) => {
    const text = readFileSync(join(root, doc), 'utf8');
    const missing: string[] = [];
    for (const m of text.matchAll(/\]\(([^)#\s]+)[^)]*\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      if (!existsSync(join(root, normalize(join(dirname(doc), target))))) missing.push(target);
    }
    for (const m of text.matchAll(new RegExp('`((?:dist/)?' + TOP + '/[A-Za-z0-9_./-]+)`', 'g'))) {
      const path = m[1]!.replace(/[.,]$/, '');
      if (!exists(path)) missing.push(path);
    }
    expect(missing).toEqual([]);
  });
});
