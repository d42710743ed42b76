#!/bin/sh
":" //; # skiff-cni-shim @BUILD@ -- prelude of every bundled plugin (scripts/build.mjs). Each line is sh and, behind
":" //; # the `":" //` string+comment, valid JavaScript, so one file is both. sh runs first: when a resident
":" //; # skiff-cnid listens on $SKIFF_CNI_SOCKET (default /run/skiff/cni.sock), runs in this very network
":" //; # namespace (its pid is in "$s.pid") and serves this build, the call is relayed there (env, stdin,
":" //; # $0 over the socket; stdout and exit code back). Otherwise, or when it declines, node runs this file.
":" //; s=${SKIFF_CNI_SOCKET:-/run/skiff/cni.sock}
":" //; if [ -n "$CNI_COMMAND" ] && [ -S "$s" ] && read -r d 2>/dev/null <"$s.pid" && [ /proc/self/ns/net -ef "/proc/$d/ns/net" ]; then
":" //;   i=$(cat; echo .); i=${i%.}
":" //;   o=$({ printf '%s %s %s\n' @BUILD@ "$$" "$0"; env -0; printf '\0%s' "$i"; } | socat -t 300 - "UNIX-CONNECT:$s" 2>/dev/null; echo .); o=${o%.}
":" //;   c=${o%%:*}
":" //;   case $c in [0-9]|[0-9][0-9]|[0-9][0-9][0-9]) printf '%s' "${o#*:}"; exit "$c";; esac
":" //;   printf '%s' "$i" | node "$0" "$@"; exit $?
":" //; fi
":" //; exec node "$0" "$@"
