#!/bin/sh
# Fuzzing as CI runs it. Usage: tests/fuzz/run.sh [SECONDS] [BUILD_DIR]
# Builds the libFuzzer targets with clang in BUILD_DIR (default
# build-fuzz), replays every corpus once (ctest -L fuzz), then fuzzes each
# target for SECONDS (default 60) with its dictionary, two at a time (one
# per core). New inputs go to a temporary directory that is removed on
# exit; a crashing input is kept in BUILD_DIR/fuzz-artifacts/ and printed
# in base64. Exits non-zero on any crash, leak, UB report, timeout or
# out-of-memory.
set -eu
secs=${1:-60}
bdir=${2:-build-fuzz}
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src"
cmake -S . -B "$bdir" -DCMAKE_C_COMPILER=clang -DNABPROXY_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=Debug >/dev/null
targets="xmlstream vmlog sasl config creds zstream vpacket events xframe"
set --
for t in $targets; do set -- "$@" "fuzz_$t"; done
cmake --build "$bdir" -j2 --target "$@"
(cd "$bdir" && ctest -L fuzz --output-on-failure --timeout 300 -j2)

work=$(mktemp -d "${TMPDIR:-/tmp}/nabfuzz-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP
art="$bdir/fuzz-artifacts"
mkdir -p "$art"

# One target: fuzz for $secs seconds; 0 or its exit status.
fuzz_one() {
	t=$1
	dict=$t
	case $t in xmlstream|vmlog|xframe) dict=xmpp ;; esac
	mkdir -p "$work/$t"
	"$bdir/tests/fuzz_$t" -max_total_time="$secs" -timeout=60 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -dict="tests/fuzz/$dict.dict" -artifact_prefix="$art/$t-" \
	    "$work/$t" "tests/fuzz/corpus/$t" >"$work/$t.log" 2>&1
}

# Report one finished target from its log; 1 if it failed.
report() {
	t=$1
	rc=$2
	if [ "$rc" -eq 0 ]; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
		cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -n 1)
		echo "fuzz_$t: ok, ${runs:-?} runs in ${secs}s, ${cov:-cov: ?}"
		return 0
	fi
	echo "fuzz_$t: FAILED (exit $rc); last lines of its log:"
	tail -n 60 "$work/$t.log"
	return 1
}

failed=0
set -- $targets
while [ $# -gt 0 ]; do
	a=$1
	shift
	b=""
	if [ $# -gt 0 ]; then
		b=$1
		shift
	fi
	fuzz_one "$a" & pa=$!
	if [ -n "$b" ]; then
		fuzz_one "$b" & pb=$!
	fi
	ra=0
	wait "$pa" || ra=$?
	report "$a" "$ra" || failed=$((failed + 1))
	if [ -n "$b" ]; then
		rb=0
		wait "$pb" || rb=$?
		report "$b" "$rb" || failed=$((failed + 1))
	fi
done
set -- $targets
if [ "$failed" -ne 0 ]; then
	echo "fuzzing found a problem: inputs in $art/ (add each, once fixed, to tests/fuzz/corpus/TARGET/)"
	echo "fuzz: $(($# - failed)) passed, $failed failed"
	exit 1
fi
echo "fuzz: $# passed, 0 failed"
