#!/bin/bash
# bench/ab.sh: A/B of two nabproxy binaries on one workload, plus the
# system calls each makes for it (strace -c).
#
# usage: bench/ab.sh NABPROXY_A NABPROXY_B
# env:   ROUNDS=5         interleaved runs of each (medians reported)
#        WL=50:400:200:8  conns:stanzas per conn:size:window (the summary
#                         table's load: 20,000 stanzas each way)
#        STRACE=1         0 skips the strace -c runs
#        OUT=DIR          raw data (default: a new /tmp/nabab.XXXXXX, kept)
#
# Both proxies run log-format none, profile passthrough, against
# bench/echoserver, configured as bench/run.sh configures them. Needs the
# bench tools built by bench/run.sh (build-bench/bench/) or builds them.
# Every process started here is stopped by its PID on exit.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 2 ] || { echo "usage: $0 NABPROXY_A NABPROXY_B" >&2; exit 2; }
BIN=("$1" "$2")
ROUNDS=${ROUNDS:-5}
WL=${WL:-50:400:200:8}
STRACE=${STRACE:-1}
OUT=${OUT:-$(mktemp -d /tmp/nabab.XXXXXX)}
mkdir -p "$OUT/tools"
chmod 700 "$OUT"
PY=/usr/bin/python3
. "$SRC/bench/procs.sh"
die() { echo "ab.sh: $*" >&2; exit 1; }

gcc -O2 -Wall -o "$OUT/tools/xmppload" "$SRC/bench/xmppload.c" -levent_core
gcc -O2 -Wall -o "$OUT/tools/echoserver" "$SRC/bench/echoserver.c" -levent_core
"$OUT/tools/echoserver" >"$OUT/echo.out" 2>"$OUT/echo.err" &
PIDS+=("$!")
for _ in $(seq 100); do grep -q listening "$OUT/echo.out" 2>/dev/null && break; sleep 0.05; done
ECHO_PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$OUT/echo.out")
[ -n "$ECHO_PORT" ] || die "echoserver did not start"

PORT=() PID=()
for i in 0 1; do
	dir=$OUT/nab$i
	mkdir -p "$dir"; chmod 700 "$dir"
	cat >"$dir/nabproxy.conf" <<EOF
[nabproxy]
listen = 127.0.0.1:0
upstream = 127.0.0.1:$ECHO_PORT
state-dir = $dir
log-file = $dir/nabproxy.log
log-format = none
profile = passthrough
upstream-tls = no
max-connections = 1000
max-per-source = 0
user = $(id -un)
include = $SRC/etc/profiles/*.conf
EOF
	"${BIN[$i]}" -c "$dir/nabproxy.conf" --foreground >"$dir/stderr.log" 2>&1 &
	PID[$i]=$!
	PIDS+=("$!")
	for _ in $(seq 200); do
		PORT[$i]=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
		    "$dir/nabproxy.log" 2>/dev/null | head -1 || true)
		[ -n "${PORT[$i]}" ] && break
		alive "${PID[$i]}" || die "nabproxy $i exited"
		sleep 0.05
	done
	[ -n "${PORT[$i]}" ] || die "nabproxy $i did not start"
done

IFS=: read -r conns n size win <<<"$WL"
load() {	# i: one run through proxy i
	"$OUT/tools/xmppload" -p "${PORT[$1]}" -c "$conns" -n "$n" -s "$size" \
	    -w "$win" -t 60 -P "${PID[$1]}" 2>>"$OUT/xmppload.err"
}
for r in $(seq "$ROUNDS"); do
	for i in 0 1; do echo "$i $(load "$i")" >>"$OUT/load.txt"; done
done
if [ "$STRACE" = 1 ] && command -v strace >/dev/null; then
	for i in 0 1; do
		strace -c -f -p "${PID[$i]}" -o "$OUT/strace$i.txt" &
		st=$!
		sleep 0.5	# attached (strace prints nothing on attach)
		load "$i" >/dev/null
		kill -INT "$st"; wait "$st" 2>/dev/null || true
	done
fi

$PY - "$OUT" "${BIN[@]}" <<'EOF'
import re, statistics, sys, os
out, bins = sys.argv[1], sys.argv[2:]
runs = {0: [], 1: []}
for line in open(os.path.join(out, 'load.txt')):
    i, rest = line.split(' ', 1)
    kv = dict(re.findall(r'(\w+)=(\S+)', rest))
    runs[int(i)].append(kv)
def med(i, k):
    v = [float(r[k]) for r in runs[i] if k in r]
    return statistics.median(v) if v else float('nan')
print('| | A | B | B/A |')
print('|---|--:|--:|--:|')
for k, name in (('stanzas_per_s', 'stanzas/s'), ('cpu_us_per_stanza',
                 'proxy CPU us/stanza'), ('p50_us', 'p50 us'), ('p99_us', 'p99 us')):
    a, b = med(0, k), med(1, k)
    print('| %s | %.2f | %.2f | %.2f |' % (name, a, b, b / a if a else 0))
print('errors: A %s, B %s' % (sum(int(r.get('errors', 1)) for r in runs[0]),
      sum(int(r.get('errors', 1)) for r in runs[1])))
for i in (0, 1):
    p = os.path.join(out, 'strace%d.txt' % i)
    if not os.path.exists(p):
        continue
    calls = {}
    for line in open(p):
        f = line.split()
        if len(f) >= 5 and f[-1] != 'total' and f[-1].isidentifier() and f[3].isdigit():
            calls[f[-1]] = int(f[3])
    top = sorted(calls.items(), key=lambda x: -x[1])[:8]
    print('syscalls %s (%s): %s' % ('AB'[i], bins[i], ', '.join(
        '%s %d' % c for c in top)))
EOF
echo "raw data: $OUT" >&2
