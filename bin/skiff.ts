import { commands } from '../src/cmd/registry.js';
import { UserError, errorMessage } from '../src/util/errors.js';

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: skiff <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'skiff <command> --help' for a command's options.\n`;
}

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (name === '--version') {
    process.stdout.write('skiff 0.1.0\n');
    return;
  }
  const entry = commands[name];
  if (!entry) throw new UserError(`skiff: unknown command "${name}" (see 'skiff --help')`, 2);
  let mod;
  try {
    mod = await entry.load();
  } catch (err) {
    throw new UserError(`skiff ${name}: not available in this build (${errorMessage(err)})`, 2);
  }
  await mod.main(rest);
}

main().catch((err: unknown) => {
  const code = err instanceof UserError ? err.exitCode : 1;
  process.stderr.write(`${err instanceof UserError ? err.message : `skiff: ${errorMessage(err)}`}\n`);
  process.exit(code);
});
