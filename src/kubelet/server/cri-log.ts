import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

/**
 * Reading CRI-format container logs as the kubelet does for `kubectl logs` (pkg/kubelet/kuberuntime/logs):
 * lines are `<timestamp> <stream> <P|F> <content>`; an F line ends a log line (a newline is added), P lines
 * are pieces of a longer one. tailLines counts log lines from the end, sinceTime/sinceSeconds drop older
 * lines, timestamps prefixes each line with its RFC3339Nano time, limitBytes caps the output, follow keeps
 * reading what the running instance appends.
 */
export interface LogOptions {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  limitBytes?: number;
  /** epoch ms: lines older than this are dropped (sinceTime, or now - sinceSeconds) */
  sinceMs?: number;
}

export interface CriLine {
  time: string;
  /** epoch ms (nanoseconds beyond the ms do not matter to the since filters) */
  ms: number;
  stream: 'stdout' | 'stderr';
  /** the content, with its newline when the line is complete (F) */
  content: string;
}

const LINE = /^(\S+) (stdout|stderr) ([PF]) (.*)$/s;

export function parseCriLine(line: string): CriLine | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const ms = Date.parse(m[1]!);
  if (Number.isNaN(ms)) return undefined;
  return { time: m[1]!, ms, stream: m[2] as 'stdout' | 'stderr', content: m[3] === 'F' ? `${m[4]}\n` : m[4]! };
}

/** Go's time.RFC3339Nano: the fraction without trailing zeros (what kubectl logs --timestamps prints). */
export function rfc3339Nano(time: string): string {
  return time.replace(/\.(\d+)Z$/, (_m, frac: string) => {
    const f = frac.replace(/0+$/, '');
    return f ? `.${f}Z` : 'Z';
  });
}

/** Formats lines for the client, counting bytes against limitBytes. */
export class LogFormatter {
  private written = 0;
  constructor(private readonly o: LogOptions) {}

  /** The bytes to send for one line (empty when filtered out). */
  format(l: CriLine): Buffer {
    if (this.o.sinceMs !== undefined && l.ms < this.o.sinceMs) return Buffer.alloc(0);
    let b = Buffer.from(this.o.timestamps ? `${rfc3339Nano(l.time)} ${l.content}` : l.content);
    if (this.o.limitBytes !== undefined) b = b.subarray(0, Math.max(0, this.o.limitBytes - this.written));
    this.written += b.length;
    return b;
  }

  /** The byte limit is reached: nothing more will be sent. */
  get done(): boolean {
    return this.o.limitBytes !== undefined && this.written >= this.o.limitBytes;
  }
}

/** The last `tailLines` lines (all when undefined). */
export function tail(lines: string[], tailLines: number | undefined): string[] {
  if (tailLines === undefined) return lines;
  return tailLines === 0 ? [] : lines.slice(-tailLines);
}

/** Incremental reader of a growing log file: whole lines only, an unfinished rest is kept for the next call. */
export class LogFileReader {
  private offset = 0;
  private rest = Buffer.alloc(0);
  constructor(readonly file: string) {}

  /** Start reading at byte `offset` (attach: only what comes next). */
  skipTo(offset: number): void {
    this.offset = offset;
    this.rest = Buffer.alloc(0);
  }

  /** New complete lines since the last call. */
  read(): string[] {
    if (!existsSync(this.file)) return [];
    const size = statSync(this.file).size;
    if (size < this.offset) {
      // replaced (a new instance's file): start over
      this.offset = 0;
      this.rest = Buffer.alloc(0);
    }
    if (size === this.offset) return [];
    const fd = openSync(this.file, 'r');
    try {
      const buf = Buffer.alloc(size - this.offset);
      const n = readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const all = Buffer.concat([this.rest, buf.subarray(0, n)]);
      const end = all.lastIndexOf(0x0a);
      if (end < 0) {
        this.rest = all;
        return [];
      }
      this.rest = Buffer.from(all.subarray(end + 1));
      return all.subarray(0, end).toString('utf8').split('\n');
    } finally {
      closeSync(fd);
    }
  }
}
