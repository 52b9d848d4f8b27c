#!/usr/bin/env bash
# Build the RT guest into $LPTRIG_CACHE/images/rt/: a second guest, built
# differently from lptrig's own, booted as a foreign guest (docs/rig.md,
# "Bring your own guest"; tests/guest/test_rt_guest.py):
#
#   vmlinuz         Debian's real-time kernel linux-image-$RT_KVER (PREEMPT_RT),
#                   the pinned kernel's other flavour (scripts/versions.sh)
#   initrd.cpio.gz  a small generic initramfs: busybox-static, the disk and
#                   file system modules of that kernel (ata_piix, sd_mod, ext4
#                   and what they need), an /init that loads them, mounts
#                   root= and switch_roots to it (images/rt/initrd-init)
#   rootfs.img      the root file system, ext4, made without mounting
#                   (mke2fs -d): busybox-static, Linux's parport, parport_pc,
#                   lp, ppdev (+ dependencies) and the disk modules,
#                   extra/lpt1284.ko (and lpt1284-sample.ko) built for the RT
#                   kernel, lptctl, the guest test programs of
#                   tests/guest/progs/, /sbin/init (images/rt/init: loads
#                   parport_pc, lp, ppdev; a shell on ttyS0 with PS1 'rt# ')
#   manifest.txt    both file lists, for people
#   stamp           hash of every input; the build is skipped when it matches
#
# Boot it (the root file system on the first IDE disk; snapshot=on, the
# default of lptrig's --drive, keeps rootfs.img unchanged):
#   python3 -m lptrig run --kernel $R/vmlinuz --initrd $R/initrd.cpio.gz \
#       --drive $R/rootfs.img --append 'console=ttyS0 root=LABEL=rtroot rw' --ready 'rt# '
# (root=/dev/sda works while it is the only disk; with more, sd_mod's
# asynchronous probes name them in any order: hence the label)
#
# The kernel .deb is downloaded once into $LPTRIG_CACHE/dl/ and unpacked
# into $LPTRIG_CACHE/kernel/ (never installed on the host); our driver is
# built against linux-headers-$RT_KVER (LPTRIG_RT=1 guest-driver/build.sh,
# into extra-modules-rt/); the test programs by the harness (lptrig.progs,
# the same binaries the other guest tests use).
#
# Usage: images/rt/build.sh [-f|--force]
# Prints the output directory on stdout.  See images/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LPTRIG_RT=1
unset LPTRIG_DEBUG # the RT guest is the RT flavour also under make image DEBUG=1
# shellcheck source=../../scripts/common.sh
. "$here/../../scripts/common.sh"

# Bump when the image layout changes in a way the input hash cannot see.
FORMAT=1

# Loaded by the initramfs, in this order: the checksum providers that ext4,
# jbd2 and the block layer ask the crypto API for (busybox modprobe knows
# no softdeps), the IDE disk, ext4.
INITRD_MODULES=(crc32c_generic crct10dif_generic crc64_rocksoft_generic ata_piix sd_mod ext4)
# Linux's own parallel-port stack on the root file system.
ROOT_MODULES=(parport parport_pc lp ppdev)
ROOTFS_SIZE=48M
# Fixed, so that the same inputs give the same image.
ROOTFS_UUID=6c707472-6967-4000-8000-000000000001

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
KMOD=$KTREE/lib/modules/$KVER
VMLINUZ=$KTREE/boot/vmlinuz-$KVER
EXTRA=$EXTRA_MODULES
EXTRA_BIN=$LPTRIG_CACHE/images/extra-bin
OUT=$LPTRIG_CACHE/images/rt
PYTHON=${PYTHON:-/usr/bin/python3}

[ -x "$BUSYBOX" ] || die "$BUSYBOX missing: run 'make deps' (busybox-static)"
for t in cpio gzip depmod modinfo dpkg flock mke2fs; do
	command -v "$t" >/dev/null || die "$t missing: run 'make deps'"
done

# Our driver for the RT kernel (extra-modules-rt/) and lptctl (extra-bin/).
"$LPTRIG_TOP/guest-driver/build.sh"
# The guest test programs, as the harness builds them (one path a line).
progs_out=$(cd "$LPTRIG_TOP" && PYTHONPATH=harness "$PYTHON" -c '
from lptrig import progs
for src in sorted(progs.SOURCE_DIR.glob("*.c")):
    print(progs.build(src.stem))') || die "building the guest test programs failed"
mapfile -t PROGS <<<"$progs_out"
fetch_kernel_deb

# The kernel .deb is pinned and immutable: its name and size stand for it.
input_key() {
	{
		echo "format $FORMAT"
		echo "kernel $KVER $KPKGVER"
		echo "modules ${INITRD_MODULES[*]} / ${ROOT_MODULES[*]} size $ROOTFS_SIZE"
		echo "sde ${SOURCE_DATE_EPOCH:-}"
		stat -c 'deb %n %s' "$DEB"
		mke2fs -V 2>&1 | head -1
		sha256sum "$BUSYBOX" "$here"/* "$LPTRIG_TOP/scripts/versions.sh" \
			"$LPTRIG_TOP/scripts/common.sh" "$EXTRA_BIN/lptctl" "${PROGS[@]}"
		(cd "$EXTRA" && find . -maxdepth 1 -name '*.ko' -type f -print0 | sort -z |
			xargs -0r sha256sum)
	} | sha256sum | cut -d' ' -f1
}

up_to_date() {
	[ "$force" -eq 0 ] && [ -f "$OUT/stamp" ] && [ -f "$OUT/vmlinuz" ] &&
		[ -f "$OUT/initrd.cpio.gz" ] && [ -f "$OUT/rootfs.img" ] &&
		[ "$(cat "$OUT/stamp")" = "$1" ]
}

key=$(input_key)
if up_to_date "$key"; then
	echo "$OUT"
	exit 0
fi
mkdir -p "$LPTRIG_CACHE/images"
exec 9>"$LPTRIG_CACHE/images/.lock-rt"
flock 9
key=$(input_key)
if up_to_date "$key"; then
	echo "$OUT"
	exit 0
fi

unpack_kernel_deb
[ -f "$VMLINUZ" ] || die "$VMLINUZ missing"
grep -qx 'CONFIG_PREEMPT_RT=y' "$KTREE/boot/config-$KVER" || die "$KVER is not a PREEMPT_RT kernel"

SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(stat -c %Y "$VMLINUZ")}
export SOURCE_DATE_EPOCH

log "building the RT guest for $KVER"
work=$(mktemp -d "$LPTRIG_CACHE/images/.build-rt.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Every Debian module name (with '-' as '_') to its path.
declare -A kpath=()
while IFS= read -r -d '' f; do
	n=${f##*/}
	n=${n%.ko}
	kpath[${n//-/_}]=$f
done < <(find "$KMOD/kernel" -name '*.ko' -print0)
[ "${#kpath[@]}" -gt 0 ] || die "no modules in $KMOD (compressed? update build.sh)"

# add_modules ROOT NAME...: the modules and, transitively, what they depend
# on, into ROOT/lib/modules/$KVER/ (names the extra modules provide are skipped).
declare -A provided=()
add_modules() {
	local st=$1 m f dst deps
	shift
	local todo=("$@") d
	declare -A seen=()
	while [ "${#todo[@]}" -gt 0 ]; do
		m=${todo[0]//-/_}
		todo=("${todo[@]:1}")
		[ -n "$m" ] || continue
		[ -z "${seen[$m]:-}" ] || continue
		seen[$m]=1
		[ -z "${provided[$m]:-}" ] || continue
		f=${kpath[$m]:-}
		[ -n "$f" ] || die "module $m not found in linux-image-$KVER"
		dst=$st/lib/modules/$KVER/${f#"$KMOD"/}
		mkdir -p "$(dirname "$dst")"
		install -m 644 "$f" "$dst"
		deps=$(modinfo -F depends "$f")
		IFS=, read -r -a d <<<"$deps"
		todo+=("${d[@]}")
	done
}

# finish_modules ROOT: Debian's module lists and a hermetic depmod.
finish_modules() {
	local f
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		[ ! -f "$KMOD/$f" ] || install -m 644 "$KMOD/$f" "$1/lib/modules/$KVER/$f"
	done
	printf 'search built-in extra\n' >"$work/depmod.conf"
	depmod -b "$1" -C "$work/depmod.conf" "$KVER"
}

# base_root ROOT: directories and busybox with a link for every applet.
base_root() {
	local st=$1 app
	mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,tmp,root,lib/modules/"$KVER"}
	chmod 1777 "$st/tmp"
	chmod 700 "$st/root"
	install -m 755 "$BUSYBOX" "$st/bin/busybox"
	"$BUSYBOX" --list-full | while read -r app; do
		case "$app" in bin/busybox | linuxrc) continue ;; esac
		[ -e "$st/$app" ] || [ -L "$st/$app" ] && continue
		[ -d "$st/${app%/*}" ] || mkdir -p "$st/${app%/*}"
		ln -s /bin/busybox "$st/$app"
	done
}

# -- the initramfs ---------------------------------------------------------
ird=$work/initrd
base_root "$ird"
install -m 755 "$here/initrd-init" "$ird/init"
printf '%s\n' "${INITRD_MODULES[@]}" >"$ird/etc/initrd-modules"
add_modules "$ird" "${INITRD_MODULES[@]}"
finish_modules "$ird"

# -- the root file system ------------------------------------------------
rfs=$work/rootfs
base_root "$rfs"
install -m 755 "$here/init" "$rfs/sbin/init.tmp"
mv "$rfs/sbin/init.tmp" "$rfs/sbin/init" # in place of busybox's init applet
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rfs/etc/passwd"
printf 'root:x:0:\n' >"$rfs/etc/group"
echo rtguest >"$rfs/etc/hostname"
printf 'LABEL=rtroot / ext4 rw 0 1\n' >"$rfs/etc/fstab"
todo=("${ROOT_MODULES[@]}" "${INITRD_MODULES[@]}")
while IFS= read -r -d '' f; do
	b=${f##*/}
	install -D -m 644 "$f" "$rfs/lib/modules/$KVER/extra/$b"
	n=$(modinfo -F name "$f")
	provided[${n:-${b%.ko}}]=1
	deps=$(modinfo -F depends "$f")
	IFS=, read -r -a d <<<"$deps"
	todo+=("${d[@]}")
	log "extra module: /lib/modules/$KVER/extra/$b"
done < <(find "$EXTRA" -maxdepth 1 -name '*.ko' -type f -print0 | sort -z)
add_modules "$rfs" "${todo[@]}"
finish_modules "$rfs"
for f in "$EXTRA_BIN/lptctl" "${PROGS[@]}"; do
	n=${f##*/}
	n=${n%-*} # progs: NAME-<sha256>
	[ "$f" != "$EXTRA_BIN/lptctl" ] || n=lptctl
	install -m 755 "$f" "$rfs/usr/bin/$n"
	log "program: /usr/bin/$n"
done

# -- outputs, reproducible ---------------------------------------------------
find "$ird" "$rfs" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$ird" && find . -mindepth 1 -printf '%P\0' | sort -z |
	cpio -o -H newc -0 --reproducible -R 0:0 --quiet) | gzip -9 -n >"$work/initrd.cpio.gz"
# mke2fs -d copies the tree without mounting anything; a fixed UUID, hash
# seed and time (E2FSPROGS_FAKE_TIME) make the same image from the same tree.
rm -f "$work/rootfs.img"
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mke2fs -q -F -t ext4 -L rtroot -U "$ROOTFS_UUID" \
	-E "root_owner=0:0,hash_seed=$ROOTFS_UUID,lazy_itable_init=0" \
	-d "$rfs" "$work/rootfs.img" "$ROOTFS_SIZE" >&2 || die "mke2fs failed"
{
	echo "# initrd.cpio.gz"
	(cd "$ird" && find . -mindepth 1 \( -type l -printf '%M %P -> %l\n' \) -o -printf '%M %P\n' | sort -k2)
	echo "# rootfs.img"
	(cd "$rfs" && find . -mindepth 1 \( -type l -printf '%M %P -> %l\n' \) -o -printf '%M %P\n' | sort -k2)
} >"$work/manifest.txt"

mkdir -p "$OUT"
install_if_changed "$VMLINUZ" "$OUT/vmlinuz"
install_if_changed "$work/initrd.cpio.gz" "$OUT/initrd.cpio.gz"
install_if_changed "$work/rootfs.img" "$OUT/rootfs.img"
install_if_changed "$work/manifest.txt" "$OUT/manifest.txt"
echo "$key" >"$OUT/stamp.tmp"
mv "$OUT/stamp.tmp" "$OUT/stamp"
log "initrd $(stat -c %s "$OUT/initrd.cpio.gz") bytes, rootfs.img $ROOTFS_SIZE ($(du -k "$OUT/rootfs.img" | cut -f1) KiB used)"
echo "$OUT"
