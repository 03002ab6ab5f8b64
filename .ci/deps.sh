#!/bin/sh
# Install the Debian packages nabproxy needs. Usage: .ci/deps.sh [build|test]
# "build": compiler, libraries and Prosody (the demo's local server).
# "test": also cmocka and the XMPP servers
# the integration tests start (Prosody, ejabberd, jabberd2) and haproxy for
# the benchmarks. Package post-install scripts must not start system
# daemons on 5222: a policy-rc.d forbids it while we install.
set -eu
what=${1:-build}
pkgs="build-essential cmake pkg-config libevent-dev libexpat1-dev zlib1g-dev libssl-dev prosody lua-bitop"
if [ "$what" = test ]; then
	pkgs="$pkgs libcmocka-dev ejabberd jabberd2 sqlite3 haproxy valgrind"
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
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$prc" >/dev/null
	$SUDO chmod 755 "$prc"
	created=1
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
[ "$created" = 1 ] && $SUDO rm -f "$prc"
# Belt and braces: packages that started a daemon anyway are stopped.
for svc in prosody ejabberd jabberd2 haproxy; do
	$SUDO service "$svc" stop >/dev/null 2>&1 || true
done
pkill -x lua5.4 2>/dev/null || true
exit 0
