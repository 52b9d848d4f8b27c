# Shared by the build scripts: the cache location and small helpers.
# shellcheck shell=bash
# shellcheck source=versions.sh
. "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

LPTRIG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LPTRIG_CACHE=${LPTRIG_CACHE:-$HOME/.cache/lptrig}
export LPTRIG_CACHE
mkdir -p "$LPTRIG_CACHE"

log() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

die() {
	log "error: $*"
	exit 1
}

# install_if_changed SRC DST: copy SRC to DST only when the contents differ,
# so that make and ninja see an unchanged mtime for an unchanged input.
install_if_changed() {
	if ! cmp -s "$1" "$2"; then
		mkdir -p "$(dirname "$2")"
		cp "$1" "$2.tmp.$$"
		mv "$2.tmp.$$" "$2"
	fi
}

# fetch_kernel_deb: Debian's linux-image-$KVER=$KPKGVER into $DEB (a
# download directory $DL), unless it is there already.  The image scripts
# (images/build.sh, images/rt/build.sh) unpack it; it is never installed.
fetch_kernel_deb() {
	[ -f "$DEB" ] && return 0
	log "downloading linux-image-$KVER=$KPKGVER"
	mkdir -p "$DL"
	local tmp opt=()
	tmp=$(mktemp -d "$DL/.apt.XXXXXX")
	# As root apt would try to drop to _apt, who cannot write into ~root.
	[ "$(id -u)" -ne 0 ] || opt=(-o APT::Sandbox::User=root)
	if ! (cd "$tmp" && apt-get download -q "${opt[@]}" "linux-image-$KVER=$KPKGVER" >&2); then
		rm -rf "$tmp"
		die "apt-get download linux-image-$KVER=$KPKGVER failed (apt-get update?)"
	fi
	mv "$tmp"/linux-image-*.deb "$DEB"
	rm -rf "$tmp"
}

# unpack_kernel_deb: $DEB unpacked into $KTREE, once (an interrupted
# unpack is redone; the .deb is never installed on the host).
unpack_kernel_deb() {
	[ -f "$KTREE/.unpacked" ] && return 0
	log "unpacking ${DEB##*/}"
	rm -rf "$KTREE" "$KTREE.tmp"
	mkdir -p "$KTREE.tmp"
	dpkg -x "$DEB" "$KTREE.tmp"
	touch "$KTREE.tmp/.unpacked"
	mv "$KTREE.tmp" "$KTREE"
}

# The guest kernel that the image, the guest driver and the FIFO parport_pc
# are built for.  Default: Debian's pinned kernel and its headers.  With
# LPTRIG_DEBUG=1 (make image DEBUG=1): lptrig's debug kernel, built from
# linux-source-6.1 by images/debug-kernel/build.sh, whose build tree is the
# KDIR of external modules.  With LPTRIG_RT=1 (images/rt/build.sh): Debian's
# real-time flavour of the pinned kernel, $RT_KVER, and its headers.  Each
# flavour has its own outputs:
#   KFLAVOUR       default | debug | rt (the image's name under images/)
#   KDIR           what external modules build against
#   EXTRA_MODULES  where the image takes our extra modules from
#   FLAVOUR_DIR    suffix for per-flavour work directories ("", "-debug", "-rt")
if [ "${LPTRIG_DEBUG:-0}" = 1 ]; then
	KFLAVOUR=debug
	DEBUG_KERNEL=$LPTRIG_CACHE/debug-kernel
	KDIR=$DEBUG_KERNEL/build
	# Known once images/debug-kernel/build.sh has run.
	KVER=$(cat "$DEBUG_KERNEL/release" 2>/dev/null || echo "(debug kernel not built)")
	EXTRA_MODULES=$LPTRIG_CACHE/images/extra-modules-debug
	FLAVOUR_DIR=-debug
elif [ "${LPTRIG_RT:-0}" = 1 ]; then
	KFLAVOUR=rt
	KVER=$RT_KVER
	KDIR=/usr/src/linux-headers-$KVER
	EXTRA_MODULES=$LPTRIG_CACHE/images/extra-modules-rt
	FLAVOUR_DIR=-rt
else
	KFLAVOUR=default
	KDIR=/usr/src/linux-headers-$KVER
	EXTRA_MODULES=$LPTRIG_CACHE/images/extra-modules
	FLAVOUR_DIR=
fi
