#!/bin/sh
":" //; # skiff-cni-shim @BUILD@ -- prelude of every bundled plugin (scripts/build.mjs). Each line is sh and, behind
":" //; # the `":" //` string+comment, valid JavaScript, so one file is both. sh runs first: when a resident
":" //; # skiff-cnid listens on $SKIFF_CNI_SOCKET (default /run/skiff/cni.sock) in this very network namespace
":" //; # (its pid is in "$s.pid"), one perl process (perl-base: no modules, starts in ~2 ms) sends it "build pid
":" //; # path", the environment and stdin, and relays its "code:stdout" reply. When there is no daemon, or it
":" //; # declines (other build, other netns, unknown type), node runs this file, with the same stdin.
":" //; s=${SKIFF_CNI_SOCKET:-/run/skiff/cni.sock}
":" //; if [ -n "$CNI_COMMAND" ] && [ -S "$s" ] && [ -x /usr/bin/perl ] && read -r d 2>/dev/null <"$s.pid" && [ /proc/self/ns/net -ef "/proc/$d/ns/net" ]; then
":" //;   exec /usr/bin/perl -e 'my($s,$f,$b)=splice(@ARGV,0,3); local $/; my $in=<STDIN>; $in="" unless defined $in; my $r=""; if(socket(S,1,1,0) && connect(S,pack("Sa108",1,$s))){ my $h="$b $$ $f\n".join("",map {"$_=$ENV{$_}\0"} sort keys %ENV)."\0".$in; my $o=0; while($o<length $h){ my $n=syswrite(S,$h,65536,$o); last unless $n; $o+=$n } shutdown(S,1); $r=<S>; $r="" unless defined $r; close S } if($r=~/^(\d{1,3}):/){ my $c=$1; print substr($r,length($c)+1); exit $c } open(P,"|-","node",$f,@ARGV) or exit 127; print P $in; close P; exit($?>>8)' "$s" "$0" @BUILD@ "$@"
":" //; fi
":" //; exec node "$0" "$@"
