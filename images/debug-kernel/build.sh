#!/usr/bin/env bash
# Build lptrig's debug guest kernel from Debian's linux-source-6.1 (the
# pinned kernel's version) into the cache, once:
#
#   $LPTRIG_CACHE/debug-kernel/src      the source, unpacked from
#                                       /usr/src/linux-source-6.1.tar.xz
#   $LPTRIG_CACHE/debug-kernel/build    the build tree (make O=); also the
#                                       KDIR that external modules (lpt1284.ko,
#                                       the FIFO parport_pc.ko) build against
#   $LPTRIG_CACHE/debug-kernel/root     modules_install output (stripped)
#   $LPTRIG_CACHE/debug-kernel/release  the kernel release (uname -r)
#
# The configuration is Linux's x86_64_defconfig with debug.config merged on
# top (lockdep, KASAN, KFENCE, kmemleak, UBSAN, the hung-task detector, the
# parport stack as modules, PVH).  Every line of debug.config must hold in
# the resulting .config, or the build fails.
#
# Does nothing (a few ms) when no input changed: the tarball, debug.config,
# this script, scripts/{versions,common}.sh and the compiler.  A changed
# input rebuilds incrementally in the same tree.
#
# Usage: images/debug-kernel/build.sh [-f|--force]     (logs to stderr only)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/common.sh
. "$here/../../scripts/common.sh"

FORMAT=1

force=0
case "${1:-}" in
-f | --force) force=1 ;;
"") ;;
*) die "usage: ${0##*/} [-f|--force]" ;;
esac

export LC_ALL=C
umask 022

TARBALL=/usr/src/linux-source-6.1.tar.xz
W=$LPTRIG_CACHE/debug-kernel
SRC=$W/src
B=$W/build
ROOT=$W/root
FRAG=$here/debug.config

[ -f "$TARBALL" ] || die "$TARBALL missing: run 'make deps' (linux-source-6.1=$KPKGVER)"
CC=$(command -v gcc) || die "gcc missing: run 'make deps' (build-essential)"
for t in flex bison bc; do
	command -v "$t" >/dev/null || die "$t missing: run 'make deps'"
done

input_key() {
	{
		echo "format $FORMAT"
		echo "source $KPKGVER"
		stat -L -c '%n %s %Y' "$TARBALL" "$CC"
		sha256sum "$FRAG" "$here/build.sh" "$LPTRIG_TOP/scripts/versions.sh" \
			"$LPTRIG_TOP/scripts/common.sh"
	} | sha256sum | cut -d' ' -f1
}

up_to_date() {
	[ "$force" -eq 0 ] && [ -f "$W/stamp" ] && [ -f "$W/release" ] &&
		[ -f "$B/vmlinux" ] && [ -f "$B/arch/x86/boot/bzImage" ] &&
		[ "$(cat "$W/stamp")" = "$1" ]
}

mkdir -p "$W"
key=$(input_key)
up_to_date "$key" && exit 0

exec 8>"$W/.lock"
flock 8
up_to_date "$key" && exit 0

# The source, once per tarball.  It must be the pinned kernel's version
# (an unrelated apt-get upgrade can replace the tarball).
have=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
[ "$have" = "$KPKGVER" ] ||
	die "linux-source-6.1 is ${have:-not installed}, the pinned kernel is $KPKGVER: run 'make deps'"
tarball_id=$(stat -L -c '%s %Y' "$TARBALL")
if [ "$(cat "$SRC/.tarball" 2>/dev/null)" != "$tarball_id" ]; then
	log "unpacking ${TARBALL##*/} (once)"
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	tar -xf "$TARBALL" -C "$SRC.tmp" --strip-components=1
	[ "$(stat -L -c '%s %Y' "$TARBALL")" = "$tarball_id" ] ||
		die "$TARBALL changed while it was unpacked (apt running?): try again"
	echo "$tarball_id" >"$SRC.tmp/.tarball"
	mv "$SRC.tmp" "$SRC"
	rm -rf "$B"
fi

kmake() {
	make -C "$SRC" O="$B" -j"$(nproc)" "$@"
}

log "configuring the debug kernel (x86_64_defconfig + ${FRAG##*/})"
mkdir -p "$B"
kmake -s x86_64_defconfig >&2
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$B" "$B/.config" "$FRAG" >"$B/merge.log" 2>&1 ||
	{ cat "$B/merge.log" >&2; die "merging ${FRAG##*/} failed"; }
kmake -s olddefconfig >&2

# Every line of the fragment must have survived olddefconfig.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qxF "$line" "$B/.config" || {
			log "debug.config: '$line' did not hold (.config has: $(grep -E "^(# )?${line%%=*}[= ]" "$B/.config" || echo nothing))"
			bad=1
		}
		;;
	"# CONFIG_"*" is not set")
		sym=${line#\# }
		sym=${sym%% *}
		! grep -qE "^$sym=[ym]" "$B/.config" || {
			log "debug.config: '$sym' should be off but is $(grep -E "^$sym=" "$B/.config")"
			bad=1
		}
		;;
	esac
done <"$FRAG"
[ "$bad" -eq 0 ] || die "the debug kernel's configuration is not what debug.config asks for"

log "building the debug kernel ($(nproc) jobs; the first build takes a while)"
start=$(date +%s)
if ! kmake bzImage modules >"$B/build.log" 2>&1; then
	grep -E -B2 -A5 'error|Error' "$B/build.log" | head -60 >&2
	die "the debug kernel build failed, see $B/build.log"
fi
log "built in $(($(date +%s) - start)) s"

release=$(kmake -s kernelrelease)
rm -rf "$ROOT"
kmake -s modules_install INSTALL_MOD_PATH="$ROOT" INSTALL_MOD_STRIP=1 DEPMOD=true >&2
echo "$release" >"$W/release"
echo "$key" >"$W/stamp"
log "debug kernel $release ready in $B"
