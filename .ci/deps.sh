#!/bin/sh
# Install the Debian packages nabproxy needs. Usage: .ci/deps.sh [build|test]
# "build": compiler, libraries, python3 and Prosody (the demo's server).
# "test": also cmocka and the XMPP servers the integration tests start
# (Prosody, ejabberd, jabberd2), haproxy for the benchmarks, and clang
# with its runtime (libFuzzer, sanitizers) and llvm-symbolizer for the
# fuzz targets.
#
# It installs packages and touches nothing else: it never stops, kills or
# reconfigures a service. Package post-install scripts must not start
# system daemons on 5222, so a policy-rc.d forbids service starts while
# apt runs; it is removed on every exit path (if this script created it).
set -eu
what=${1:-build}
pkgs="build-essential cmake pkg-config libevent-dev libexpat1-dev zlib1g-dev libssl-dev python3 prosody lua-bitop"
if [ "$what" = test ]; then
	pkgs="$pkgs libcmocka-dev ejabberd jabberd2 sqlite3 haproxy valgrind openssl"
	pkgs="$pkgs clang libclang-rt-14-dev llvm"
fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
prc=/usr/sbin/policy-rc.d
created=0
cleanup() {
	if [ "$created" = 1 ]; then
		$SUDO rm -f "$prc"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
if [ ! -e "$prc" ]; then
	created=1
	printf '#!/bin/sh\n# temporary, from nabproxy .ci/deps.sh\nexit 101\n' | $SUDO tee "$prc" >/dev/null
	$SUDO chmod 755 "$prc"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
exit 0
