import { InvalidArgumentError } from 'commander';

/** "500ms", "40s", "5m", "1h", "1m30s" → milliseconds (Go-style durations as Kubernetes flags take). */
export function parseDuration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  const t = s.trim();
  if (!/^(\d+(?:\.\d+)?(ms|s|m|h))+$/.test(t)) throw new Error(`invalid duration "${s}" (examples: 500ms, 40s, 5m)`);
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of t.matchAll(re)) total += Number(m[1]) * unit[m[2]!]!;
  return Math.round(total);
}

/** commander option parser for durations: a bad value becomes commander's one-line usage error. */
export function durationOption(v: string): number {
  try {
    return parseDuration(v);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}
