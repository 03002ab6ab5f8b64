#!/bin/bash
# bench/run.sh: nabproxy against haproxy (TCP mode) on the same XMPP load.
#
# Builds nabproxy (Release, build-bench/) and the bench tools, starts
# bench/echoserver, haproxy (mode tcp, nbthread 1, throwaway config) and
# four nabproxy processes (log-format none|vm x profile passthrough|
# simulator) plus a what-if one (none/passthrough with TCP_NODELAY forced
# by bench/nodelay_shim.so), runs the same workloads through direct / haproxy / nabproxy
# (interleaved, ROUNDS times, medians reported), measures idle memory per
# connection on fresh processes, and counts instructions per stanza with
# callgrind. Prints one table; raw data stays in $OUT.
#
# usage: bench/run.sh            (about 2-3 minutes on 2 cores)
# env:   ROUNDS=5      repetitions of every load run (median is reported)
#        CALLGRIND=1   0 skips the instruction counts
#        MEMORY=1      0 skips the idle-connection memory runs
#        OUT=DIR       where logs and raw results go (default: a new
#                      /tmp/nabbench.XXXXXX, kept)
#        BUILD=DIR     nabproxy build dir (default: build-bench in the tree)
#        PIN=1         pin proxies to CPU 1, load generator and echo server
#                      to CPU 0 (default: no pinning)
#
# The summary table at the top of the report (issue 11) comes from the
# "table" workload (50 connections, window 8, 200-byte stanzas), the
# "paced" one (10 connections, 1,000 stanzas/s in total: added latency =
# p50 through the proxy minus p50 direct), the idle-memory runs (1, 1,000
# and 10,000 connections, fd limit raised) and the setup runs (2,000
# connections, at most 200 connecting at a time; p99 from connect() to
# the server's stream header).
# env:   SETUP=1       0 skips the connection-setup runs
#        IDLE_LEVELS   idle-memory levels (default 1,1000,10000)
#        STORM=0       1 adds bench/storm.sh's login storms (needs Prosody)
#
# Every process started here is stopped by its PID on exit.
#
# The bench tools are plain gcc builds, no CMake:
#   gcc -O2 -Wall -o build-bench/bench/xmppload bench/xmppload.c -levent_core
#   gcc -O2 -Wall -o build-bench/bench/echoserver bench/echoserver.c -levent_core
#   gcc -O2 -Wall -shared -fPIC -o build-bench/bench/nodelay_shim.so \
#       bench/nodelay_shim.c -ldl
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build-bench}
ROUNDS=${ROUNDS:-5}
CALLGRIND=${CALLGRIND:-1}
MEMORY=${MEMORY:-1}
SETUP=${SETUP:-1}
PIN=${PIN:-0}
OUT=${OUT:-$(mktemp -d /tmp/nabbench.XXXXXX)}
PY=/usr/bin/python3
mkdir -p "$OUT"
chmod 700 "$OUT"
RESULTS=$OUT/results.txt
: > "$RESULTS"
T_START=$(date +%s)
LOADAVG0=$(cut -d" " -f1 /proc/loadavg)

# Our own children, by PID (haproxy's STOPSIG is TERM); stop_pid()
# forgets the ones it ended.
. "$SRC/bench/procs.sh"

say() { printf '%s [%ds]\n' "$*" "$(( $(date +%s) - T_START ))" >&2; }
die() { say "run.sh: $*"; exit 1; }

# --- build --------------------------------------------------------------
build_nabproxy() {
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$OUT/cmake.log" 2>&1 &&
	cmake --build "$BUILD" --target nabproxy -j"$(nproc)" >>"$OUT/cmake.log" 2>&1
}
say "== building nabproxy (Release) in $BUILD"
if ! build_nabproxy; then
	# Someone may be in the middle of editing a file: one more try.
	say "build failed (see $OUT/cmake.log); retrying in 60 s"
	sleep 60
	build_nabproxy || { tail -30 "$OUT/cmake.log" >&2; die "nabproxy does not build"; }
fi
NAB=$BUILD/nabproxy
mkdir -p "$BUILD/bench"
gcc -O2 -Wall -o "$BUILD/bench/xmppload" "$SRC/bench/xmppload.c" -levent_core
gcc -O2 -Wall -o "$BUILD/bench/echoserver" "$SRC/bench/echoserver.c" -levent_core
gcc -O2 -Wall -shared -fPIC -o "$BUILD/bench/nodelay_shim.so" "$SRC/bench/nodelay_shim.c" -ldl
LOAD=$BUILD/bench/xmppload
ECHO=$BUILD/bench/echoserver
command -v haproxy >/dev/null || die "haproxy not found: apt-get install -y haproxy"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# A proxy needs two descriptors per connection: 10,000 idle connections
# need a limit above 20,000. Where the hard limit is lower (and cannot be
# raised), the idle level is the most this box allows, and says so.
FDMAX=$(ulimit -n)
MAXCONN=$(( (FDMAX - 200) / 2 ))
[ "$MAXCONN" -gt 10000 ] && MAXCONN=10000
IDLE_LEVELS=${IDLE_LEVELS:-1,1000,$MAXCONN}

if [ "$PIN" = 1 ]; then
	PX_PIN="taskset -c 1"; LG_PIN="taskset -c 0"
else
	PX_PIN=""; LG_PIN=""
fi

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_listen() {	# port pid: until pid listens on port
	for _ in $(seq 400); do
		ss -ltnpH "sport = :$1" | grep -q "pid=$2," && return 0
		alive "$2" || return 1
		sleep 0.05
	done
	return 1
}

# --- servers -------------------------------------------------------------
start_echo() {
	$LG_PIN "$ECHO" >"$OUT/echo.out" 2>"$OUT/echo.err" &
	ECHO_PID=$!
	PIDS+=("$ECHO_PID")
	for _ in $(seq 100); do
		grep -q listening "$OUT/echo.out" 2>/dev/null && break
		sleep 0.05
	done
	ECHO_PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$OUT/echo.out" || true)
	[ -n "$ECHO_PORT" ] || die "echoserver did not start"
}

# start_haproxy NAME [wrapper...]: sets HAP_PID, HAP_PORT
start_haproxy() {
	local name=$1; shift
	HAP_PORT=$(free_port)
	cat >"$OUT/$name.cfg" <<EOF
global
	nbthread 1
	maxconn $MAXCONN
defaults
	mode tcp
	timeout connect 5s
	timeout client 300s
	timeout server 300s
frontend fe
	bind 127.0.0.1:$HAP_PORT
	default_backend be
backend be
	server echo 127.0.0.1:$ECHO_PORT
EOF
	"$@" haproxy -db -f "$OUT/$name.cfg" >"$OUT/$name.log" 2>&1 &
	HAP_PID=$!
	PIDS+=("$HAP_PID")
	STOPSIG[$HAP_PID]=TERM	# under valgrind haproxy ignores SIGINT
	wait_listen "$HAP_PORT" "$HAP_PID" || die "haproxy did not start: $(cat "$OUT/$name.log")"
}

# start_nab NAME LOGFMT PROFILE [wrapper...]: sets NAB_PID, NAB_PORT
start_nab() {
	local name=$1 fmt=$2 prof=$3 dir=$OUT/$1; shift 3
	rm -rf "$dir"; mkdir -p "$dir"; chmod 700 "$dir"
	cat >"$dir/nabproxy.conf" <<EOF
[nabproxy]
listen = 127.0.0.1:0
upstream = 127.0.0.1:$ECHO_PORT
state-dir = $dir
log-file = $dir/nabproxy.log
log-format = $fmt
profile = $prof
# The echo server offers no STARTTLS; "no" also skips loading the system
# CA store at start-up (seconds under valgrind).
upstream-tls = no
max-connections = $MAXCONN
max-per-source = 0
# As root the daemon wants an explicit user: whoever runs the bench.
user = $(id -un)
include = $SRC/etc/profiles/*.conf
EOF
	"$@" "$NAB" -c "$dir/nabproxy.conf" --foreground >"$dir/stderr.log" 2>&1 &
	NAB_PID=$!
	PIDS+=("$NAB_PID")
	NAB_PORT=
	for _ in $(seq 600); do
		NAB_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
		    "$dir/nabproxy.log" 2>/dev/null | head -1 || true)
		[ -n "$NAB_PORT" ] && break
		alive "$NAB_PID" || die "nabproxy $name exited: $(cat "$dir/stderr.log" "$dir/nabproxy.log" 2>/dev/null)"
		sleep 0.05
	done
	[ -n "$NAB_PORT" ] || die "nabproxy $name did not start"
}

stop_pid() {	# pid: its stop signal, wait (30 s at most), forget
	local p keep=()
	kill -"${STOPSIG[$1]:-INT}" "$1" 2>/dev/null || true
	for _ in $(seq 300); do alive "$1" || break; sleep 0.1; done
	if alive "$1"; then
		say "pid $1 did not stop; killing it"
		kill -KILL "$1" 2>/dev/null || true
	fi
	wait "$1" 2>/dev/null || true
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

say "== starting echo server, haproxy, nabproxy x5"
start_echo
start_haproxy haproxy $PX_PIN
declare -A PORT PID
PORT[direct]=$ECHO_PORT; PID[direct]=$ECHO_PID
PORT[haproxy]=$HAP_PORT; PID[haproxy]=$HAP_PID
NABS="nab-none-pass:none:passthrough nab-vm-pass:vm:passthrough nab-none-sim:none:simulator nab-vm-sim:vm:simulator"
for spec in $NABS; do
	IFS=: read -r name fmt prof <<<"$spec"
	start_nab "$name" "$fmt" "$prof" $PX_PIN
	PORT[$name]=$NAB_PORT; PID[$name]=$NAB_PID
done
# What-if: none/passthrough with TCP_NODELAY forced on by an LD_PRELOAD shim.
start_nab nab-nodelay none passthrough $PX_PIN env LD_PRELOAD="$BUILD/bench/nodelay_shim.so"
PORT[nab-nodelay]=$NAB_PORT; PID[nab-nodelay]=$NAB_PID
TARGETS="direct haproxy nab-none-pass nab-vm-pass nab-none-sim nab-vm-sim nab-nodelay"

# --- load runs ----------------------------------------------------------
# name:conns:stanzas-per-conn:size:window[:rate]  (rate: stanzas/s, paced)
WORKLOADS=${WORKLOADS:-"table:50:400:200:8 paced:10:200:200:1:1000 rtt:1:3000:256:1 c100:100:200:256:1 pipe:10:1000:1024:8 bulk:4:400:16384:4"}

logsize() {	# target: bytes in its log file
	stat -c %s "$OUT/$1/nabproxy.log" 2>/dev/null || echo 0
}

run_load() {	# round workload target
	local round=$1 wl=$2 t=$3 conns n size win rate line l0 l1 pace=()
	IFS=: read -r _ conns n size win rate <<<"$wl"
	[ -n "$rate" ] && pace=(-r "$rate")
	l0=$(logsize "$t")
	# direct: the CPU figure would be the echo server's; report.py hides it
	line=$($LG_PIN "$LOAD" -p "${PORT[$t]}" -c "$conns" -n "$n" -s "$size" \
	    -w "$win" "${pace[@]}" -t 60 -P "${PID[$t]}" 2>>"$OUT/xmppload.err") || true
	[ -n "$line" ] || line="RESULT errors=1"
	sleep 0.05	# the log is written from the proxy's event loop
	l1=$(logsize "$t")
	echo "LOAD round=$round workload=${wl%%:*} target=$t log_bytes=$((l1 - l0)) ${line#RESULT }" >>"$RESULTS"
}

say "== load: $ROUNDS rounds x workloads (${WORKLOADS}) x targets, interleaved"
for round in $(seq "$ROUNDS"); do
	for wl in $WORKLOADS; do
		for t in $TARGETS; do
			run_load "$round" "$wl" "$t"
		done
	done
	# The [vm] logs grow by ~100 MB a round: count, check, truncate
	# (the proxy appends with O_APPEND, so truncating under it is safe).
	for spec in $NABS; do
		name=${spec%%:*}
		f=$OUT/$name/nabproxy.log
		echo "LOG round=$round target=$name bytes=$(stat -c %s "$f") dropped=$(grep -c 'lines dropped' "$f" || true)" >>"$RESULTS"
		case $name in nab-vm-*) : >"$f" ;; esac
	done
	say "   round $round done"
done

# RSS of the long-running proxies after every load round (leak check).
for t in $TARGETS; do
	[ "$t" = direct ] && continue
	echo "RSSAFTER target=$t rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/${PID[$t]}/status") hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/${PID[$t]}/status")" >>"$RESULTS"
done

# --- idle memory (fresh processes) --------------------------------------
if [ "$MEMORY" = 1 ]; then
	say "== idle memory: $IDLE_LEVELS connections, fresh processes"
	# 5 s settle: nabproxy puts a stream's parser to sleep after 2-4 s idle.
	mem_run() {	# target pid port
		"$LOAD" -p "$3" -I "$IDLE_LEVELS" -P "$2" -S 5 -t 180 2>>"$OUT/xmppload.err" |
		    sed "s/^MEM /MEM target=$1 /" >>"$RESULTS" || true
	}
	start_haproxy haproxy-mem $PX_PIN
	mem_run haproxy "$HAP_PID" "$HAP_PORT"; stop_pid "$HAP_PID"
	for spec in nab-none-pass:none:passthrough nab-vm-sim:vm:simulator; do
		IFS=: read -r name fmt prof <<<"$spec"
		start_nab "$name-mem" "$fmt" "$prof" $PX_PIN
		mem_run "$name" "$NAB_PID" "$NAB_PORT"; stop_pid "$NAB_PID"
	done
fi

# --- connection setup: 2,000 connections --------------------------------
if [ "$SETUP" = 1 ]; then
	say "== connection setup: 2,000 connections, $ROUNDS rounds"
	for round in $(seq "$ROUNDS"); do
		for t in direct haproxy nab-none-pass nab-vm-sim; do
			"$LOAD" -p "${PORT[$t]}" -c 2000 -C -t 60 2>>"$OUT/xmppload.err" |
			    sed "s/^SETUP /SETUP round=$round target=$t /" >>"$RESULTS" || true
		done
	done
fi

# --- login storms (bench/storm.sh; needs Prosody; off by default) ----------
if [ "${STORM:-0}" = 1 ]; then
	say "== login storms (bench/storm.sh)"
	BUILD=$BUILD "$SRC/bench/storm.sh" "$RESULTS" || say "bench/storm.sh failed"
fi

# --- callgrind: instructions per stanza -----------------------------------
# One valgrind process per target, three load phases on it (1 connection,
# 256-byte stanzas, window 1), a counter dump (which also zeroes) after
# each: warm-up (N1 round trips, discarded), B (N1), C (N2). B and C carry
# the same connection setup and teardown, so (Ir(C) - Ir(B)) / (N2 - N1)
# is the cost of one round trip, i.e. two stanzas (one each way).
# callgrind counts user-space instructions only: system calls and the
# kernel's TCP work are not in it (the CPU column of the load tables is).
CG_N1=200
CG_N2=700
if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null; then
	say "== callgrind: instructions per stanza ($CG_N1 vs $CG_N2 round trips)"
	cg_dump() {	# pid file n: wait for dump number n to be written
		callgrind_control -d "$1" >/dev/null 2>&1 || true
		for _ in $(seq 200); do
			grep -q '^totals:' "$2.$3" 2>/dev/null && return 0
			sleep 0.05
		done
	}
	cg_target() {	# name kind fmt prof
		local name=$1 kind=$2 fmt=$3 prof=$4 cg=$OUT/callgrind.$1 port pid
		rm -f "$cg" "$cg".*
		if [ "$kind" = haproxy ]; then
			start_haproxy "haproxy-cg" valgrind --tool=callgrind \
			    --callgrind-out-file="$cg"
			port=$HAP_PORT; pid=$HAP_PID
		else
			start_nab "$name-cg" "$fmt" "$prof" valgrind --tool=callgrind \
			    --callgrind-out-file="$cg"
			port=$NAB_PORT; pid=$NAB_PID
		fi
		"$LOAD" -p "$port" -n "$CG_N1" -t 120 >/dev/null 2>>"$OUT/xmppload.err" || true
		cg_dump "$pid" "$cg" 1
		"$LOAD" -p "$port" -n "$CG_N1" -t 120 >/dev/null 2>>"$OUT/xmppload.err" || true
		cg_dump "$pid" "$cg" 2
		"$LOAD" -p "$port" -n "$CG_N2" -t 120 >/dev/null 2>>"$OUT/xmppload.err" || true
		cg_dump "$pid" "$cg" 3
		stop_pid "$pid"
		echo "CG target=$name n1=$CG_N1 ir1=$(awk '/^summary:/ {print $2}' "$cg.2" 2>/dev/null) n2=$CG_N2 ir2=$(awk '/^summary:/ {print $2}' "$cg.3" 2>/dev/null)" >>"$RESULTS"
		# Per-function listings of both phases; report.py subtracts them.
		for i in 2 3; do
			[ -s "$cg.$i" ] || continue
			callgrind_annotate --threshold=100 "$cg.$i" \
			    >"$cg.$i.self.txt" 2>/dev/null || true
			callgrind_annotate --threshold=100 --inclusive=yes "$cg.$i" \
			    >"$cg.$i.incl.txt" 2>/dev/null || true
		done
	}
	for spec in haproxy:haproxy:-:- nab-none-pass:nab:none:passthrough \
	    nab-vm-pass:nab:vm:passthrough nab-none-sim:nab:none:simulator; do
		IFS=: read -r name kind fmt prof <<<"$spec"
		cg_target "$name" "$kind" "$fmt" "$prof"
	done
fi

# --- report -------------------------------------------------------------
{
	echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r)"
	echo "haproxy: $(haproxy -v | head -1)"
	echo "nabproxy: $(git -C "$SRC" describe --always --dirty 2>/dev/null || echo '?') (Release)"
	echo "load: 1-minute load average at start $LOADAVG0, at end $(cut -d' ' -f1 /proc/loadavg)"
} >"$OUT/machine.txt"
$PY "$SRC/bench/report.py" "$RESULTS" "$OUT/machine.txt" | tee "$OUT/report.txt"
say "== done in $(( $(date +%s) - T_START )) s; raw data in $OUT"
