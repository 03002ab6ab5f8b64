#!/bin/sh
# Cross-build nabproxy for arm64 (Raspberry Pi 3/4/5 on 64-bit Debian)
# with Debian's cross compiler (gcc-aarch64-linux-gnu) and bookworm's
# arm64 -dev packages. Called by .ci/run; docs/deploy.md.
#
# The arm64 libraries go into a sysroot of our own, never into this
# machine's dpkg: `debootstrap --foreign --arch=arm64` downloads and
# unpacks them (nothing arm64 is run), the -dev packages it downloads are
# unpacked there too. Then CMake with etc/arm64-toolchain.cmake builds the
# daemon and the example filter, `file` must say "ARM aarch64", and where
# qemu-aarch64 is installed the binary runs: --version and --check-config
# on the shipped configuration. The sysroot is removed on every exit path.
# Prints "cross: PASS|SKIP ..." lines and a closing count.
set -eu
cd "$(dirname "$0")/.."
b=build-arm64
passed=0
skipped=0
ok() { echo "cross: PASS $*"; passed=$((passed + 1)); }
skip() { echo "cross: SKIP $*"; skipped=$((skipped + 1)); }
sysroot=""
cleanup() {
	if [ -n "$sysroot" ] && [ -d "$sysroot" ]; then
		rm -rf --one-file-system "$sysroot"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
	echo "cross: FAIL aarch64-linux-gnu-gcc missing (sh .ci/deps.sh test)"
	exit 1
fi
t0=$(date +%s)
mirror=${NAB_DEBIAN_MIRROR:-$(sed -n -e 's/^URIs: *//p' -e 's/^deb  *\(\[[^]]*\] *\)\{0,1\}\([^ ]*\) .*/\2/p' \
    /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
    grep -E '/debian/?$' | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}
sysroot=$(mktemp -d /var/tmp/nabproxy-arm64.XXXXXX)
debootstrap --foreign --arch=arm64 --variant=minbase \
    --include=libevent-dev,libexpat1-dev,zlib1g-dev,libssl-dev \
    bookworm "$sysroot" "$mirror" >"$sysroot.log" 2>&1 ||
	{ tail -20 "$sysroot.log"; rm -f "$sysroot.log"; echo "cross: FAIL debootstrap --arch=arm64"; exit 1; }
rm -f "$sysroot.log"
for d in "$sysroot"/var/cache/apt/archives/*.deb; do
	dpkg-deb -x "$d" "$sysroot"
done
ok "arm64 sysroot from $mirror ($(($(date +%s) - t0)) s)"

rm -rf "$b"
NAB_SYSROOT="$sysroot" cmake -S . -B "$b" -DCMAKE_TOOLCHAIN_FILE=etc/arm64-toolchain.cmake \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DNABPROXY_TESTS=OFF >/dev/null
NAB_SYSROOT="$sysroot" cmake --build "$b" -j2 >/dev/null
for f in "$b/nabproxy" "$b/filters/stamp.so"; do
	file "$f" | grep -q 'ARM aarch64' ||
		{ file "$f"; echo "cross: FAIL $f is not arm64"; exit 1; }
done
ok "cross-built $b/nabproxy and stamp.so: ARM aarch64"

if command -v qemu-aarch64 >/dev/null; then
	v=$(qemu-aarch64 -L "$sysroot" "$b/nabproxy" --version)
	case "$v" in
	"nabproxy "*) ;;
	*) echo "cross: FAIL --version under qemu: $v"; exit 1 ;;
	esac
	out=$(qemu-aarch64 -L "$sysroot" "$b/nabproxy" --check-config -c etc/nabproxy.conf 2>&1)
	[ "$out" = "configuration OK" ] ||
		{ echo "$out"; echo "cross: FAIL --check-config under qemu"; exit 1; }
	ok "runs under qemu-aarch64: $v, configuration OK"
else
	skip "running the arm64 binary (qemu-aarch64 is not installed)"
fi
echo "cross: $(($(date +%s) - t0)) s"
echo "cross: $passed passed, 0 failed, $skipped skipped"
