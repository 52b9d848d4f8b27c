#!/usr/bin/env bash
# The demo: boot the default guest with an IEEE 1284.3 daisy chain (a
# printer and a loopback as daisy devices 0 and 1, a printer at the end),
# let Linux's parport_pc find the isa-lpt1284 port through ACPI and scan
# the chain, print a page through /dev/lp0 to the printer at the end, and
# a note to daisy printer 0 through ppdev after a 1284.3 select; show what
# each virtual printer received.  Then the same with lptrig's own guest
# driver: two programs printing at once to two daisy printers.  Last, a
# PostScript page printed through /dev/lp0 and rendered to a PNG with
# Ghostscript (lptrig run --render).
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

# shellcheck disable=SC2016 # $(...) is for the guest's shell
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

# Part three: a PostScript page.  Linux's lp prints it through /dev/lp0 to
# the printer at the end; --render has Ghostscript turn what that printer
# received into printer@end.png next to printer@end.bin.
out3=$out/postscript
mkdir -p "$out3"
ps=$out3/page.ps
cat >"$ps" <<'EOF'
%!PS-Adobe-3.0
%%Title: lptrig PostScript test page
%%BoundingBox: 36 36 559 806
%%Pages: 1
%%EndComments
%%Page: 1 1
2 setlinewidth 36 36 523 770 rectstroke
/Helvetica-Bold findfont 28 scalefont setfont
72 750 moveto (lptrig test page) show
/Helvetica findfont 12 scalefont setfont
72 726 moveto (PostScript printed in the guest by Linux's lp driver through /dev/lp0,) show
72 711 moveto (over QEMU's isa-lpt1284, to the ieee1284-printer at the end of the chain;) show
72 696 moveto (rendered on the host by Ghostscript: lptrig run --render.) show
0 setgray 72 500 144 100 rectfill
0.5 setgray 240 500 144 100 rectfill
0 0.4 0.8 setrgbcolor newpath 460 550 50 0 360 arc fill
0 1 15 { dup 15 div setgray 28 mul 72 add 400 28 60 rectfill } for
0 setgray 72 380 moveto (black box: x 72-216, y 500-600 pt; grey box; a blue disc; a grey ramp) show
showpage
%%EOF
EOF
# shellcheck disable=SC2016 # $(...) is for the guest's shell
/usr/bin/python3 -m lptrig run --chain printer@end --out "$out3" --render \
	--add "$ps:/root/page.ps" -- '
cat /root/page.ps > /dev/lp0 && echo "guest: printed a PostScript page, $(wc -c < /root/page.ps) bytes, to /dev/lp0"'

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

# The PostScript page: received byte for byte, and the PNG has its ink where
# the page puts it (the black box's middle dark, the page around it white).
png=$out3/printer@end.png
echo
if ! cmp -s "$ps" "$out3/printer@end.bin"; then
	echo "demo: printer@end's PostScript differs from what was sent" >&2
	status=1
elif ! /usr/bin/python3 - "$png" <<'EOF'; then
import sys
from PIL import Image
img = Image.open(sys.argv[1]).convert("L")
# lptrig render's default: 100 dpi on A4 (842 pt high)
px = lambda x, y: img.getpixel((round(x * 100 / 72), round((842 - y) * 100 / 72)))
sys.exit(0 if px(144, 550) < 40 and px(144, 650) > 215 and px(300, 200) > 215 else 1)
EOF
	echo "demo: $png does not show the page's black box where the page puts it" >&2
	status=1
else
	echo "demo: printer@end received the PostScript page byte for byte"
	echo "lptrig: page rendered to $png"
fi
exit $status
