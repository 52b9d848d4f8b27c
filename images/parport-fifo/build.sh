#!/usr/bin/env bash
# Build Linux's parport_pc.ko with CONFIG_PARPORT_PC_FIFO (ECP FIFO and ISA
# DMA) out of tree, against the pinned Debian headers, and put it where
# images/build.sh takes extra modules from:
#
#   $LPTRIG_CACHE/images/extra-modules/parport_pc.ko
#
# (the image then has it as /lib/modules/$KVER/extra/fifo/parport_pc.ko;
# the guest loads it with lptrig.load=parport_pc_fifo,...).
#
# Source: drivers/parport/parport_pc.c from Debian's linux-source-6.1 of the
# guest kernel's version, extracted once into $LPTRIG_CACHE/parport-fifo/src.
# The build runs in $LPTRIG_CACHE/parport-fifo/build (Linux 6.1 builds an
# external module in its source directory) with Kbuild and Makefile from
# here.  The installed .ko is stripped of debug info like Debian's own.
#
# Does nothing (a few ms) when no input changed: the inputs are Kbuild,
# Makefile, this script, scripts/{versions,common}.sh, the source tarball,
# the headers (.config, Module.symvers, modpost) and the compiler.
#
# Usage: images/parport-fifo/build.sh [-f|--force]     (logs to stderr only)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/common.sh
. "$here/../../scripts/common.sh"

# Bump when the output changes in a way the input hash cannot see.
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
MEMBER=linux-source-6.1/drivers/parport/parport_pc.c
# KDIR: scripts/common.sh (Debian's headers, or the debug kernel's tree)
W=$LPTRIG_CACHE/parport-fifo$FLAVOUR_DIR
OUT=$EXTRA_MODULES/parport_pc.ko

[ -f "$TARBALL" ] || die "$TARBALL missing: run 'make deps' (linux-source-6.1=$KPKGVER)"
[ -f "$KDIR/Module.symvers" ] || die "$KDIR missing: run 'make deps' (linux-headers-$KVER)"
CC=$(command -v gcc) || die "gcc missing: run 'make deps' (build-essential)"

input_key() {
	{
		echo "format $FORMAT"
		echo "kernel $KVER $KPKGVER"
		stat -L -c '%n %s %Y' "$TARBALL" "$KDIR/.config" "$KDIR/Module.symvers" \
			"$KDIR/scripts/mod/modpost" "$CC"
		sha256sum "$here/Kbuild" "$here/Makefile" "$here/build.sh" \
			"$LPTRIG_TOP/scripts/versions.sh" "$LPTRIG_TOP/scripts/common.sh"
	} | sha256sum | cut -d' ' -f1
}

# The stamp holds the input key and the hash of the module we installed, so
# a deleted or replaced extra-modules/parport_pc.ko is noticed too.
up_to_date() {
	[ "$force" -eq 0 ] && [ -f "$W/stamp" ] && [ -f "$OUT" ] &&
		[ "$(cat "$W/stamp")" = "$1 $(sha256sum <"$OUT" | cut -d' ' -f1)" ]
}

mkdir -p "$W"
key=$(input_key)
up_to_date "$key" && exit 0

exec 8>"$W/.lock"
flock 8
up_to_date "$key" && exit 0

# The source, once per tarball.  It must be the guest kernel's version:
# parport_pc.c has to match the parport.ko and headers it is built against.
src=$W/src/parport_pc.c
tarball_id=$(stat -L -c '%s %Y' "$TARBALL")
if [ ! -f "$src" ] || [ "$(cat "$W/src/tarball" 2>/dev/null)" != "$tarball_id" ]; then
	have=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
	[ "$have" = "$KPKGVER" ] ||
		die "linux-source-6.1 is ${have:-not installed}, the guest kernel is $KPKGVER: run 'make deps'"
	log "extracting ${MEMBER#*/} from ${TARBALL##*/}"
	mkdir -p "$W/src"
	tar -xJf "$TARBALL" --occurrence=1 -O "$MEMBER" >"$src.tmp" ||
		die "cannot extract $MEMBER from $TARBALL"
	[ -s "$src.tmp" ] || die "$MEMBER is not in $TARBALL"
	mv "$src.tmp" "$src"
	echo "$tarball_id" >"$W/src/tarball"
fi

log "building parport_pc.ko with CONFIG_PARPORT_PC_FIFO for $KVER"
b=$W/build
mkdir -p "$b"
install_if_changed "$here/Kbuild" "$b/Kbuild"
install_if_changed "$here/Makefile" "$b/Makefile"
install_if_changed "$src" "$b/parport_pc.c"
# Kbuild writes its progress to stdout; ours is reserved for images/build.sh.
make -C "$b" -s KVER="$KVER" KDIR="$KDIR" modules >&2 ||
	die "building parport_pc.ko failed (see above)"
ko=$b/parport_pc.ko

# The option must really have taken effect: the FIFO probe, the FIFO/DMA
# write paths and the ISA DMA calls are all compiled out without it.
grep -aq 'FIFO is %d bytes' "$ko" || die "$ko: no FIFO probe (CONFIG_PARPORT_PC_FIFO ignored?)"
syms=$(nm "$ko")
for s in parport_pc_fifo_write_block_dma parport_pc_fifo_write_block_pio \
	parport_pc_ecp_write_block_pio; do
	grep -qw "$s" <<<"$syms" || die "$ko: no $s (CONFIG_PARPORT_PC_FIFO ignored?)"
done
for s in request_dma free_dma dma_spin_lock; do
	grep -qE "^ +U $s\$" <<<"$syms" || die "$ko: does not use $s (no ISA DMA?)"
done
modinfo -F parm "$ko" | grep -q '^verbose_probing:' ||
	die "$ko: no verbose_probing parameter (CONFIG_PARPORT_PC_FIFO ignored?)"
vermagic=$(modinfo -F vermagic "$ko")
case "$vermagic" in
"$KVER "*) ;;
*) die "$ko: vermagic '$vermagic' is not for $KVER" ;;
esac

strip --strip-debug -o "$W/parport_pc.ko.tmp" "$ko"
install_if_changed "$W/parport_pc.ko.tmp" "$OUT"
rm -f "$W/parport_pc.ko.tmp"
echo "$key $(sha256sum <"$OUT" | cut -d' ' -f1)" >"$W/stamp.tmp"
mv "$W/stamp.tmp" "$W/stamp"
log "$OUT: $(stat -c %s "$OUT") bytes, vermagic '$vermagic'"
