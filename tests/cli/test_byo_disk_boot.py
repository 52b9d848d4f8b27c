"""``lptrig run --drive IMG`` alone: SeaBIOS boots the image, a guest with
a parallel-port driver of its own (here a boot sector that writes to COM1
and LPT1 with the port's registers, then powers off through ACPI) prints
to the chain, and the run ends when the guest powers off.  IDE disk and
floppy; the image is left unchanged (snapshot=on)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "harness"
MESSAGE = b"boot sector on LPT1\r\n"

#: a 512-byte boot sector (GNU as, 16-bit): MESSAGE to COM1 and, with the
#: compatibility handshake (wait while Busy, data, nStrobe pulse), to LPT1
#: at 0x378; then S5 through the PIIX4 PM control port SeaBIOS puts at 0x604
BOOT_S = r"""
	.code16
	.globl _start
_start:
	cli
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %ss
	mov $0x7c00, %sp
	mov $0x37a, %dx		/* control: nInit high, SelectIn: out of reset */
	mov $0x0c, %al
	out %al, %dx
	mov $msg, %si
next:
	lodsb
	test %al, %al
	jz done
	mov %al, %bl
	mov $0x3f8, %dx		/* COM1 */
	out %al, %dx
	mov $0x379, %dx		/* LPT1 status: wait while Busy (bit 7 clear) */
busy:
	in %dx, %al
	test $0x80, %al
	jz busy
	mov $0x378, %dx
	mov %bl, %al
	out %al, %dx
	mov $0x37a, %dx		/* nStrobe pulse */
	mov $0x0d, %al
	out %al, %dx
	mov $0x0c, %al
	out %al, %dx
	jmp next
done:
	mov $0x604, %dx		/* ACPI PM1a control (SeaBIOS's PM base 0x600): S5 */
	mov $0x2000, %ax
	out %ax, %dx
	hlt
	jmp done
msg:
	.asciz "boot sector on LPT1\r\n"
	.org 510
	.word 0xaa55
"""


def boot_sector(tmp_path: Path) -> bytes:
    missing = [tool for tool in ("as", "ld") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"binutils' {' and '.join(missing)} not found: install binutils "
                    "(bash scripts/deps.sh; make test does)", pytrace=False)
    (tmp_path / "boot.S").write_text(BOOT_S)
    subprocess.run(["as", "--32", "-o", str(tmp_path / "boot.o"), str(tmp_path / "boot.S")],
                   check=True)
    subprocess.run(["ld", "-m", "elf_i386", "-Ttext", "0x7c00", "--oformat", "binary",
                    "-o", str(tmp_path / "boot.bin"), str(tmp_path / "boot.o")], check=True)
    code = (tmp_path / "boot.bin").read_bytes()
    assert len(code) == 512 and code.endswith(b"\x55\xaa")
    return code


@pytest.mark.guest
@pytest.mark.parametrize("interface,size", [("ide", 1 << 20), ("floppy", 1474560)])
def test_bios_boots_a_disk_that_prints(tmp_path: Path, interface: str, size: int) -> None:
    image = tmp_path / f"{interface}.img"
    image.write_bytes(boot_sector(tmp_path) + bytes(size - 512))
    before = image.read_bytes()
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(HARNESS))
    result = subprocess.run([sys.executable, "-m", "lptrig", "run", "--drive",
                             f"{image},if={interface}", "--chain", "printer@0,printer@end",
                             "--out", str(out), "--vcd", str(tmp_path / "cable.vcd")],
                            env=env, stdin=subprocess.DEVNULL, capture_output=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert MESSAGE.decode() in result.stdout.decode()
    assert (out / "printer@end.bin").read_bytes() == MESSAGE
    assert (out / "printer@0.bin").read_bytes() == b""   # no 1284.3 select: the end device
    assert b"the guest console closed" in result.stderr
    assert f"lptrig: printer@end: {out}/printer@end.bin".encode() in result.stderr
    assert (tmp_path / "cable.vcd").stat().st_size > 0
    assert image.read_bytes() == before
