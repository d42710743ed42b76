import { Command, InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../../src/cmd/parse.js';
import { UserError } from '../../../src/util/errors.js';

function demo(): { cmd: Command; out: string[] } {
  const out: string[] = [];
  const cmd = new Command('skiff demo')
    .option('--nodes <n>', 'node count', (v) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a number');
      return Number(v);
    })
    .configureOutput({ writeOut: (s) => out.push(s) });
  return { cmd, out };
}

describe('parseArgs', () => {
  it('parses good flags', () => {
    const { cmd } = demo();
    expect(parseArgs(cmd, ['--nodes', '3'])).toBe(true);
    expect(cmd.opts()).toEqual({ nodes: 3 });
  });

  it('prints help and tells the caller to stop', () => {
    const { cmd, out } = demo();
    expect(parseArgs(cmd, ['--help'])).toBe(false);
    expect(out.join('')).toContain('Usage: skiff demo');
  });

  it('turns a bad flag into one line naming the command, exit code 2', () => {
    for (const argv of [['--nodes', 'x'], ['--bogus']]) {
      const { cmd } = demo();
      let err: unknown;
      try {
        parseArgs(cmd, argv);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).exitCode).toBe(2);
      expect((err as UserError).message).toMatch(/^skiff demo: /);
      expect((err as UserError).message).not.toContain('\n');
    }
  });
});
