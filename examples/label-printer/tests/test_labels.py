"""Tests of print-label (software/print-label) against virtual printers.

Each test boots lptrig's guest with the chain of its ``lptrig_chain``
marker; ``lptrig_machine`` copies print-label into the guest.  The
fixtures come from lptrig's pytest plugin (installed with pip, or
``-p lptrig.pytest_plugin`` with lptrig's harness on PYTHONPATH).
"""

from pathlib import Path

import pytest

from lptrig import traces

HERE = Path(__file__).resolve().parent.parent
SOFTWARE = [(HERE / "software" / "print-label", "/usr/bin/print-label")]

LABEL = b"LABEL\nparcel 42\n\f"


@pytest.mark.lptrig_chain("printer@end")
@pytest.mark.lptrig_machine(add_files=SOFTWARE)
def test_a_label_reaches_the_printer(lptrig_console, lptrig_outputs):
    out = lptrig_console.check("print-label parcel 42")
    assert out.strip() == "print-label: printed to /dev/lp0"
    assert lptrig_outputs["printer@end"] == LABEL


@pytest.mark.lptrig_chain("printer@0,loopback@1,printer@end")
@pytest.mark.lptrig_machine(modules="lpt1284", add_files=SOFTWARE)
def test_labels_go_to_the_printer_they_are_sent_to(lptrig_console, lptrig_outputs):
    # lptrig's guest driver: /dev/lpt0.N is 1284.3 daisy device N, /dev/lpt0.4
    # the end device; each write selects its device first
    lptrig_console.check("print-label -d /dev/lpt0.0 first; print-label -d /dev/lpt0.4 second")
    assert lptrig_outputs["printer@0"] == b"LABEL\nfirst\n\f"
    assert lptrig_outputs["printer@end"] == b"LABEL\nsecond\n\f"
    assert lptrig_outputs["loopback@1"] == b""


@pytest.mark.lptrig_chain("printer@end")
@pytest.mark.lptrig_machine(add_files=SOFTWARE)
def test_a_label_waits_while_the_printer_is_out_of_paper(lptrig_console, lptrig_outputs,
                                                          lptrig_faults):
    lptrig_faults.set("printer@end", "paper-out", "on")
    lptrig_console.check("print-label parcel 42 > /tmp/job 2>&1 & echo $! > /tmp/job.pid")
    # print-label has /dev/lp0 open and sleeps in the kernel: Linux's lp
    # holds the job while the printer reports paper out
    lptrig_console.check("until for p in /proc/[0-9]*; do ls -l $p/fd 2>/dev/null | "
                         "grep -q /dev/lp0 && grep -q '^State:.*sleeping' $p/status && "
                         "echo $p; done | grep -q .; do sleep 0.1; done", timeout=120)
    assert lptrig_outputs["printer@end"] == b""
    assert lptrig_console.check("kill -0 $(cat /tmp/job.pid) && echo waiting").strip() \
        == "waiting"
    lptrig_faults.set("printer@end", "paper-out", "off")
    lptrig_console.check("wait; cat /tmp/job", timeout=60)
    assert lptrig_outputs["printer@end"] == LABEL


@pytest.mark.lptrig_chain("printer@end")
@pytest.mark.lptrig_machine(add_files=SOFTWARE)
def test_every_byte_is_strobed_once(lptrig_machine, lptrig_console, lptrig_vcd):
    lptrig_console.check("print-label parcel 42")
    lptrig_machine.shutdown()           # QEMU completes the trace when it quits
    trace = traces.read(lptrig_vcd)
    strobed = bytes(sum(trace.level(f"D{bit}", t) << bit for bit in range(8))
                    for t, level in trace.signals["nStrobe"] if level == 0 and t > 0)
    # the last bytes strobed onto the cable are the label's, each once
    # (before it, the IEEE 1284 negotiations of the boot's device ID reads)
    assert strobed.endswith(LABEL)
    assert strobed.count(b"parcel 42") == 1


@pytest.mark.lptrig_chain("printer@end")
def test_qemu_sees_the_chain(lptrig_qmp):
    tree = lptrig_qmp.command("human-monitor-command", **{"command-line": "info qtree"})
    assert "dev: ieee1284-printer, id \"printer-end\"" in tree


@pytest.mark.demo_failure
@pytest.mark.lptrig_chain("printer@end")
@pytest.mark.lptrig_machine(add_files=SOFTWARE)
def test_deliberately_failing(lptrig_console, lptrig_outputs):
    """Fails on purpose (run with -m demo_failure): its result directory is
    kept and named in the report."""
    lptrig_console.check("print-label parcel 42")
    assert lptrig_outputs["printer@end"] == b"LABEL\nparcel 43\n\f"
