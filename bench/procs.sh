# bench/procs.sh: the processes a bench script starts, stopped by their
# PIDs when it exits (sourced by bench/run.sh and bench/ab.sh; bash).
# A script appends each child's PID to PIDS, and may set STOPSIG[pid] to
# the signal that stops it (default INT); nothing it did not start is
# signalled.
PIDS=()
declare -A STOPSIG
alive() {	# pid: running and not a zombie
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -"${STOPSIG[$p]:-INT}" "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do alive "$p" || break; sleep 0.1; done
		alive "$p" && kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT
