import { UserError } from '../util/errors.js';

/**
 * Images take agnhost-style flags (`--http-port=8080` or `--http-port 8080`); a leading subcommand word
 * equal to the image name (`netexec --http-port=8080`, as agnhost manifests pass it) is accepted and ignored.
 */
export function parseImageFlags(
  argv: string[],
  known: string[],
): { int(name: string, dflt: number): number; str(name: string): string | undefined } {
  const values = new Map<string, string>();
  const args = [...argv];
  if (args[0] && !args[0].startsWith('-')) args.shift();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !known.includes(m[1] as string))
      throw new UserError(`unknown image argument "${a}" (known: ${known.map((k) => `--${k}`).join(', ')})`, 2);
    let v = m[2];
    if (v === undefined) {
      v = args[++i];
      if (v === undefined) throw new UserError(`--${m[1]} needs a value`, 2);
    }
    values.set(m[1] as string, v);
  }
  return {
    str: (name) => values.get(name),
    int(name, dflt) {
      const v = values.get(name);
      if (v === undefined) return dflt;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535)
        throw new UserError(`--${name}: expected an integer 0-65535, got "${v}"`, 2);
      return n;
    },
  };
}
