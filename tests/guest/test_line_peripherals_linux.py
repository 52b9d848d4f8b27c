"""Guest: the line-level peripherals with Debian's own drivers, which we did
not write: ``plip`` over a LapLink cable between two VMs, ``i2c-parport``
with ``at24`` and ``lm75`` on QEMU's I2C devices, ``pps_parport``.

Nothing here waits a fixed time: every wait is for a condition (a guest
file, sysfs, a QOM property) with a generous deadline.
"""

import re
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest

from driver_checks import WAIT_SECONDS, wait_guest
from lptrig import qmp
from lptrig.chain import Chain, Peer, Peripheral
from lptrig.console import PROMPT
from lptrig.machine import READY, Machine

pytestmark = pytest.mark.guest

# -- PLIP over a LapLink cable -----------------------------------------------

#: PLIP's handshake waits, in polls of about 1 us (defaults 500 and 3000):
#: two real PCs answer in microseconds, two TCG VMs on a busy host in up to
#: milliseconds, and with both cores loaded (stress-ng --cpu 2) one VM may
#: wait tens of ms for a CPU while the other polls (20 ms lost a packet):
#: raise them, as the PLIP HOWTO does for slow machines, to the most the
#: ioctl takes (65535, about 65 ms).
PLIP_WAITS = "nibble 65000 trigger 65000"
#: tries per ping: PLIP drops a packet whose far end misses even those
#: waits (a host that starves a VM for longer), and ping does not resend
PING_TRIES = 3
#: the file sent through PLIP: enough for byte-exactness over many packets
#: (bench/ is where speed is measured)
PLIP_FILE_KIB = 64


def plip_pair(make_machine: Callable[..., Machine],
              tmp_path: Path) -> Tuple[Machine, Machine]:
    sock = tmp_path / "laplink.sock"
    vms = []
    for me, other, listen in ((1, 2, True), (2, 1, False)):
        vm = make_machine(Chain.parse("laplink@end", peer=Peer(sock, listen)),
                          modules="parport_pc,plip")
        plip_up(vm, me, other)
        vms.append(vm)
    return vms[0], vms[1]


def plip_up(vm: Machine, me: int, other: int) -> None:
    vm.console.check(f"plipconfig plip0 {PLIP_WAITS} && ip link set plip0 up && "
                     f"ip addr add 10.0.0.{me} peer 10.0.0.{other} dev plip0")
    assert f"plip0 {PLIP_WAITS}" in vm.console.check("plipconfig plip0")


def ping(vm: Machine, other: int, count: int, timeout: float = 300) -> Tuple[int, str]:
    """``(answered, output)`` of ``count`` pings of 10.0.0.<other>, each
    waited for up to 10 s and sent again up to PING_TRIES times in all.

    One ``ping -c 1`` per packet: after the last packet of ``ping -c N``
    busybox waits only twice the longest round trip so far for its reply,
    and under TCG on a loaded machine PLIP's round trips vary more than
    that (a reply at 1.1 s after round trips of 250 ms counted as lost).
    A resend is reported (``resent N``), not a failure: PLIP drops a packet
    whose far end misses its handshake waits, as on real hardware.
    """
    result = vm.console.run(
        f"n=0; r=0; for i in $(seq {count}); do t=0; ok=0; "
        f"while [ $t -lt {PING_TRIES} ]; do t=$((t+1)); "
        f"if ping -c 1 -W 10 10.0.0.{other} | grep 'bytes from'; then ok=1; break; fi; "
        f"done; r=$((r+t-1)); [ $ok = 1 ] && n=$((n+1)); done; "
        f"echo \"resent $r\"; "
        f"echo \"{count} packets transmitted, $n packets received\"", timeout)
    match = re.search(r"(\d+) packets transmitted, (\d+) packets received", result.output)
    assert match, result.output
    assert int(match.group(1)) == count
    return int(match.group(2)), result.output


def test_plip_ping_and_a_file_between_two_vms(make_machine: Callable[..., Machine],
                                              tmp_path: Path,
                                              record_property: Callable[[str, object], None]
                                              ) -> None:
    a, b = plip_pair(make_machine, tmp_path)
    for vm, other in ((a, 2), (b, 1)):
        received, output = ping(vm, other, 20)
        assert received == 20, output                       # 0 % loss, both ways

    # 64 KiB of random bytes (some 45 full-size packets) from b to a with
    # busybox nc, checksummed on both sides: byte-exact through PLIP and TCP
    size = PLIP_FILE_KIB << 10
    sent = b.console.check(f"dd if=/dev/urandom of=/tmp/f bs=1024 count={PLIP_FILE_KIB} "
                           "2>/dev/null && sha256sum /tmp/f").split()[0]
    # nc's stdin a pipe that never ends: the console is the shell's, and a
    # background job reading it would stop (SIGTTIN)
    a.console.check("sleep 86400 | nc -l -p 5000 > /tmp/g &")
    # until it listens on port 5000 (0x1388; state 0A, IPv4 or IPv6)
    wait_guest(a, "grep -qE ':1388 [0-9A-F]+:0000 0A' /proc/net/tcp /proc/net/tcp6")
    start = time.monotonic()
    b.console.check("nc 10.0.0.1 5000 < /tmp/f", timeout=4 * WAIT_SECONDS)
    wait_guest(a, f'[ "$(wc -c < /tmp/g)" -ge {size} ]', seconds=4 * WAIT_SECONDS)
    seconds = time.monotonic() - start
    got = a.console.check("wc -c < /tmp/g; sha256sum /tmp/g").split()
    assert got[0] == str(size) and got[1] == sent
    a.console.check("kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; true")
    record_property("plip_bytes_per_s", size / seconds)           # not asserted
    print(f"PLIP: {PLIP_FILE_KIB} KiB in {seconds:.1f} s, {size / seconds / 1024:.1f} KiB/s")


def test_plip_cable_unplugged_and_back(make_machine: Callable[..., Machine],
                                       tmp_path: Path) -> None:
    a, b = plip_pair(make_machine, tmp_path)
    assert ping(b, 1, 3)[0] == 3

    # Pull a's end of the cable: both sides lose the link, cleanly
    a.qmp().command("device_del", id="laplink-end")
    for vm, other in ((b, 1), (a, 2)):
        result = vm.console.run(f"ping -c 3 -W 1 10.0.0.{other}", 60)
        assert result.status != 0 and "0 packets received" in result.output, result.output
    # Plug it back: PLIP finds the far end idle again and recovers
    a.qmp().command("device_add", driver="ieee1284-laplink", id="laplink-end",
                    bus="lpt0.0", chardev="chain-end")
    assert recovered(b, 1)
    assert ping(a, 2, 5)[0] == 5


def test_plip_peer_quits_and_comes_back(make_machine: Callable[..., Machine],
                                        tmp_path: Path) -> None:
    a, b = plip_pair(make_machine, tmp_path)
    assert ping(a, 2, 3)[0] == 3
    b.shutdown()                                # the far VM is gone
    result = a.console.run("ping -c 3 -W 1 10.0.0.2", 60)
    assert result.status != 0 and "0 packets received" in result.output, result.output
    # A new VM on the same socket: the cable works again
    c = make_machine(Chain.parse("laplink@end", peer=Peer(tmp_path / "laplink.sock")),
                     modules="parport_pc,plip")
    plip_up(c, 2, 1)
    assert recovered(a, 2)
    assert ping(c, 1, 5)[0] == 5


def recovered(vm: Machine, other: int, attempts: int = 10) -> bool:
    """PLIP resets its link once it sees the far end idle: some pings may
    go before that; then every one must come back."""
    for _ in range(attempts):
        if ping(vm, other, 1)[0] == 1:
            return ping(vm, other, 5)[0] == 5
    return False


# -- i2c-parport -------------------------------------------------------------

I2C_MODULES = "parport_pc,i2c-parport,i2c-dev,at24,lm75"
I2C_APPEND = "i2c_parport.type=0"
SYS_I2C = "/sys/bus/i2c/devices"


def i2c_bus(vm: Machine) -> int:
    """The number of i2c-parport's bus, from sysfs."""
    out = vm.console.check("grep -l 'Parallel port adapter' /sys/class/i2c-adapter/*/name")
    match = re.search(r"i2c-(\d+)/name", out)
    assert match, out
    return int(match.group(1))


def i2cdetect(vm: Machine, bus: int) -> List[int]:
    out = vm.console.check(f"i2cdetect -y {bus}")
    found = []
    for line in out.splitlines()[1:]:
        row, _, cells = line.partition(":")
        for i, cell in enumerate(cells.split()):
            if cell not in ("--", ""):
                found.append(int(row, 16) + i)
    return found


def bind_devices(vm: Machine, bus: int) -> None:
    vm.console.check(f"echo 24c32 0x50 > {SYS_I2C}/i2c-{bus}/new_device && "
                     f"echo tmp105 0x48 > {SYS_I2C}/i2c-{bus}/new_device")
    vm.console.check(f"test -e {SYS_I2C}/{bus}-0050/eeprom")


def hwmon_temp(vm: Machine, bus: int) -> int:
    return int(vm.console.check(f"cat {SYS_I2C}/{bus}-0048/hwmon/hwmon*/temp1_input"))


def test_i2c_parport_eeprom_and_temperature(make_machine: Callable[..., Machine]) -> None:
    vm = make_machine(Chain.parse("i2c@end"), modules=I2C_MODULES, extra_append=I2C_APPEND,
                      reboot=True)
    bus = i2c_bus(vm)
    # Exactly the two devices on the bus, found bit by bit through the port
    assert i2cdetect(vm, bus) == [0x48, 0x50]
    bind_devices(vm, bus)
    eeprom = f"{SYS_I2C}/{bus}-0050/eeprom"

    # at24 writes through the port; its data reads back through at24 and raw
    text = "lptrig-i2c-0123456789"
    vm.console.check(f"printf '{text}' | dd of={eeprom} bs=1 seek=300 conv=notrunc "
                     "2>/dev/null")
    assert vm.console.check(f"dd if={eeprom} bs=1 skip=300 count={len(text)} "
                            "2>/dev/null") == text
    raw = vm.console.check(f"i2ctransfer -f -y {bus} w2@0x50 0x01 0x2c r{len(text)}")
    assert bytes(int(x, 16) for x in raw.split()) == text.encode()
    # i2cset-style raw writes (address 0x0100, then data) read back through at24
    vm.console.check(f"i2ctransfer -f -y {bus} w6@0x50 0x01 0x00 0xde 0xad 0xbe 0xef")

    def raw_written() -> List[str]:
        return vm.console.check(f"dd if={eeprom} bs=1 skip=256 count=4 2>/dev/null "
                                "| od -An -tx1").split()
    # (a real EEPROM is busy for its write cycle: read until it answers)
    assert wait_for(lambda: raw_written() == ["de", "ad", "be", "ef"]), raw_written()
    # and both are in the EEPROM's backing file on the host
    image = Path(vm.chain.output_files(vm.rundir)["i2c@end"]).read_bytes()
    assert image[256:260] == b"\xde\xad\xbe\xef"
    assert image[300:300 + len(text)] == text.encode()
    assert image[:256] == b"\xff" * 256

    # lm75 reports what the host sets on the tmp105, two values, both seen
    for millideg in (23_500, -7_500):
        qmp.qom_set(vm.qmp(), "/machine/peripheral/tmp105", "temperature", millideg)
        assert wait_for(lambda: hwmon_temp(vm, bus) == millideg), hwmon_temp(vm, bus)

    # A guest reboot in the same QEMU run: the EEPROM keeps its bytes
    vm.console.send("reboot -f\n")
    vm.console.expect(READY, 120)
    vm.console.expect(re.escape(PROMPT), 120)     # the new shell reads commands
    bus = i2c_bus(vm)
    bind_devices(vm, bus)
    assert vm.console.check(f"dd if={SYS_I2C}/{bus}-0050/eeprom bs=1 skip=300 "
                            f"count={len(text)} 2>/dev/null") == text


def test_i2c_clock_stretching_with_linux(make_machine: Callable[..., Machine]) -> None:
    """i2c-algo-bit reads SCL back (nFault) and waits while a device
    stretches it: 200 us per clock, and every byte still right."""
    chain = Chain((Peripheral("i2c", None, (("stretch-ns", "200000"),)),))
    vm = make_machine(chain, modules=I2C_MODULES, extra_append=I2C_APPEND)
    bus = i2c_bus(vm)
    assert i2cdetect(vm, bus) == [0x48, 0x50]
    qmp.qom_set(vm.qmp(), "/machine/peripheral/tmp105", "temperature", 42_000)
    bind_devices(vm, bus)
    assert wait_for(lambda: hwmon_temp(vm, bus) == 42_000)
    assert "timeout" not in vm.console.check("dmesg | grep -i i2c || true").lower()


def wait_for(cond: Callable[[], bool], timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return False


# -- pps_parport -----------------------------------------------------------

#: how far the mean period between two sampled assert timestamps may be
#: from the period, in ns.  The edge is exact in virtual time; the guest
#: stamps it when its interrupt handler runs, which under TCG on a busy host
#: is late by anything from microseconds to, on a loaded host, tens of ms
#: (docs/peripherals.md, "PPS source").  Over PPS_SPAN periods the two stamps' lateness
#: counts once: 20 ms on the mean allows 240 ms between them; a wrong
#: period (by a tenth) is still far outside.
PPS_TOLERANCE_NS = 20_000_000
#: periods between the first and the last sampled assert
PPS_SPAN = 12
PPS_ASSERT = "/sys/class/pps/pps0/assert"


def pps_asserts(vm: Machine, span: int) -> Dict[int, int]:
    """Assert timestamps (ns) by sequence number, sampled until the sampled
    sequence numbers are ``span`` apart (at most WAIT_SECONDS of guest time).
    The stamp already there when sampling starts is not one of them: it may
    be from before the guest's clock was set (a guest restored from a
    snapshot has its wall clock stepped to the host's as it resumes)."""
    out = vm.console.check(
        f"first=; read last < {PPS_ASSERT}; i=0; while [ $i -lt {WAIT_SECONDS * 20} ]; do "
        f"read v < {PPS_ASSERT}; "
        'if [ "$v" != "$last" ]; then echo "$v"; last=$v; s=${v#*#}; '
        '[ -z "$first" ] && [ "$s" != 0 ] && first=$s; '
        f'[ -n "$first" ] && [ $((s - first)) -ge {span} ] && break; fi; '
        "i=$((i+1)); sleep 0.05; done", timeout=4 * WAIT_SECONDS)
    stamps: Dict[int, int] = {}
    for line in out.split():
        stamp, _, seq = line.partition("#")
        sec, _, frac = stamp.partition(".")
        if int(seq):
            stamps[int(seq)] = int(sec) * 10**9 + int(frac)
    return stamps


def assert_seq(vm: Machine) -> int:
    return int(vm.console.check(f"cat {PPS_ASSERT}").split("#")[1])


def test_pps_parport_assert_every_period(make_machine: Callable[..., Machine]) -> None:
    period = 250_000_000
    chain = Chain((Peripheral("pps", None, (("period-ns", str(period)),)),))
    vm = make_machine(chain, modules="parport_pc,pps_parport",
                      extra_append="pps_parport.clear_wait=0")
    assert "pps_parport: attached to parport0" in vm.console.check("dmesg | grep pps_parport")
    stamps = pps_asserts(vm, PPS_SPAN)
    seqs = sorted(stamps)
    first, last = seqs[0], seqs[-1]
    assert last - first >= PPS_SPAN, stamps
    for s0, s1 in zip(seqs, seqs[1:]):
        assert stamps[s1] > stamps[s0], stamps          # one assert after another
    mean = (stamps[last] - stamps[first]) / (last - first)
    assert abs(mean - period) <= PPS_TOLERANCE_NS, (mean, stamps)

    # The pulse fault: the assert counter stops; cleared, it goes on
    mon = vm.qmp()
    pps = "/machine/peripheral/pps-end"
    qmp.qom_set(mon, pps, "no-ack", True)
    pulses = qmp.qom_get(mon, pps, "pulses")
    # Two periods of guest time: a pulse given before the knob is stamped
    # by now; in six more periods of guest time none comes (the device
    # counts none either)
    stopped = vm.console.check(f"sleep 0.5; cat {PPS_ASSERT}")
    assert vm.console.check(f"sleep 1.5; cat {PPS_ASSERT}") == stopped
    assert qmp.qom_get(mon, pps, "pulses") == pulses
    qmp.qom_set(mon, pps, "no-ack", False)
    seq = int(stopped.split("#")[1])
    wait_guest(vm, f'{{ read v < {PPS_ASSERT}; [ "${{v#*#}}" -ge {seq + 3} ]; }}')
    assert assert_seq(vm) >= seq + 3
    assert qmp.qom_get(mon, pps, "pulses") >= pulses + 3
