#!/usr/bin/env bash
# Build trinity (the Linux system-call fuzzer) with an ioctl group for
# lpt1284.ko, statically linked, into $LPTRIG_CACHE/trinity/trinity.
#
# The source is trinity's public repository at a pinned commit (87f1530,
# 2023-01-09: the snapshot Debian 12 packages as 1.9+git20230109.87f1530),
# kept here as trinity-87f1530.tar.xz (`git archive`), because Debian's
# source package of trinity cannot be fetched on this project's machines
# (apt-get source trinity: 404 for its orig tarball) and nothing else but
# Debian's archive is reachable.  lpt1284.c is our group in trinity's own
# ioctls/ format; it is copied into ioctls/ with <linux/lpt1284.h> into
# include/linux/.  The build is redone only when the tarball, lpt1284.c,
# the header or this script change (seconds otherwise).
#
# Usage: third_party/trinity/build.sh      (prints the binary's path)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/common.sh
. "$here/../../scripts/common.sh"

COMMIT=87f1530
TARBALL=$here/trinity-$COMMIT.tar.xz
GROUP=$here/lpt1284.c
HEADER=$here/../../guest-driver/include/uapi/linux/lpt1284.h
W=$LPTRIG_CACHE/trinity
OUT=$W/trinity

key=$(cat "$TARBALL" "$GROUP" "$HEADER" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
if [ -x "$OUT" ] && [ "$(cat "$W/key" 2>/dev/null)" = "$key" ]; then
	echo "$OUT"
	exit 0
fi
log "building trinity $COMMIT with the lpt1284 ioctl group"
mkdir -p "$W"
rm -rf "$W/src"
mkdir -p "$W/src"
tar -xJf "$TARBALL" -C "$W/src" --strip-components=1
cp "$GROUP" "$W/src/ioctls/lpt1284.c"
mkdir -p "$W/src/include/linux"
cp "$HEADER" "$W/src/include/linux/lpt1284.h"
(cd "$W/src" && ./configure >configure.log 2>&1 &&
	make -j"$(nproc)" LDFLAGS=-static >make.log 2>&1) ||
	{ tail -20 "$W/src/make.log" >&2 2>/dev/null; die "trinity build failed, see $W/src/make.log"; }
ioctls=$("$W/src/trinity" -I 2>&1 || true)
grep -q LPT1284_IOC_DEVICE_ID <<<"$ioctls" ||
	die "trinity was built without the lpt1284 ioctl group"
strip -o "$OUT.tmp" "$W/src/trinity"
mv "$OUT.tmp" "$OUT"
echo "$key" >"$W/key"
echo "$OUT"
