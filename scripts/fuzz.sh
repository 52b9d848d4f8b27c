#!/usr/bin/env bash
# Coverage-guided fuzzing of isa-lpt1284 with QEMU's own engine: the
# generic-fuzz target of qemu-fuzz-x86_64 (tests/qtest/fuzz/generic_fuzz.c),
# built with clang and libFuzzer by qemu-device/build.sh --fuzz (ASan and
# UBSan on).  The guest is the fuzzer: it writes and reads every I/O port of
# the controllers and of the ISA DMA controller, and generic-fuzz fills the
# memory the DMA engine reads with fuzzer data.
#
# The machine (QEMU_FUZZ_ARGS): five ports with every peripheral kind and
# every option that changes the code paths.  IEEE 1284 devices sit at the
# end of a chain too, where the host reaches them without a 1284.3 select:
#   lpt0 0x378 IRQ 7 DMA 3   printer@0 loopback@1 printer@2 loopback@3 and a
#                            printer at the end, a VCD trace
#   lpt1 0x278 IRQ 5 DMA 1   a faulty printer@0 and a loopback at the end
#                            (64 bytes), a 4-byte FIFO
#   lpt2 0x3b8 IRQ 6 DMA 0   the I2C adapter with tmp105 and a 24c32 EEPROM
#   lpt3 0x268 IRQ 10 no DMA a PPS source (fast pulses), no EPP
#   lpt4 0x2e8 IRQ 11 no DMA a LapLink cable to a null chardev, no ECP
# QEMU_FUZZ_OBJECTS: the controllers (isa-lpt1284: both their I/O ranges)
# and the i8257 DMA controller, so that the fuzzer can program transfers.
#
# Everything lives in $LPTRIG_CACHE/fuzz:
#   corpus/      libFuzzer's corpus, kept between runs (it only grows)
#   crashes/     crash-*, leak-*, timeout-* inputs, and for each a readable
#                qtest reproducer NAME.qtest (replay it with
#                qemu-system-x86_64 -M pc ... -qtest stdio < NAME.qtest)
#   last-run.log libFuzzer's output of the last run
#   coverage.txt edge coverage of our files (libFuzzer's -print_coverage)
#
# Usage: scripts/fuzz.sh [SECONDS]     (default $FUZZ_SECONDS or 600)
# Exits 1 when the run found a crash (the reproducer is written first).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"

seconds=${1:-${FUZZ_SECONDS:-600}}
case "$seconds" in
'' | *[!0-9]*) die "usage: ${0##*/} [SECONDS] (a whole number of seconds, not '$seconds')" ;;
esac
[ "$seconds" -gt 0 ] || die "SECONDS must be at least 1"

bash "$LPTRIG_TOP/qemu-device/build.sh" --fuzz
qdir=$LPTRIG_CACHE/qemu
fuzzer=$qdir/qemu-fuzz-x86_64
src=$qdir/src
W=$LPTRIG_CACHE/fuzz
mkdir -p "$W/corpus" "$W/crashes"

QEMU_FUZZ_ARGS="-L $qdir/firmware "$(tr '\n' ' ' <<'EOT'
-machine pc -nodefaults
-device isa-lpt1284,id=lpt0,iobase=0x378,irq=7,dma=3,trace-vcd=/dev/null
-chardev null,id=c0 -device ieee1284-printer,bus=lpt0.0,chardev=c0,addr=0
-chardev null,id=c1 -device ieee1284-loopback,bus=lpt0.0,chardev=c1,addr=1,size=64
-chardev null,id=c2 -device ieee1284-printer,bus=lpt0.0,chardev=c2,addr=2,busy-ns=0,ack-ns=0
-chardev null,id=c3 -device ieee1284-loopback,bus=lpt0.0,chardev=c3,addr=3
-chardev null,id=c4 -device ieee1284-printer,bus=lpt0.0,chardev=c4
-device isa-lpt1284,id=lpt1,iobase=0x278,irq=5,dma=1,fifo-depth=4
-chardev null,id=c5 -device ieee1284-printer,bus=lpt1.0,chardev=c5,addr=0,drop=3,corrupt=5,arm=paper-out,arm-after=7,device-id-error=truncated
-chardev null,id=c6 -device ieee1284-loopback,bus=lpt1.0,chardev=c6,size=64
-device isa-lpt1284,id=lpt2,iobase=0x3b8,irq=6,dma=0
-device ieee1284-i2c,id=i2c,bus=lpt2.0
-device tmp105,bus=i2c.0,address=0x48
-device at24c-eeprom,bus=i2c.0,address=0x50,rom-size=4096
-device isa-lpt1284,id=lpt3,iobase=0x268,irq=10,dma=-1,epp=off
-device ieee1284-pps,bus=lpt3.0,period-ns=200000,width-ns=50000,jitter-ns=10000
-device isa-lpt1284,id=lpt4,iobase=0x2e8,irq=11,dma=-1,ecp=off
-chardev null,id=c7 -device ieee1284-laplink,bus=lpt4.0,chardev=c7
EOT
)
QEMU_FUZZ_OBJECTS="isa-lpt1284 i8257"
export QEMU_FUZZ_ARGS QEMU_FUZZ_OBJECTS
# Sanitizer reports are fatal and name the frames; no leak check (QEMU's
# own start-up allocations are never freed).
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || echo /usr/bin/llvm-symbolizer)}

# reproducer INPUT: INPUT.qtest, the qtest commands of one input in order,
# as QEMU's scripts/oss-fuzz/reorder_fuzzer_qtest_trace.py writes them.
reproducer() {
	local input=$1
	QTEST_LOG=1 FUZZ_SERIALIZE_QTEST=1 "$fuzzer" --fuzz-target=generic-fuzz \
		"$input" >/dev/null 2>"$input.log" || true
	/usr/bin/python3 "$src/scripts/oss-fuzz/reorder_fuzzer_qtest_trace.py" "$input.log" >"$input.qtest"
	log "reproducer: $input.qtest ($(wc -l <"$input.qtest") qtest commands)"
}

log "fuzzing isa-lpt1284 for $seconds s (corpus $W/corpus: $(find "$W/corpus" -type f | wc -l) inputs)"
before=$(find "$W/crashes" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
	-o -name 'timeout-*' \) ! -name '*.*' | sort)
rc=0
"$fuzzer" --fuzz-target=generic-fuzz -max_total_time="$seconds" -print_final_stats=1 \
	-print_coverage=1 -artifact_prefix="$W/crashes/" "$W/corpus" >"$W/last-run.log" 2>&1 || rc=$?

# The figures: executions, executions per second, corpus size, coverage.
grep -E '^stat::' "$W/last-run.log" | sed 's/^/  /' >&2 || true
grep -E '^#[0-9]+ +DONE' "$W/last-run.log" | tail -1 | sed 's/^/  /' >&2 || true
# -print_coverage lists each instrumented function with "edges: A/B" and
# its file; sum them per file of ours.
{ grep -E '^(COVERED|UNCOVERED)_FUNC' "$W/last-run.log" || true; } |
	{ grep -E '/hw/char/(lpt1284|ieee1284)[^/]*\.c' || true; } |
	awk '{
		for (i = 1; i <= NF; i++) {
			if ($i == "edges:") { split($(i + 1), e, "/"); }
			if ($i ~ /\/hw\/char\/.*\.c:/) { f = $i; sub(/:.*/, "", f); sub(/.*\//, "", f); }
		}
		cov[f] += e[1]; tot[f] += e[2]; all_c += e[1]; all_t += e[2]
	}
	END {
		for (f in cov) printf "%-24s %5d / %5d edges  %5.1f %%\n", f, cov[f], tot[f], 100 * cov[f] / tot[f]
		if (all_t) printf "%-24s %5d / %5d edges  %5.1f %%\n", "all of ours", all_c, all_t, 100 * all_c / all_t
	}' | sort >"$W/coverage.txt"
if [ -s "$W/coverage.txt" ]; then
	log "edge coverage of our files ($W/coverage.txt):"
	sed 's/^/  /' "$W/coverage.txt" >&2
fi

new=$(comm -13 <(echo "$before") <(find "$W/crashes" -maxdepth 1 -type f \( -name 'crash-*' \
	-o -name 'leak-*' -o -name 'timeout-*' \) ! -name '*.*' | sort))
if [ -n "$new" ] || [ "$rc" -ne 0 ]; then
	{ grep -E -A30 'ERROR: AddressSanitizer|runtime error|deadly signal|ERROR: libFuzzer' \
		"$W/last-run.log" || tail -20 "$W/last-run.log"; } | head -60 >&2
	for f in $new; do reproducer "$f"; done
	[ -n "$new" ] || die "the fuzzer failed (exit $rc) without a crash input: see $W/last-run.log"
	die "the fuzzer found a crash (exit $rc): see $W/last-run.log and the reproducers above"
fi
log "no crash in $seconds s; corpus now $(find "$W/corpus" -type f | wc -l) inputs"
