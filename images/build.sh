#!/usr/bin/env bash
# Build the default lptrig guest image into $LPTRIG_CACHE/images/default/:
#
#   bzImage            Debian's pinned kernel (vmlinuz from linux-image-$KVER)
#   vmlinux            the same kernel, decompressed (ELF with a PVH entry):
#                      boots ~4.5 s faster under TCG, but needs QEMU's pvh.bin
#                      option ROM in the -L firmware directory
#   initramfs.cpio.gz  busybox-static, Linux's parport/parport_pc/lp/ppdev
#                      modules (+ dependencies), extra modules, extra
#                      programs, /init
#   manifest.txt       the initramfs file list (for people, not for tools)
#   programs.sha256    sha256 and guest path of each program in /usr/bin that
#                      the harness may also add (lptrig.machine skips adding
#                      a file the image has already)
#   stamp              hash of every input; the build is skipped when it matches
#
# The guest test programs (tests/guest/progs/*.c: ppdev_xfer, lpt1284_abi,
# lpt_bench), as the harness builds them (lptrig.progs), go to /usr/bin too,
# so a test that adds one finds it there already.
# Our own small tools (images/tools/*.c, e.g. plipconfig) are built into
# $LPTRIG_CACHE/images/extra-bin/ first.
# Extra modules: every *.ko in $LPTRIG_CACHE/images/extra-modules/ goes to
# /lib/modules/$KVER/extra/ (a parport_pc.ko goes to extra/fifo/, where it can
# only be loaded by path and never shadows Debian's parport_pc).  Extra
# programs: every file in $LPTRIG_CACHE/images/extra-bin/ goes to /usr/bin/.
# The first steps fill both, each a no-op when its inputs are unchanged:
# images/parport-fifo/build.sh builds that parport_pc.ko (Linux's parport_pc
# with CONFIG_PARPORT_PC_FIFO), guest-driver/build.sh our driver's modules
# (lpt1284.ko, ...) and lptctl.
#
# With LPTRIG_DEBUG=1 (make image DEBUG=1) it builds the debug image into
# $LPTRIG_CACHE/images/debug/ instead: lptrig's debug kernel
# (images/debug-kernel/: lockdep, KASAN, KFENCE, kmemleak, UBSAN, hung-task
# detector) in place of Debian's, its own modules, the FIFO parport_pc and
# our modules built for it (extra-modules-debug/), and Debian's trinity
# (with the C library it links against) for syscall fuzzing.
#
# Usage: images/build.sh [-f|--force]
# Prints the output directory on stdout.  See images/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../scripts/common.sh
. "$here/../scripts/common.sh"

# Bump when the image layout changes in a way the input hash cannot see.
FORMAT=2

# Linux's own parallel-port stack, the independent peer of our driver.
BASE_MODULES=(parport parport_pc lp ppdev)
# Debian's drivers of the line-level peripherals (docs/peripherals.md,
# "LapLink, I2C and PPS"): PLIP, the I2C adapter with the drivers of the devices on its bus,
# and the PPS client.
PERIPHERAL_MODULES=(plip i2c_parport i2c_dev at24 lm75 pps_parport)

force=0
case "${1:-}" in
-f | --force) force=1 ;;
"") ;;
*) die "usage: ${0##*/} [-f|--force]" ;;
esac

umask 022
export LC_ALL=C

PATH=$PATH:/usr/sbin:/sbin
BUSYBOX=${BUSYBOX:-/bin/busybox}
DL=$LPTRIG_CACHE/dl
DEB=$DL/linux-image-${KVER}_${KPKGVER}_amd64.deb
KTREE=$LPTRIG_CACHE/kernel/${KVER}_${KPKGVER}
EXTRA=$EXTRA_MODULES
EXTRA_BIN=$LPTRIG_CACHE/images/extra-bin
OUT=$LPTRIG_CACHE/images/$KFLAVOUR
INIT=$here/init
# Dynamically linked programs of the debug image, copied with their
# libraries: Debian's trinity (its source package is not buildable here, so
# not a static rebuild; it needs only libc).
DEBUG_PROGRAMS=(/usr/bin/trinity)

[ -x "$BUSYBOX" ] || die "$BUSYBOX missing: run 'make deps' (busybox-static)"
for t in cpio gzip xz depmod modinfo dpkg flock; do
	command -v "$t" >/dev/null || die "$t missing: run 'make deps'"
done

# The input hash.  The kernel .deb is pinned by version and immutable in
# Debian's archive, so its name and size stand for its contents
# (hashing 70 MB would cost a third of a second on every warm run).
input_key() {
	{
		echo "format $FORMAT"
		echo "kernel $KVER $KPKGVER"
		echo "modules ${BASE_MODULES[*]} ${PERIPHERAL_MODULES[*]}"
		echo "sde ${SOURCE_DATE_EPOCH:-}"
		if [ "$KFLAVOUR" = debug ]; then
			echo "debug kernel $(cat "$DEBUG_KERNEL/stamp")"
			sha256sum "${DEBUG_PROGRAMS[@]}"
		else
			stat -c 'deb %n %s' "$DEB"
		fi
		sha256sum "$BUSYBOX" "$here"/*.sh "$INIT" \
			"$LPTRIG_TOP/scripts/versions.sh" "$LPTRIG_TOP/scripts/common.sh"
		if [ -d "$EXTRA" ]; then
			echo "extra"
			(cd "$EXTRA" && find . -maxdepth 1 -name '*.ko' \( -type f -o -type l \) \
				-print0 | sort -z | xargs -0r sha256sum)
		fi
		echo "progs"
		printf '%s\n' "${PROGS[@]##*/}"
		if [ -d "$EXTRA_BIN" ]; then
			echo "extra-bin"
			(cd "$EXTRA_BIN" && find . -maxdepth 1 \( -type f -o -type l \) \
				! -name '.*' -print0 | sort -z | xargs -0r sha256sum)
		fi
	} | sha256sum | cut -d' ' -f1
}

up_to_date() {
	[ "$force" -eq 0 ] && [ -f "$OUT/stamp" ] && [ -f "$OUT/bzImage" ] &&
		{ [ "$KFLAVOUR" = debug ] || [ -f "$OUT/vmlinux" ]; } &&
		[ -f "$OUT/initramfs.cpio.gz" ] && [ -f "$OUT/programs.sha256" ] &&
		[ "$(cat "$OUT/stamp")" = "$1" ]
}

# The debug kernel first: the modules below are built against its tree.
if [ "$KFLAVOUR" = debug ]; then
	"$here/debug-kernel/build.sh"
	KVER=$(cat "$DEBUG_KERNEL/release")
	for p in "${DEBUG_PROGRAMS[@]}"; do
		[ -x "$p" ] || die "$p missing: run 'make deps' (the debug image needs it)"
	done
fi

# The FIFO-enabled parport_pc.ko into $EXTRA, the guest driver's modules
# into $EXTRA and lptctl into $EXTRA_BIN (logs on stderr only).
"$here/parport-fifo/build.sh"
"$LPTRIG_TOP/guest-driver/build.sh"

# Small static tools of our own (images/tools/*.c) into $EXTRA_BIN:
# plipconfig (PLIP's handshake time-outs; busybox has none).
build_tools() {
	local src dst
	mkdir -p "$EXTRA_BIN"
	for src in "$here"/tools/*.c; do
		dst=$EXTRA_BIN/$(basename "$src" .c)
		[ "$dst" -nt "$src" ] && continue
		log "building ${dst##*/}"
		gcc -static -O2 -Wall -Wextra -Werror -o "$dst.tmp" "$src" ||
			die "cannot build $src"
		mv "$dst.tmp" "$dst"
	done
}
build_tools

# The guest test programs (one path a line, NAME-<sha256 of the source>).
PYTHON=${PYTHON:-/usr/bin/python3}
progs_out=$(cd "$LPTRIG_TOP" && PYTHONPATH=harness "$PYTHON" -c '
from lptrig import progs
for src in sorted(progs.SOURCE_DIR.glob("*.c")):
    print(progs.build(src.stem))') || die "building the guest test programs failed"
mapfile -t PROGS <<<"$progs_out"

[ "$KFLAVOUR" = debug ] || fetch_kernel_deb
key=$(input_key)
if up_to_date "$key"; then
	echo "$OUT"
	exit 0
fi

# One builder at a time (parallel test sessions may all ask for the image).
mkdir -p "$LPTRIG_CACHE/images"
exec 9>"$LPTRIG_CACHE/images/.lock"
flock 9
key=$(input_key)
if up_to_date "$key"; then
	echo "$OUT"
	exit 0
fi

# The kernel and its modules: the debug kernel's build, or Debian's package
# unpacked once (no install on the host).
if [ "$KFLAVOUR" = debug ]; then
	KMOD=$DEBUG_KERNEL/root/lib/modules/$KVER
	VMLINUZ=$KDIR/arch/x86/boot/bzImage
else
	unpack_kernel_deb
	KMOD=$KTREE/lib/modules/$KVER
	VMLINUZ=$KTREE/boot/vmlinuz-$KVER
fi
[ -f "$VMLINUZ" ] || die "$VMLINUZ missing"

# Fixed timestamps: the kernel package's own (Debian's SOURCE_DATE_EPOCH).
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(stat -c %Y "$VMLINUZ")}
export SOURCE_DATE_EPOCH

log "building image for $KVER"
work=$(mktemp -d "$LPTRIG_CACHE/images/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
st=$work/root
mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,run,tmp,root}
chmod 1777 "$st/tmp"
chmod 700 "$st/root"

# busybox and a link for every applet.
install -m 755 "$BUSYBOX" "$st/bin/busybox"
"$BUSYBOX" --list-full | while read -r app; do
	case "$app" in
	bin/busybox | linuxrc) continue ;;
	esac
	[ -e "$st/$app" ] || [ -L "$st/$app" ] && continue
	[ -d "$st/${app%/*}" ] || mkdir -p "$st/${app%/*}"
	ln -s /bin/busybox "$st/$app"
done

# Extra programs (lptctl) in /usr/bin, in place of a busybox applet of the
# same name wherever it is (/bin comes first in PATH).
if [ -d "$EXTRA_BIN" ]; then
	while IFS= read -r -d '' f; do
		for d in bin sbin usr/bin usr/sbin; do
			[ ! -L "$st/$d/${f##*/}" ] || rm "$st/$d/${f##*/}"
		done
		install -m 755 "$f" "$st/usr/bin/${f##*/}"
		log "extra program: /usr/bin/${f##*/}"
	done < <(find -L "$EXTRA_BIN" -maxdepth 1 -type f ! -name '.*' -print0 | sort -z)
fi

# The guest test programs, and their list for the harness.
: >"$work/programs.sha256"
for f in "${PROGS[@]}"; do
	n=${f##*/}
	n=${n%-*}
	install -m 755 "$f" "$st/usr/bin/$n"
	printf '%s  /usr/bin/%s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$n" >>"$work/programs.sha256"
	log "test program: /usr/bin/$n"
done

# The debug image's dynamically linked programs and what they link.
if [ "$KFLAVOUR" = debug ]; then
	for p in "${DEBUG_PROGRAMS[@]}"; do
		install -D -m 755 "$p" "$st/usr/bin/${p##*/}"
		mapfile -t libs < <(ldd "$p" | grep -oE '/[^ ]+')
		for lib in "${libs[@]}"; do
			install -D -m 755 "$(readlink -f "$lib")" "$st$lib"
		done
		log "debug program: /usr/bin/${p##*/} (+ ${#libs[@]} libraries)"
	done
fi

install -m 755 "$INIT" "$st/init"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$st/etc/passwd"
printf 'root:x:0:\n' >"$st/etc/group"
echo lptrig >"$st/etc/hostname"

# Modules.  Map every Debian module name (with '-' as '_') to its path.
declare -A kpath=()
while IFS= read -r -d '' f; do
	n=${f##*/}
	n=${n%.ko}
	kpath[${n//-/_}]=$f
done < <(find "$KMOD/kernel" -name '*.ko' -print0)
[ "${#kpath[@]}" -gt 0 ] || die "no modules in $KMOD (compressed? update build.sh)"

mdir=$st/lib/modules/$KVER
mkdir -p "$mdir"
declare -A have=() # names provided by extra modules
declare -A done_=()
todo=("${BASE_MODULES[@]}" "${PERIPHERAL_MODULES[@]}")

if [ -d "$EXTRA" ]; then
	while IFS= read -r -d '' f; do
		b=${f##*/}
		if [ "$b" = parport_pc.ko ]; then
			dst=$mdir/extra/fifo/$b
		else
			dst=$mdir/extra/$b
			n=$(modinfo -F name "$f" 2>/dev/null || true)
			have[${n:-${b%.ko}}]=1
		fi
		mkdir -p "$(dirname "$dst")"
		install -m 644 "$f" "$dst"
		log "extra module: ${dst#"$st"}"
		deps=$(modinfo -F depends "$f" 2>/dev/null || true)
		IFS=, read -r -a d <<<"$deps"
		todo+=("${d[@]}")
	done < <(find -L "$EXTRA" -maxdepth 1 -name '*.ko' -type f -print0 | sort -z)
fi

# Debian modules and, transitively, what they depend on.
while [ "${#todo[@]}" -gt 0 ]; do
	m=${todo[0]//-/_}
	todo=("${todo[@]:1}")
	[ -n "$m" ] || continue
	[ -z "${done_[$m]:-}" ] || continue
	done_[$m]=1
	[ -z "${have[$m]:-}" ] || continue
	f=${kpath[$m]:-}
	[ -n "$f" ] || die "module $m not found in linux-image-$KVER"
	dst=$mdir/${f#"$KMOD"/}
	mkdir -p "$(dirname "$dst")"
	install -m 644 "$f" "$dst"
	deps=$(modinfo -F depends "$f")
	IFS=, read -r -a d <<<"$deps"
	todo+=("${d[@]}")
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
	[ ! -f "$KMOD/$f" ] || install -m 644 "$KMOD/$f" "$mdir/$f"
done

# Hermetic depmod: our own config (not the host's /etc/depmod.d), and Debian's
# modules first so nothing in extra/ can shadow them.
printf 'search built-in extra\n' >"$work/depmod.conf"
depmod -b "$st" -C "$work/depmod.conf" "$KVER"

# The uncompressed kernel.  Under TCG the bzImage spends ~6 s in its own xz
# decompressor; QEMU boots an ELF vmlinux with a PVH note directly.  The
# payload's place is in the boot header (boot protocol >= 2.08); it ends
# with 4 bytes of size, hence --single-stream.
extract_vmlinux() {
	local setup_sects off len
	[ "$(od -An -c -j 514 -N4 "$1" | tr -d ' ')" = HdrS ] ||
		die "${1##*/}: not a bzImage"
	setup_sects=$(od -An -tu1 -j 497 -N1 "$1")
	read -r off len < <(od -An -tu4 -j 584 -N8 "$1")
	dd if="$1" bs=64K iflag=skip_bytes,count_bytes status=none \
		skip=$(((setup_sects + 1) * 512 + off)) count="$len" |
		xz -dc --single-stream >"$2" ||
		die "${1##*/}: cannot decompress the payload (not xz?)"
	[ "$(head -c4 "$2" | od -An -c | tr -d ' ')" = '177ELF' ] ||
		die "${1##*/}: payload is not an ELF vmlinux"
}
VMLINUX=
if [ "$KFLAVOUR" != debug ]; then
	VMLINUX=$KTREE/boot/vmlinux-$KVER
	if [ ! -f "$VMLINUX" ]; then
		extract_vmlinux "$VMLINUZ" "$VMLINUX.tmp"
		mv "$VMLINUX.tmp" "$VMLINUX"
	fi
fi
# The debug image has no vmlinux: its kernel boots from the bzImage only.
# Booted through its PVH entry, this KASAN/lockdep kernel prints nothing
# and resets (not investigated: the bzImage costs a few seconds of
# decompression under TCG, that is all).

# Reproducible archive: sorted names, fixed mtimes, root owner, no inode or
# device numbers, no gzip name or time.
find "$st" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$st" && find . -mindepth 1 -printf '%P\0' | sort -z |
	cpio -o -H newc -0 --reproducible -R 0:0 --quiet) |
	gzip -9 -n >"$work/initramfs.cpio.gz"
(cd "$st" && find . -mindepth 1 \( -type l -printf '%M %P -> %l\n' \) -o \
	-printf '%M %P\n' | sort -k2) >"$work/manifest.txt"

mkdir -p "$OUT"
install_if_changed "$VMLINUZ" "$OUT/bzImage"
if [ -n "$VMLINUX" ]; then
	install_if_changed "$VMLINUX" "$OUT/vmlinux"
else
	rm -f "$OUT/vmlinux"
fi
install_if_changed "$work/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"
install_if_changed "$work/manifest.txt" "$OUT/manifest.txt"
install_if_changed "$work/programs.sha256" "$OUT/programs.sha256"
echo "$key" >"$OUT/stamp.tmp"
mv "$OUT/stamp.tmp" "$OUT/stamp"
log "initramfs $(stat -c %s "$OUT/initramfs.cpio.gz") bytes, sha256 $(sha256sum <"$OUT/initramfs.cpio.gz" | cut -c1-16)"
echo "$OUT"
