#!/usr/bin/env bash
# The demo: boot the default guest with an IEEE 1284.3 daisy chain (a
# printer and a loopback as daisy devices 0 and 1, a printer at the end),
# let Linux's parport_pc find the isa-lpt1284 port through ACPI and scan
# the chain, print a page through /dev/lp0 to the printer at the end, and
# a note to daisy printer 0 through ppdev after a 1284.3 select; show what
# each virtual printer received.  Then the same with lptrig's own guest
# driver: two programs printing at once to two daisy printers.
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

# Part two: our own guest driver, lpt1284.ko, instead of Linux's parport
# stack.  Two programs print at once to two daisy printers through
# /dev/lpt0.0 and /dev/lpt0.2; each write() allocates the shared port in
# the driver's FIFO queue, selects its device with the 1284.3 command
# packet, and hands the port on when the other one waits.
out2=$out/lpt1284
mkdir -p "$out2"
page0=$out2/page0.txt
page2=$out2/page2.txt
for n in 0 2; do
	for i in $(seq 1 8); do
		echo "page for daisy printer $n, line $i: the quick brown fox jumps over the lazy dog"
	done >"$out2/page$n.txt"
done
/usr/bin/python3 -m lptrig run --chain printer@0,loopback@1,printer@2,printer@end \
	--modules lpt1284 --out "$out2" \
	--add "$page0:/root/page0.txt" --add "$page2:/root/page2.txt" -- '
dmesg | grep "lpt1284 lpt0"
lptctl list
cat /root/page0.txt > /dev/lpt0.0 & cat /root/page2.txt > /dev/lpt0.2 & wait
echo "guest: two programs printed to /dev/lpt0.0 and /dev/lpt0.2 at once"'

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
out=$out2
check "$page0" printer@0
check "$page2" printer@2
exit $status
