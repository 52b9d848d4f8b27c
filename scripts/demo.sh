#!/usr/bin/env bash
# The demo: boot the default guest with an IEEE 1284.3 daisy chain (a
# printer and a loopback as daisy devices 0 and 1, a printer at the end),
# let Linux's parport_pc find the isa-lpt1284 port through ACPI and scan
# the chain, print a page through /dev/lp0 to the printer at the end, and
# a note to daisy printer 0 through ppdev after a 1284.3 select; show what
# each virtual printer received.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

out=$LPTRIG_CACHE/demo
rm -rf "$out"
mkdir -p "$out"
page=$out/page.txt
note=$out/note.txt
{
	echo "lptrig test page"
	echo "================"
	echo
	echo "Printed by Linux's lp driver through /dev/lp0, over the IEEE 1284"
	echo "compatibility handshake of QEMU's isa-lpt1284 controller, to the"
	echo "ieee1284-printer at the end of the 1284.3 daisy chain."
	echo
	for i in 0 1 2 3; do
		printf '  %02d  ' "$i"
		for c in $(seq $((32 + i * 24)) $((55 + i * 24))); do
			# shellcheck disable=SC2059
			printf "\\$(printf '%03o' "$c")"
		done
		echo
	done
	printf '\f'
} >"$page"
echo "A note for daisy device 0, selected with the IEEE 1284.3 command packet." >"$note"

export PYTHONPATH=$LPTRIG_TOP/harness
tool=$(/usr/bin/python3 -c 'from lptrig import progs; print(progs.build("ppdev_xfer"))')

/usr/bin/python3 -m lptrig run --chain printer@0,loopback@1,printer@end --out "$out" \
	--add "$page:/root/page.txt" --add "$note:/root/note.txt" \
	--add "$tool:/usr/bin/ppdev_xfer" -- '
dmesg | grep -E "parport0|lp0"
for n in 0 1 2 3; do
	echo "daisy device $n: $(tr "\n" " " < /proc/sys/dev/parport/parport0/autoprobe$n)"
done
echo "end device:    $(tr "\n" " " < /proc/sys/dev/parport/parport0/autoprobe)"
cat /root/page.txt > /dev/lp0 && echo "guest: printed $(wc -c < /root/page.txt) bytes to /dev/lp0"
ppdev_xfer -s 0 write compat /root/note.txt && echo "guest: that went to daisy device 0"'

status=0
check() {
	echo
	echo "--- what $2 received ($out/$2.bin) ---"
	cat "$out/$2.bin"
	echo "--- end ---"
	if cmp -s "$1" "$out/$2.bin"; then
		echo "demo: $2 received it byte for byte"
	else
		echo "demo: $2's output differs from what was sent" >&2
		status=1
	fi
}
check "$page" printer@end
check "$note" printer@0
exit $status
