#!/usr/bin/env bash
# Build the guest driver and its tool against the pinned Debian kernel and put
# them where images/build.sh takes them from:
#
#   every module of kernel/Kbuild   -> $LPTRIG_CACHE/images/extra-modules/NAME.ko
#                                      (in the image: /lib/modules/$KVER/extra/)
#   tools/lptctl.c                  -> $LPTRIG_CACHE/images/extra-bin/lptctl
#                                      (in the image: /usr/bin/lptctl)
#
# The modules are built out of tree with Kbuild against
# /usr/src/linux-headers-$KVER, in $LPTRIG_CACHE/guest-driver/build/: kernel/
# there holds copies of kernel/Kbuild, *.c, *.h and *.S (only rewritten when
# their contents change, so Kbuild recompiles just the edited files) and
# include/ a copy of include/, so that the Kbuild line
#     ccflags-y += -I$(src)/../include/uapi
# finds <linux/lpt1284.h> there as it does in the checkout.  Nothing is
# written into the checkout.  The installed modules are stripped of debug
# info like Debian's own; lptctl is linked statically.
#
# Until kernel/Kbuild exists no module is built, and until tools/lptctl.c
# exists no lptctl (a note says so); what this script installed before is
# then removed again.  Once they exist, a compile error fails the build.
#
# Does nothing (a few ms) when no input changed: the inputs are every file
# under kernel/ and include/, tools/lptctl.c, this script,
# scripts/{versions,common}.sh, the headers (.config, Module.symvers,
# modpost) and the compiler; a missing or replaced installed file is noticed
# too.
#
# LPTRIG_GUEST_DRIVER=DIR builds from DIR instead of this directory (laid out
# the same: DIR/kernel/, DIR/include/uapi/, DIR/tools/lptctl.c); it is for
# testing this script.
#
# Usage: guest-driver/build.sh [-f|--force]     (logs to stderr only)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../scripts/common.sh
. "$here/../scripts/common.sh"

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

GD=$(cd "${LPTRIG_GUEST_DRIVER:-$here}" && pwd) ||
	die "LPTRIG_GUEST_DRIVER=${LPTRIG_GUEST_DRIVER:-}: no such directory"
# KDIR: scripts/common.sh (Debian's headers, or the debug kernel's tree)
W=$LPTRIG_CACHE/guest-driver$FLAVOUR_DIR
B=$W/build
EXTRA=$EXTRA_MODULES
EXTRA_BIN=$LPTRIG_CACHE/images/extra-bin
LPTCTL_SRC=$GD/tools/lptctl.c
LPTCTL_CFLAGS=(-static -O2 -Wall -Wextra)
# What we installed, one path a line: the stamp covers these, and what is
# no longer built is removed from the image's inputs again.
MANIFEST=$W/installed

have_kbuild() { [ -f "$GD/kernel/Kbuild" ]; }
have_lptctl() { [ -f "$LPTCTL_SRC" ]; }

CC=$(command -v gcc) || die "gcc missing: run 'make deps' (build-essential)"
if have_kbuild; then
	[ -f "$KDIR/Module.symvers" ] || die "$KDIR missing: run 'make deps' (linux-headers-$KVER)"
fi

# The driver's sources, relative to $GD, NUL-separated and sorted: Kbuild
# and the C sources under kernel/ (not what a build by hand left there), and
# every header under include/.
sources() {
	(
		cd "$GD"
		{
			[ ! -d kernel ] || find -L kernel -type f \( -name Kbuild -o -name '*.[chS]' \) \
				! -name '*.mod.c' -print0
			[ ! -d include ] || find -L include -type f -name '*.h' -print0
		} | sort -z
	)
}

# "HASH  PATH" for every file of sources().
source_hashes() {
	sources | (cd "$GD" && xargs -0r sha256sum)
}

input_key() {
	{
		echo "format $FORMAT"
		echo "kernel $KVER $KPKGVER"
		echo "lptctl ${LPTCTL_CFLAGS[*]}"
		stat -L -c '%n %s %Y' "$CC"
		if have_kbuild; then
			stat -L -c '%n %s %Y' "$KDIR/.config" "$KDIR/Module.symvers" \
				"$KDIR/scripts/mod/modpost"
		fi
		sha256sum "$here/build.sh" "$LPTRIG_TOP/scripts/versions.sh" \
			"$LPTRIG_TOP/scripts/common.sh"
		source_hashes
		if have_lptctl; then sha256sum "$LPTCTL_SRC"; else echo "no lptctl"; fi
	} | sha256sum | cut -d' ' -f1
}

# The installed files and their hashes; fails when one is missing.
outputs() {
	[ -f "$MANIFEST" ] || return 0
	local f
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		[ -f "$f" ] || return 1
		echo "$f $(sha256sum <"$f" | cut -d' ' -f1)"
	done <"$MANIFEST"
}

# The stamp's contents: the input key, then the installed files.
stamp_text() {
	printf '%s\n' "$1"
	[ -z "$2" ] || printf '%s\n' "$2"
}

up_to_date() {
	local out
	[ "$force" -eq 0 ] && [ -f "$W/stamp" ] && out=$(outputs) &&
		[ "$(cat "$W/stamp")" = "$(stamp_text "$1" "$out")" ]
}

mkdir -p "$W"
key=$(input_key)
up_to_date "$key" && exit 0

exec 8>"$W/.lock"
flock 8
up_to_date "$key" && exit 0

installed=() # the files installed by this run

# -- the modules ----------------------------------------------------------

# Mirror the sources into $B (kernel/ and include/), rewriting a copy only when
# its contents changed and dropping copies whose source is gone.
sync_sources() {
	local rel
	mkdir -p "$B"
	sources | while IFS= read -r -d '' rel; do
		install_if_changed "$GD/$rel" "$B/$rel"
	done
	if [ -f "$B/.sources" ]; then
		sources | tr '\0' '\n' >"$B/.sources.new"
		{ grep -vxF -f "$B/.sources.new" "$B/.sources" || true; } |
			while IFS= read -r rel; do
				rm -f "$B/$rel"
			done
		mv "$B/.sources.new" "$B/.sources"
	else
		sources | tr '\0' '\n' >"$B/.sources"
	fi
}

build_modules() {
	# Objects of another kernel must not be linked in.
	if [ "$(cat "$B/.kver" 2>/dev/null)" != "$KVER" ]; then
		rm -rf "$B"
		mkdir -p "$B"
		echo "$KVER" >"$B/.kver"
	fi
	sync_sources
	log "building the guest driver modules for $KVER"
	# No cache path in the objects (__FILE__, debug info): the files are
	# named as in the checkout, so the .ko is the same in every cache.
	# KCFLAGS, not ccflags-y: it also reaches the .mod.o modpost generates.
	# Kbuild writes its progress to stdout; ours is reserved for
	# images/build.sh.  The compiler's messages name the sources in $GD, not
	# their copies here; Debian's headers have no vmlinux, so the note that
	# there is no BTF would come for every module on every build.
	if ! make -C "$KDIR" -s -j"$(nproc)" M="$B/kernel" KCFLAGS="-ffile-prefix-map=$B=guest-driver" \
		modules 2>&1 | sed -e "s|$B/kernel/\([^ :]*\.[chS]\):|$GD/kernel/\1:|g" \
		-e "s|$B/include/\([^ :]*\.h\):|$GD/include/\1:|g" \
		-e '/^Skipping BTF generation for .* due to unavailability of vmlinux$/d' >&2; then
		grep -q 'include/uapi' "$GD/kernel/Kbuild" ||
			log "hint: kernel/Kbuild needs 'ccflags-y += -I\$(src)/../include/uapi' for <linux/lpt1284.h>"
		die "building the guest driver modules failed (see above)"
	fi

	# modules.order lists what the Kbuild builds now (stale .ko files of
	# modules since dropped from it stay in the build directory, unused).
	local order=$B/kernel/modules.order ko name vermagic
	[ -s "$order" ] || die "$GD/kernel/Kbuild builds no module (no obj-m?)"
	while IFS= read -r ko; do
		case "$ko" in /*) ;; *) ko=$B/kernel/$ko ;; esac
		ko=${ko%.o}
		ko=${ko%.ko}.ko
		[ -f "$ko" ] || die "$ko missing after the build"
		name=${ko##*/}
		[ "$name" != parport_pc.ko ] ||
			die "a guest driver module cannot be called parport_pc.ko (the image's FIFO parport_pc)"
		vermagic=$(modinfo -F vermagic "$ko")
		case "$vermagic" in
		"$KVER "*) ;;
		*) die "$ko: vermagic '$vermagic' is not for $KVER" ;;
		esac
		strip --strip-debug -o "$W/$name.tmp" "$ko"
		install_if_changed "$W/$name.tmp" "$EXTRA/$name"
		rm -f "$W/$name.tmp"
		installed+=("$EXTRA/$name")
		log "$EXTRA/$name: $(stat -c %s "$EXTRA/$name") bytes, vermagic '$vermagic'"
	done <"$order"
}

# -- lptctl -------------------------------------------------------------

build_lptctl() {
	local bin=$B/lptctl key
	key=$({
		echo "${LPTCTL_CFLAGS[*]}"
		stat -L -c '%n %s %Y' "$CC"
		sha256sum "$LPTCTL_SRC"
		source_hashes | grep ' include/' || true
	} | sha256sum | cut -d' ' -f1)
	if [ ! -x "$bin" ] || [ "$(cat "$bin.key" 2>/dev/null)" != "$key" ]; then
		log "building lptctl"
		mkdir -p "$B"
		"$CC" "${LPTCTL_CFLAGS[@]}" -I"$GD/include/uapi" \
			-ffile-prefix-map="$GD=guest-driver" -o "$bin.tmp" "$LPTCTL_SRC" ||
			die "building lptctl failed (see above)"
		mv "$bin.tmp" "$bin"
		echo "$key" >"$bin.key"
	fi
	install_if_changed "$bin" "$EXTRA_BIN/lptctl"
	chmod 755 "$EXTRA_BIN/lptctl"
	installed+=("$EXTRA_BIN/lptctl")
}

if have_kbuild; then
	build_modules
else
	log "note: ${GD#"$LPTRIG_TOP"/}/kernel/Kbuild does not exist yet: no guest driver module"
fi
if have_lptctl; then
	build_lptctl
else
	log "note: ${LPTCTL_SRC#"$LPTRIG_TOP"/} does not exist yet: no lptctl"
fi

# Remove what an earlier run installed and this one did not.
declare -A keep=()
for f in "${installed[@]}"; do keep[$f]=1; done
if [ -f "$MANIFEST" ]; then
	while IFS= read -r f; do
		if [ -n "$f" ] && [ -z "${keep[$f]:-}" ] && [ -e "$f" ]; then
			log "removing $f (no longer built)"
			rm -f "$f"
		fi
	done <"$MANIFEST"
fi
: >"$MANIFEST.tmp"
for f in "${installed[@]}"; do echo "$f" >>"$MANIFEST.tmp"; done
mv "$MANIFEST.tmp" "$MANIFEST"

out=$(outputs) || die "an installed file vanished during the build"
stamp_text "$key" "$out" >"$W/stamp.tmp"
mv "$W/stamp.tmp" "$W/stamp"
