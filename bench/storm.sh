#!/bin/bash
# bench/storm.sh: login storms through nabproxy to a real Prosody (issue 11
# item 3). bench/run.sh calls it with its results file; it also runs alone.
#
#   500 seed-style rabbits (nabrabbit --firmware simulator, profile
#   simulator) register, then reconnect all at once (register 409 answered
#   from the credential store, login upstream on the rabbit's own stream) while
#   a control client pings through the same nabproxy; then 2,000 bootcode
#   18673 rabbits (nabrabbit --count, profile auto) register (100 a second)
#   and reconnect all at once with the passwords they kept.
#
# usage: bench/storm.sh [RESULTS]   appends key=value lines to RESULTS
#                                   (default: a new /tmp/nabstorm.XXXXXX)
# env:   BUILD=DIR          Release build of nabproxy and nabrabbit (default:
#                           build-bench in the tree; built if missing)
#        STORM_RABBITS=500  seed-style rabbits
#        STORM_FW_RABBITS=2000  18673 rabbits (0 skips that storm)
#        STORM_SERVER_BACKLOG=128  Prosody's accept queue (tcp_backlog,
#                           Prosody's own default; nabproxy's max-dials
#                           keeps its connects within it)
#        STORM_SOURCE=127.1.0.1  first source address: each rabbit connects
#                           from its own (nabrabbit --source), as rabbits
#                           behind different routers; empty: all from
#                           127.0.0.1 (one NAT: a wrong password there backs
#                           off every rabbit behind it, max-per-source = 0)
#        STORM_CONNECT_TIMEOUT=60  the 18673 storm's connect-timeout (it
#                           counts the wait for a max-dials slot; 2,000
#                           logins keep Prosody busy longer than the
#                           default 10 s)
#
# Keys written (times in seconds unless _ms):
#   storm_server_backlog storm_source storm_rabbits storm_first_idle storm_first_s storm_first_cpu_ms_per_login
#   storm_first_upstream_conns_per_login storm_first_sasl_per_login
#   storm_upstream_conns_per_login storm_sasl_per_login (the reconnect's;
#   upstream connections and SASL exchanges per rabbit, from nabproxy's log)
#   storm_reconnect_idle storm_reconnect_s storm_cpu_ms_per_login (target
#   <= 0.3) storm_server_cpu_ms_per_login (Prosody's, the same reconnect)
#   storm_sources (distinct source addresses nabproxy saw) storm_control_pings storm_control_rtt_idle_p50_ms
#   storm_control_rtt_p50_ms storm_control_rtt_p99_ms (target < 50)
#   storm_control_rtt_max_ms storm_direct_rtt_p50_ms storm_direct_rtt_p99_ms
#   (the same pings straight to the server, beside the storm) storm_fw_rabbits storm_fw_first_idle
#   storm_fw_first_s storm_fw_idle (target: all) storm_fw_failed_by_step
#   storm_fw_reconnect_s storm_fw_p99_ms storm_fw_cpu_ms_per_login
#   storm_fw_upstream_conns_per_login storm_fw_sasl_per_login
#   storm_fw_server_cpu_ms_per_login storm_fw_sources storm_fw_connect_timeout
#
# Prosody is started by the script on free ports (tests/integration/
# xmppservers.py); every process it starts is stopped by its PID.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build-bench}
RESULTS=${1:-$(mktemp /tmp/nabstorm.XXXXXX)}

if [ ! -x "$BUILD/nabproxy" ] || [ ! -x "$BUILD/nabrabbit" ]; then
	echo "== building nabproxy and nabrabbit (Release) in $BUILD" >&2
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$BUILD" --target nabproxy nabrabbit -j"$(nproc)" >/dev/null
fi
# Two descriptors per rabbit through the proxy, plus probes.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "== login storms (results in $RESULTS)" >&2
NABPROXY=$BUILD/nabproxy NABRABBIT=$BUILD/nabrabbit PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 "$SRC/bench/storm.py" "$RESULTS"
