import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Container output in the CRI logging format, as containerd writes it and the kubelet reads it:
 * `<RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>` per line, P for the pieces of a line longer than
 * 16 KiB (containerd's buffer) and for output that has no newline yet when it is read (a prompt), F for the piece
 * that ends a line. One small perl filter per stream sits between the
 * container and its log file: a detached process of its own, so it outlives a kubelet restart, and it ends when
 * the container's end of the pipe closes. perl because it is in every Debian base system (perl-base) and costs
 * a few MB per stream, where a node process per stream would cost forty.
 */
const STAMP = String.raw`
use strict; use Time::HiRes qw(gettimeofday);
my ($stream, $file) = @ARGV; my $max = 16384; my $buf = '';
open(my $out, '>>', $file) or die "cannot open $file: $!"; select($out); $| = 1;
$SIG{TERM} = 'IGNORE'; $SIG{INT} = 'IGNORE'; $SIG{HUP} = 'IGNORE';
sub ts { my ($s, $us) = gettimeofday(); my @g = gmtime($s);
  sprintf('%04d-%02d-%02dT%02d:%02d:%02d.%06d000Z', $g[5] + 1900, $g[4] + 1, $g[3], $g[2], $g[1], $g[0], $us) }
while (sysread(STDIN, my $chunk, $max) ) { $buf .= $chunk;
  while ((my $i = index($buf, "\n")) >= 0) { print ts() . " $stream F " . substr($buf, 0, $i) . "\n"; $buf = substr($buf, $i + 1); }
  # what is left has no newline yet (a prompt, a progress line): written now as a partial line, so logs -f and
  # attach show it at once
  while (length($buf) > 0) {
    print ts() . " $stream P " . substr($buf, 0, $max) . "\n"; $buf = length($buf) > $max ? substr($buf, $max) : '';
  }
}
`;

/** Start the filter for one stream; its stdin is the pipe the container writes to (pass it as the child's fd). */
export function startLogStamper(stream: 'stdout' | 'stderr', logFile: string): ChildProcess {
  const child = spawn('perl', ['-e', STAMP, stream, logFile], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.on('error', () => undefined);
  child.unref();
  return child;
}
