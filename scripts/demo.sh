#!/usr/bin/env bash
# The demo: boot the default guest with a printer at the end of the chain,
# let Linux's parport_pc find the isa-lpt1284 port through ACPI, print a
# page through /dev/lp0, and show what the virtual printer received.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

out=$LPTRIG_CACHE/demo
rm -rf "$out"
mkdir -p "$out"
page=$out/page.txt
{
	echo "lptrig test page"
	echo "================"
	echo
	echo "Printed by Linux's lp driver through /dev/lp0, over the IEEE 1284"
	echo "compatibility handshake of QEMU's isa-lpt1284 controller, to the"
	echo "ieee1284-printer at the end of the chain."
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

PYTHONPATH=$LPTRIG_TOP/harness /usr/bin/python3 -m lptrig run \
	--chain printer@end --out "$out" --add "$page:/root/page.txt" -- \
	'dmesg | grep -E "parport0|lp0"; cat /root/page.txt > /dev/lp0 && echo "guest: printed $(wc -c < /root/page.txt) bytes to /dev/lp0"'

echo
echo "--- what the printer received ($out/printer@end.bin) ---"
cat "$out/printer@end.bin"
echo "--- end of page ---"
if cmp -s "$page" "$out/printer@end.bin"; then
	echo "demo: the printer received the page byte for byte"
else
	echo "demo: the printer's output differs from the page" >&2
	exit 1
fi
