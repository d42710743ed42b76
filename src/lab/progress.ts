/**
 * Step-by-step progress for `skiff up`: on a TTY one line per step rewritten by a spinner, then ✓/✗ with
 * the elapsed time; otherwise plain lines ("==> step ... ok (1.2s)") that read well in CI logs.
 */
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Progress {
  private readonly tty: boolean;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    this.tty = !!out.isTTY && process.env.TERM !== 'dumb';
  }

  async step<T>(label: string, fn: (update: (detail: string) => void) => Promise<T>): Promise<T> {
    const t0 = Date.now();
    let detail = '';
    let frame = 0;
    let timer: NodeJS.Timeout | undefined;
    const draw = (): void => {
      this.out.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${label}${detail ? ` (${detail})` : ''}`);
    };
    if (this.tty) {
      draw();
      timer = setInterval(draw, 100);
    } else {
      this.out.write(`==> ${label}\n`);
    }
    const secs = (): string => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
    try {
      const v = await fn((d) => {
        detail = d;
      });
      if (timer) clearInterval(timer);
      this.out.write(this.tty ? `\r\x1b[2K✓ ${label} ${secs()}\n` : `    ok ${label} (${secs()})\n`);
      return v;
    } catch (err) {
      if (timer) clearInterval(timer);
      this.out.write(this.tty ? `\r\x1b[2K✗ ${label} ${secs()}\n` : `    FAILED ${label} (${secs()})\n`);
      throw err;
    }
  }

  info(line: string): void {
    this.out.write(`${line}\n`);
  }
}
