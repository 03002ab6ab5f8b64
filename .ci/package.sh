#!/bin/sh
# Build, lint and install-test the Debian package (called by .ci/run;
# docs/deploy.md). Steps, each printed as "package: PASS|SKIP name":
#   1. a build with Debian's hardened build flags (dpkg-buildflags) and
#      CMAKE_INSTALL_PREFIX=/usr, cpack -G DEB;
#   2. lintian (no error may remain), mandoc -T lint on the man pages
#      (no message at all), systemd-analyze verify on the unit (where
#      systemd-analyze exists);
#   3. a scratch root: debootstrap --variant=minbase bookworm from the
#      Debian mirror this machine's apt uses (NAB_DEBIAN_MIRROR overrides),
#      apt-get install of the .deb there, then checks inside it: the
#      nabproxy user, /var/lib/nabproxy 0700, the conffiles,
#      nabproxy --check-config on the installed config, nabproxy demo with
#      Prosody installed there, the unit's
#      ExecCondition refusing the shipped (empty) upstream and accepting a
#      set one, and dpkg --purge. Needs root (chroot); as another user
#      this step is reported SKIP.
# Everything it makes lives in build-pkg/ and a temporary directory that
# is removed on every exit path; it changes nothing on the machine.
set -eu
cd "$(dirname "$0")/.."
b=build-pkg
passed=0
skipped=0
ok() { echo "package: PASS $*"; passed=$((passed + 1)); }
skip() { echo "package: SKIP $*"; skipped=$((skipped + 1)); }
root=""
proc=""
cleanup() {
	# The scratch root's /proc first: rm never crosses into it.
	if [ -n "$proc" ]; then
		umount "$proc" 2>/dev/null || umount -l "$proc" 2>/dev/null || true
	fi
	if [ -n "$root" ] && [ -d "$root" ]; then
		rm -rf --one-file-system "$root"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

t0=$(date +%s)
# Debian's build flags with every hardening feature (PIE, RELRO, bindnow,
# fortify, stack protector), as a Debian package of a daemon is built.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS LDFLAGS
rm -rf "$b"
cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX=/usr \
    -DNABPROXY_GZIP_MAN=ON -DNABPROXY_TESTS=OFF >/dev/null
cmake --build "$b" -j2 >/dev/null
rm -f "$b"/nabproxy_*.deb
(cd "$b" && cpack -G DEB >/dev/null)
deb=$(ls "$b"/nabproxy_*.deb)
case "$deb" in
*/nabproxy_[0-9]*_*.deb) ok "build $deb" ;;
*) echo "package: FAIL unexpected package name $deb"; exit 1 ;;
esac
dpkg-deb -f "$deb" Depends | grep -q 'libevent-core' ||
	{ echo "package: FAIL no dpkg-shlibdeps dependencies"; exit 1; }
ok "dependencies: $(dpkg-deb -f "$deb" Depends)"

# lintian prints tags; --fail-on error makes errors fatal.
lintian --fail-on error "$deb" >&2 ||
	{ echo "package: FAIL lintian"; exit 1; }
ok "lintian (no error)"
# The hardening lintian checks (informational tags) must all hold.
hard=$(lintian -I --tags hardening-no-bindnow,hardening-no-fortify-functions,hardening-no-pie,hardening-no-relro "$deb" 2>/dev/null || true)
[ -z "$hard" ] || { echo "$hard"; echo "package: FAIL hardening"; exit 1; }
ok "hardened build (PIE, RELRO, bindnow, fortify)"

# Cross-references to pages this machine lacks (its own not installed, no
# manpages package) are not the pages' fault; every other message is.
lint=$(mandoc -T lint docs/man/*.[0-9] 2>&1 |
    grep -v -e 'referenced manual not found' -e 'outdated mandoc.db' || true)
if [ -n "$lint" ]; then
	echo "$lint"
	echo "package: FAIL mandoc -T lint"
	exit 1
fi
ok "mandoc -T lint"

root=$(mktemp -d /var/tmp/nabproxy-pkg.XXXXXX)
# A filter builds from the package alone: its header, pkg-config file and
# example source (the package's tree, unpacked).
dpkg-deb -x "$deb" "$root/x"
pc=$(find "$root/x/usr/lib" -name nabproxy-filter.pc)
cflags=$(pkg-config --define-variable=prefix="$root/x/usr" --cflags "$pc")
cc -shared -fPIC -fvisibility=hidden -Wall -Werror $cflags -o "$root/stamp.so" \
    "$root/x/usr/share/doc/nabproxy/examples/stamp.c"
ok "example filter built with pkg-config nabproxy-filter ($cflags)"
abi=$(pkg-config --define-variable=prefix="$root/x/usr" --modversion "$pc")
hdr=$(sed -n 's/^#define[[:space:]]*NAB_ABI_M[AI][JN]OR[[:space:]]*\([0-9]*\).*/\1/p' \
    "$root/x/usr/include/nabproxy/filter.h" | paste -sd. -)
[ "$abi" = "$hdr" ] ||
	{ echo "package: FAIL nabproxy-filter.pc says ABI $abi, the header $hdr"; exit 1; }
ok "nabproxy-filter.pc: filter ABI $abi, as the installed header"
if command -v systemd-analyze >/dev/null; then
	# The installed binary is not on this machine: verify a copy of the
	# unit whose nabproxy is the one just built.
	mkdir "$root/unit"
	sed "s#/usr/sbin/nabproxy#$PWD/$b/nabproxy#g" "$b/nabproxy.service" \
	    >"$root/unit/nabproxy.service"
	systemd-analyze verify --man=no "$root/unit/nabproxy.service"
	ok "systemd-analyze verify"
else
	skip "systemd-analyze verify (systemd-analyze is not installed)"
fi

if [ "$(id -u)" -ne 0 ]; then
	skip "scratch root install (needs root for debootstrap and chroot)"
	echo "package: $passed passed, 0 failed, $skipped skipped"
	exit 0
fi
mirror=${NAB_DEBIAN_MIRROR:-$(sed -n -e 's/^URIs: *//p' -e 's/^deb  *\(\[[^]]*\] *\)\{0,1\}\([^ ]*\) .*/\2/p' \
    /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
    grep -E '/debian/?$' | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}
t1=$(date +%s)
sr="$root/bookworm"
debootstrap --variant=minbase bookworm "$sr" "$mirror" >"$root/debootstrap.log" 2>&1 ||
	{ tail -20 "$root/debootstrap.log"; echo "package: FAIL debootstrap from $mirror"; exit 1; }
ok "debootstrap minbase bookworm from $mirror ($(($(date +%s) - t1)) s)"
# No service may start inside the scratch root.
printf '#!/bin/sh\nexit 101\n' >"$sr/usr/sbin/policy-rc.d"
chmod 755 "$sr/usr/sbin/policy-rc.d"
cp "$deb" "$sr/tmp/nabproxy.deb"
in_root() { chroot "$sr" "$@"; }
in_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -qq \
    --no-install-recommends /tmp/nabproxy.deb >"$root/apt.log" 2>&1 ||
	{ cat "$root/apt.log"; echo "package: FAIL apt-get install ./nabproxy.deb"; exit 1; }
ok "apt-get install ./$(basename "$deb") in the scratch root"

in_root getent passwd nabproxy | grep -q ':/var/lib/nabproxy:/usr/sbin/nologin$' ||
	{ echo "package: FAIL no nabproxy system user"; exit 1; }
st=$(in_root stat -c '%a %U %G' /var/lib/nabproxy)
[ "$st" = "700 nabproxy nabproxy" ] ||
	{ echo "package: FAIL /var/lib/nabproxy is '$st'"; exit 1; }
ok "nabproxy user, /var/lib/nabproxy $st"
conf=$(in_root dpkg-query -W -f='${Conffiles}' nabproxy | awk '{print $1}' | sort | tr '\n' ' ')
[ "$conf" = "/etc/logrotate.d/nabproxy /etc/nabproxy/nabproxy.conf /etc/nabproxy/profiles/bootcode-18673.conf /etc/nabproxy/profiles/passthrough.conf /etc/nabproxy/profiles/simulator.conf " ] ||
	{ echo "package: FAIL conffiles: $conf"; exit 1; }
ok "conffiles: $conf"
out=$(in_root /usr/sbin/nabproxy --check-config 2>&1)
[ "$out" = "configuration OK" ] ||
	{ echo "$out"; echo "package: FAIL nabproxy --check-config"; exit 1; }
ok "nabproxy --check-config in the scratch root"

# The unit's ExecCondition: skip with the shipped empty upstream, run
# once one is set (on a copy of the config).
cond=$(sed -n "s/^ExecCondition=\/bin\/sh -c '\(.*\)'\$/\1/p" \
    "$sr/lib/systemd/system/nabproxy.service")
[ -n "$cond" ] || { echo "package: FAIL the unit has no ExecCondition"; exit 1; }
if in_root sh -c "$cond"; then
	echo "package: FAIL the unit would start with an empty upstream"; exit 1
fi
sed -i 's/^upstream =$/upstream = xmpp.example.org:5222/' "$sr/etc/nabproxy/nabproxy.conf"
in_root sh -c "$cond" ||
	{ echo "package: FAIL the unit would not start with upstream set"; exit 1; }
in_root /usr/sbin/nabproxy --check-config >/dev/null
ok "unit condition: skipped with an empty upstream, runs with one"

# The packaged example filter loads, from its packaged directory.
so=$(cd "$sr" && ls usr/lib/*/nabproxy/filters/stamp.so)
cat >"$sr/tmp/stamp.conf" <<CONF
[nabproxy]
upstream = xmpp.example.org:5222
include = /etc/nabproxy/profiles/*.conf
[filter stamp]
path = /$so
attribute = x-proxy
value = nabproxy
[profile stamped]
filters = stamp
match-mac = 00:13:d3:*
CONF
out=$(in_root /usr/sbin/nabproxy --check-config -c /tmp/stamp.conf 2>&1)
[ "$out" = "configuration OK" ] ||
	{ echo "$out"; echo "package: FAIL the packaged stamp.so does not load"; exit 1; }
ok "packaged example filter /$so loads"

# The installed demo: Prosody from the mirror, then `nabproxy demo` as
# the README says (nothing from the source tree).
DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -qq \
    --no-install-recommends prosody >"$root/apt-prosody.log" 2>&1 ||
	{ cat "$root/apt-prosody.log"; echo "package: FAIL apt-get install prosody"; exit 1; }
# The demo reads /proc (its processes, who owns a listening port).
mount -t proc proc "$sr/proc" && proc="$sr/proc"
out=$(in_root /usr/sbin/nabproxy demo 2>&1) ||
	{ echo "$out" | tail -30; echo "package: FAIL nabproxy demo in the scratch root"; exit 1; }
echo "$out" | grep -q '^demo: verdict: both rabbits reached idle through nabproxy' ||
	{ echo "$out" | tail -30; echo "package: FAIL nabproxy demo verdict"; exit 1; }
ok "nabproxy demo in the scratch root (with Prosody from the mirror)"
umount "$proc" && proc=""

in_root dpkg --purge nabproxy >"$root/purge.log" 2>&1 ||
	{ cat "$root/purge.log"; echo "package: FAIL dpkg --purge"; exit 1; }
[ ! -e "$sr/var/lib/nabproxy" ] && [ ! -e "$sr/usr/sbin/nabproxy" ] ||
	{ echo "package: FAIL purge left files"; exit 1; }
ok "dpkg --purge"
echo "package: $(($(date +%s) - t0)) s"
echo "package: $passed passed, 0 failed, $skipped skipped"
