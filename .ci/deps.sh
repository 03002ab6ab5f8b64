#!/bin/sh
# Install the Debian packages nabproxy needs. Usage: .ci/deps.sh [build|test]
# "build": what building nabproxy and running its demo need: compiler,
#   CMake, the libraries' -dev packages and Prosody (the demo's server),
#   and file, which cpack's DEB generator needs to build the
#   package (README). Nothing for the tests: without cmocka CMake
#   configures no test.
# "test": also everything .ci/run uses: cmocka, python3 (the integration
#   tests, standard library only), the XMPP servers the
#   integration tests start (Prosody, ejabberd, jabberd2), haproxy and
#   valgrind for the benchmarks, for .ci/package.sh lintian, mandoc,
#   debootstrap (with the archive keyring) and procps, and for
#   .ci/cross-arm64.sh Debian's arm64 cross compiler and qemu-user, and
#   chromium (headless, for it_ctl's test of the live page), and clang
#   with its runtime (libFuzzer, sanitizers) and llvm-symbolizer for the
#   fuzz targets (tests/fuzz/run.sh), and prometheus for promtool (it_ops
#   checks /metrics with `promtool check metrics`) and logrotate (it_ops
#   runs the shipped etc/logrotate.d/nabproxy).
#
# It installs packages and touches nothing else: it never stops, kills or
# reconfigures a service. Package post-install scripts must not start
# system daemons on 5222, so a policy-rc.d forbids service starts while
# apt runs; it is removed on every exit path (if this script created it).
set -eu
what=${1:-build}
case "$what" in
build|test) ;;
*) echo "usage: sh .ci/deps.sh [build|test]" >&2; exit 2 ;;
esac
pkgs="build-essential cmake pkg-config libevent-dev libexpat1-dev zlib1g-dev libssl-dev prosody lua-bitop file"
if [ "$what" = test ]; then
	pkgs="$pkgs libcmocka-dev python3 ejabberd jabberd2 sqlite3 haproxy valgrind openssl"
	pkgs="$pkgs lintian mandoc debootstrap debian-archive-keyring gpgv wget procps"
	pkgs="$pkgs gcc-aarch64-linux-gnu qemu-user"
	pkgs="$pkgs chromium"
	pkgs="$pkgs clang libclang-rt-14-dev llvm"
	pkgs="$pkgs prometheus logrotate"
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
