#!/usr/bin/env bash
# Install everything lptrig needs from Debian's packages.  Idempotent: when
# every package is present it only checks and returns in well under a second.
#
# Usage: scripts/deps.sh [GROUP...]
#   (none)  what make, make demo and make run need
#   qemu    only what building QEMU needs (make all installs the rest while
#           QEMU builds)
#   test    also what make test needs (pytest, the RT guest, trace readers,
#           trinity, LAVA's schema, ...)
#   debug   also what the debug guest kernel and image need (make image DEBUG=1)
#   fuzz    also clang and libFuzzer for QEMU's fuzzer (make fuzz)
#   lava    also LAVA's dispatcher and lava-server's device-type templates
#           (tests/lava parse and run the jobs in lava/ with them)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$here/versions.sh"

# What make, make demo and make run need: building QEMU, the guest image
# and our driver, booting it, and rendering the demo's printed page.
QEMU_PKGS=(
	build-essential pkg-config git python3 python3-venv meson ninja-build
	libfdt-dev libglib2.0-dev libpixman-1-dev zlib1g-dev dpkg-dev flex bison
)
PKGS=(
	"${QEMU_PKGS[@]}"
	# guest image
	seabios busybox-static cpio gzip xz-utils kmod
	"linux-headers-${KVER}=${KPKGVER}" "linux-source-6.1=${KPKGVER}"
	libelf-dev bc
	# lptrig render: PostScript and PDF pages through Ghostscript, plain
	# text through enscript (make demo renders a page and reads its pixels
	# with PIL)
	ghostscript enscript python3-pil
)
# make test: the test runner and everything only the tests use
TEST_PKGS=(
	python3-pytest python3-pytest-xdist python3-pytest-timeout
	# the RT guest's headers (lpt1284.ko for it; its kernel .deb is only
	# downloaded and unpacked by images/rt/build.sh), e2fsprogs for its disk
	"linux-headers-${RT_KVER}=${KPKGVER}" e2fsprogs
	# qemu-img: the qcow2 image of the savevm/loadvm tests, and the
	# overlays a foreign guest's disks get for snapshot boot
	qemu-utils
	# binutils' as and ld assemble tests/cli/test_byo_disk_boot.py's boot sector
	binutils
	# merging the JUnit XML of make test SHARD=i/N runs (scripts/junit-merge.py)
	python3-junitparser
	# installing the rig with pip into a venv, offline (docs/rig.md;
	# tests/cli/test_pytest_plugin.py does it)
	python3-pip python3-setuptools python3-wheel
	# reading cable traces (VCD): sigrok's decoders, GTKWave's vcd2fst,
	# matplotlib for lptrig trace-png
	sigrok-cli gtkwave python3-matplotlib
	# syscall fuzzing of the guest driver (tests/soak; the debug image too)
	trinity
	# LAVA's job schema (lava_common.schemas): tests/lava validates the job
	# definitions in lava/ with it
	lava-common
)
lava=0
for group in "$@"; do
	case "$group" in
	qemu) PKGS=("${QEMU_PKGS[@]}") ;;
	test) PKGS+=("${TEST_PKGS[@]}") ;;
	# the debug kernel's build (linux-source-6.1 is above)
	debug) PKGS+=(libssl-dev) ;;
	# QEMU --enable-fuzzing; llvm for llvm-symbolizer (libFuzzer's coverage report)
	fuzz) PKGS+=(clang libfuzzer-14-dev llvm) ;;
	# LAVA's dispatcher (job parser, lava-run).  Heavy: it depends on
	# libguestfs, Debian's QEMU and the newest linux-headers-amd64.
	lava)
		PKGS+=(lava-dispatcher)
		lava=1
		;;
	*)
		echo "deps: unknown group '$group' (qemu, test, debug, fuzz, lava)" >&2
		exit 2
		;;
	esac
done

missing=()
for p in "${PKGS[@]}"; do
	name=${p%%=*}
	want=
	[ "$name" = "$p" ] || want=${p#*=}
	got=$(dpkg-query -W -f='${Status} ${Version}\n' "$name" 2>/dev/null || true)
	case "$got" in
	"install ok installed ${want}"*) ;;
	*) missing+=("$p") ;;
	esac
done

need_src=0
if ! grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list \
	/etc/apt/sources.list.d/; then
	need_src=1
fi

# lava-server's device-type templates (qemu.jinja2, base.jinja2), which
# render a LAVA device dictionary, from its Debian package (the version of
# the installed lava-common) without installing the server.
lava_templates() {
	local cache=${LPTRIG_CACHE:-$HOME/.cache/lptrig} ver tmp
	[ "$lava" -eq 1 ] || return 0
	[ -f /usr/share/lava-server/device-types/qemu.jinja2 ] && return 0
	[ -f "$cache/lava/device-types/qemu.jinja2" ] && return 0
	ver=$(dpkg-query -W -f='${Version}' lava-common)
	echo "deps: lava-server $ver's device-type templates into $cache/lava"
	tmp=$(mktemp -d)
	chmod 755 "$tmp" # apt-get download fetches as _apt
	(cd "$tmp" && apt-get download -qq "lava-server=$ver" && dpkg-deb -x lava-server_*.deb x)
	mkdir -p "$cache/lava"
	rm -rf "$cache/lava/device-types"
	cp -r "$tmp/x/usr/share/lava-server/device-types" "$cache/lava/device-types"
	rm -rf "$tmp"
}

if [ "${#missing[@]}" -eq 0 ] && [ "$need_src" -eq 0 ]; then
	lava_templates
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi

if [ "$need_src" -eq 1 ]; then
	echo "deps: adding a deb-src entry for Debian's source packages"
	$SUDO tee /etc/apt/sources.list.d/lptrig-src.sources >/dev/null <<'EOT'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
fi

echo "deps: installing ${missing[*]:-nothing (apt lists only)}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [ "${#missing[@]}" -gt 0 ]; then
	# The kernel image is never booted on the host: it is only unpacked into
	# the guest image.  Keep apt from running update-initramfs/grub for it.
	# --allow-downgrades: a pinned version (the kernel source) may be older
	# than what an unrelated apt-get upgrade brought in.
	# Every pinned package goes on the command line too, present or not:
	# otherwise apt may upgrade one while it installs another (installing
	# the RT headers alone upgraded linux-source-6.1 past the pin, and
	# lava-dispatcher pulls in a newer kernel from the same source package).
	for p in "${PKGS[@]}"; do
		case " ${missing[*]} " in *" $p "*) continue ;; esac
		[ "${p%%=*}" = "$p" ] || missing+=("$p")
	done
	$SUDO apt-get install -y -qq --no-install-recommends --allow-downgrades "${missing[@]}"
fi
lava_templates
