#!/usr/bin/env bash
# Build qemu-system-x86_64 with the lptrig devices, from Debian's QEMU source
# package, in the cache:
#
#   $LPTRIG_CACHE/qemu/src-<debver>   Debian's source, patches applied, with
#                                     our overlay linked in
#   $LPTRIG_CACHE/qemu/build-<debver> the meson/ninja build tree
#   $LPTRIG_CACHE/qemu/firmware       the directory to pass to -L
#   $LPTRIG_CACHE/qemu/optionrom      the option ROMs it links to
#
# Our C files are symbolic links from the source tree into this checkout, so
# editing one and running this script again only recompiles that file.
#
# Flavours, each with its own build tree next to the plain one:
#   (none)      build-<debver>        qemu/qemu-system-x86_64
#   --sanitize  build-<debver>-san    qemu/qemu-system-x86_64-san
#               (--enable-sanitizers: ASan + UBSan, gcc; make qemu SANITIZE=1)
#   --fuzz      build-<debver>-fuzz   qemu/qemu-fuzz-x86_64
#               (clang, --enable-fuzzing --enable-sanitizers: libFuzzer and
#               QEMU's generic-fuzz target; make fuzz, scripts/fuzz.sh)
#
# Usage: qemu-device/build.sh [--sanitize|--fuzz]
set -euo pipefail
# shellcheck source=../scripts/common.sh
. "$(dirname "$0")/../scripts/common.sh"

flavour=plain
case "${1:-}" in
"") ;;
--sanitize) flavour=san ;;
--fuzz) flavour=fuzz ;;
*) die "usage: ${0##*/} [--sanitize|--fuzz]" ;;
esac

overlay=$LPTRIG_TOP/qemu-device
ver=${QEMU_DEBVER#*:}
qdir=$LPTRIG_CACHE/qemu
src=$qdir/src-$ver
fw=$qdir/firmware
case $flavour in
plain)
	build=$qdir/build-$ver
	target=qemu-system-x86_64
	link=$qdir/qemu-system-x86_64
	;;
san)
	build=$qdir/build-$ver-san
	target=qemu-system-x86_64
	link=$qdir/qemu-system-x86_64-san
	;;
fuzz)
	build=$qdir/build-$ver-fuzz
	target=qemu-fuzz-x86_64
	link=$qdir/qemu-fuzz-x86_64
	;;
esac

fetch_source() {
	local dl=$LPTRIG_CACHE/dl
	local dsc=$dl/qemu_${ver}.dsc
	mkdir -p "$dl" "$qdir"
	if [ ! -f "$dsc" ]; then
		log "fetching Debian's QEMU $QEMU_DEBVER source package"
		if ! (cd "$dl" && apt-get source -qq --download-only \
			"qemu=$QEMU_DEBVER" >"$dl/apt-source.log" 2>&1); then
			cat "$dl/apt-source.log" >&2
			die "apt-get source qemu=$QEMU_DEBVER failed (is there a deb-src line? run 'make deps')"
		fi
	fi
	log "unpacking $dsc (Debian patches applied)"
	rm -rf "$src.tmp"
	dpkg-source -q -x "$dsc" "$src.tmp" >/dev/null
	mv "$src.tmp" "$src"
}

# splice_fragment FRAGMENT TARGET: keep FRAGMENT's text as a marked block at
# the end of TARGET (a Kconfig, meson.build or trace-events of QEMU's tree).
splice_fragment() {
	local frag=$1 target=$2 tmp
	tmp=$(mktemp)
	sed '/^# lptrig overlay begin$/,/^# lptrig overlay end$/d' "$target" >"$tmp"
	{
		echo '# lptrig overlay begin'
		cat "$frag"
		echo '# lptrig overlay end'
	} >>"$tmp"
	install_if_changed "$tmp" "$target"
	rm -f "$tmp"
}

splice_overlay() {
	local f rel
	# Our own source files: linked, so edits are seen by ninja directly.
	while IFS= read -r f; do
		rel=${f#"$overlay"/}
		if [ "$(readlink "$src/$rel" 2>/dev/null)" != "$f" ]; then
			mkdir -p "$(dirname "$src/$rel")"
			ln -sfn "$f" "$src/$rel"
		fi
	done < <(find "$overlay/hw" "$overlay/include" -type f \( -name '*.c' -o -name '*.h' \) | sort)
	# Additions to QEMU's own build files.
	while IFS= read -r f; do
		rel=${f#"$overlay"/splice/}
		case "$rel" in
		configs/devices/*)
			# A devices file replaces QEMU's: with --without-default-devices
			# only what it lists is built.
			install_if_changed "$f" "$src/$rel"
			;;
		*)
			splice_fragment "$f" "$src/$rel"
			;;
		esac
	done < <(find "$overlay/splice" -type f | sort)
}

configure_opts=(
	--target-list=x86_64-softmmu
	--without-default-devices
	--disable-docs --disable-tools --disable-guest-agent
	--disable-gtk --disable-sdl --disable-vnc --disable-opengl
	--disable-spice --disable-curses --disable-brlapi --disable-slirp
	--disable-capstone --disable-xen --disable-libudev --disable-linux-aio
	--disable-linux-io-uring --disable-libusb --disable-usb-redir
	--disable-alsa --disable-pa --disable-jack --disable-oss --disable-sndio
	--disable-werror
	--enable-trace-backends=log
	--audio-drv-list=
)
case $flavour in
# no -g: a quarter less compile time (make demo on a fresh machine)
plain) configure_opts+=(--disable-debug-info) ;;
san) configure_opts+=(--enable-sanitizers) ;;
fuzz)
	command -v clang >/dev/null || die "clang missing: run 'make deps' (clang, libfuzzer-14-dev)"
	configure_opts+=(--cc=clang --cxx=clang++ --enable-fuzzing --enable-sanitizers)
	;;
esac

configure_qemu() {
	local stamp=$build/.lptrig-configure
	local want="${configure_opts[*]}"
	if [ -f "$build/build.ninja" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
		return
	fi
	log "configuring QEMU (x86_64-softmmu only, flavour $flavour)"
	rm -rf "$build"
	mkdir -p "$build"
	(cd "$build" && "$src/configure" "${configure_opts[@]}" >configure.log 2>&1) ||
		{ tail -20 "$build/configure.log" >&2; die "QEMU configure failed, see $build/configure.log"; }
	echo "$want" >"$stamp"
}

build_roms() {
	# configure only prepares pc-bios/optionrom when it builds an i386
	# target; -kernel needs linuxboot_dma.bin, so do it here.
	local rd=$qdir/optionrom
	mkdir -p "$rd"
	cat >"$rd/config.mak.tmp" <<EOT
# Written by lptrig's qemu-device/build.sh
TOPSRC_DIR=$src
CC=cc
CCAS=cc
AR=ar
AS=as
LD=ld
NM=nm
OBJCOPY=objcopy
RANLIB=ranlib
STRIP=strip
PYTHON=python3
EOT
	install_if_changed "$rd/config.mak.tmp" "$rd/config.mak"
	rm -f "$rd/config.mak.tmp"
	# pvh.bin boots an uncompressed vmlinux through its PVH entry point,
	# which skips the slow in-guest decompression under TCG.
	make -s -C "$rd" -f "$src/pc-bios/optionrom/Makefile" \
		linuxboot_dma.bin kvmvapic.bin pvh.bin >"$rd/make.log" 2>&1 ||
		{ cat "$rd/make.log" >&2; die "option ROM build failed"; }
}

link_firmware() {
	mkdir -p "$fw"
	ln -sfn /usr/share/seabios/bios-256k.bin "$fw/bios-256k.bin"
	ln -sfn "$qdir/optionrom/linuxboot_dma.bin" "$fw/linuxboot_dma.bin"
	ln -sfn "$qdir/optionrom/kvmvapic.bin" "$fw/kvmvapic.bin"
	ln -sfn "$qdir/optionrom/pvh.bin" "$fw/pvh.bin"
	# The harness finds everything through these links.
	ln -sfn "$build/$target" "$link"
	ln -sfn "$src" "$qdir/src"
}

[ -d "$src" ] || fetch_source
splice_overlay
configure_qemu
log "building $target ($flavour)"
# ninja regenerates the meson build itself when a spliced file changed;
# keep its output for failures and show only the errors.
if ! ninja -C "$build" "$target" >"$build/ninja.log" 2>&1; then
	grep -E -A5 'error|Error|FAILED' "$build/ninja.log" | head -60 >&2
	die "QEMU build failed, see $build/ninja.log"
fi
build_roms
link_firmware
log "ready: $link"
