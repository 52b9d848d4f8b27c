"""Fault-injection experiments, declared in TOML files.

    python3 -m lptrig experiment FILE.toml [FILE.toml ...] [--out DIR]

An experiment names a chain, the guest modules, files to put in the
guest, faults set at start, a sequence of steps (guest commands, faults
set at run time, waits for time or for bytes a device received) and what
must come out.  Every experiment runs in its own VM (several in
parallel), is checked, and leaves a results directory: result.json, a
one-screen table.txt, console.log, qemu.log, each peripheral's output and
the cable trace (cable.vcd).  The format is in experiments/README.md.
"""

import concurrent.futures
import json
import random
import re
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from . import faults, qmp
from .chain import Chain
from .errors import LptrigError
from .machine import Machine

TOP_KEYS = {"name", "description", "chain", "modules", "timeout", "files", "faults",
            "steps", "expect"}
STEP_KEYS = {"run", "status", "output_has", "output_lacks", "background", "set",
             "wait", "wait_bytes", "timeout"}
EXPECT_KEYS = {"outputs", "counters", "dmesg_has", "dmesg_lacks",
               "corrupted_bytes_match"}


class ExperimentError(LptrigError):
    """A malformed experiment file: the message names the file and line."""


def _where(path: Path, text: str, key: str) -> str:
    """``path:line`` of the first line that mentions ``key``."""
    for lineno, line in enumerate(text.splitlines(), 1):
        if re.search(rf"(^|[^\w-])['\"]?{re.escape(key)}['\"]?\s*=|"
                     rf"\[+\s*{re.escape(key)}\s*\]+", line):
            return f"{path}:{lineno}"
    return str(path)


@dataclass
class Experiment:
    """One parsed experiment file."""

    path: Path
    name: str
    chain: Chain
    modules: str
    timeout: float
    files: List[Dict[str, Any]]
    steps: List[Dict[str, Any]]
    expect: Dict[str, Any]


def load(path: Path) -> Experiment:
    """Parse and check ``path``; one ExperimentError naming file and line."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ExperimentError(f"{path}: cannot read it: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentError(f"{path}: not valid TOML: {exc}") from None

    def bad(key: str, message: str) -> ExperimentError:
        return ExperimentError(f"{_where(path, text, key)}: {message}")

    for key in data:
        if key not in TOP_KEYS:
            raise bad(key, f"unknown key {key!r} (known: {', '.join(sorted(TOP_KEYS))})")
    for key in ("name", "chain"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise bad(key, f"{key!r} must be a non-empty string")
    try:
        chain = Chain.parse(data["chain"])
        chain = faults.apply(chain, data.get("faults", []))
    except LptrigError as exc:
        raise bad("faults" if "fault" in str(exc) else "chain", str(exc)) from None
    timeout = data.get("timeout", 120)
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise bad("timeout", "'timeout' must be seconds above 0")
    files = data.get("files", [])
    for item in files:
        if not (isinstance(item, dict) and isinstance(item.get("guest"), str)
                and item["guest"].startswith("/") and isinstance(item.get("size"), int)
                and item["size"] > 0):
            raise bad("files", "each [[files]] needs guest = \"/absolute/path\" and "
                               "size = bytes above 0 (and may have seed = N)")
    steps = data.get("steps", [])
    if not steps:
        raise bad("steps", "an experiment needs at least one [[steps]]")
    names = {p.name for p in chain.peripherals}
    for step in steps:
        for key in step:
            if key not in STEP_KEYS:
                raise bad(key, f"unknown step key {key!r} (known: "
                               f"{', '.join(sorted(STEP_KEYS))})")
        kinds = [k for k in ("run", "set", "wait", "wait_bytes") if k in step]
        if len(kinds) != 1:
            raise bad(kinds[1] if len(kinds) > 1 else "steps",
                      "each [[steps]] does one of run, set, wait, wait_bytes")
        if "set" in step:
            try:
                faults.parse(step["set"])
            except LptrigError as exc:
                raise bad("set", str(exc)) from None
        if "wait_bytes" in step:
            wb = step["wait_bytes"]
            if not (isinstance(wb, dict) and wb.get("device") in names
                    and isinstance(wb.get("bytes"), int)):
                raise bad("wait_bytes", "wait_bytes = { device = \"KIND@ADDR\" on the "
                                        "chain, bytes = N }")
    expect = data.get("expect", {})
    for key in expect:
        if key not in EXPECT_KEYS:
            raise bad(key, f"unknown expect key {key!r} (known: "
                           f"{', '.join(sorted(EXPECT_KEYS))})")
    for device in list(expect.get("outputs", {})) + list(expect.get("counters", {})):
        if device not in names:
            raise bad(device, f"{device!r} is not on the chain ({', '.join(sorted(names))})")
    guest_files = {f["guest"] for f in files}
    for device, src in expect.get("outputs", {}).items():
        if not isinstance(src, str) or (src not in guest_files and
                                        not src.startswith("text:")):
            raise bad(device, f"outputs: {src!r} is neither a [[files]] guest path "
                              "nor \"text:...\"")
    return Experiment(path, data["name"], chain, str(data.get("modules", "lpt1284")),
                      float(timeout), files, steps, expect)


@dataclass
class Outcome:
    """What one experiment gave."""

    name: str
    passed: bool = True
    checks: List[Dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    results: Optional[Path] = None

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        self.checks.append({"check": what, "ok": bool(ok), "detail": detail})
        self.passed &= bool(ok)


def _make_files(exp: Experiment, outdir: Path) -> Dict[str, bytes]:
    made = {}
    for i, item in enumerate(exp.files):
        data = random.Random(item.get("seed", i)).randbytes(item["size"])
        made[item["guest"]] = data
        (outdir / f"file{i}.bin").write_bytes(data)
    return made


def _counters(vm: Machine, device: str) -> Dict[str, int]:
    qom_id = next(p.qom_id for p in vm.chain.peripherals if p.name == device)
    return {k: qmp.qom_get(vm.qmp(), f"/machine/peripheral/{qom_id}", k)
            for k in ("received", "dropped", "corrupted")}


def run(exp: Experiment, outdir: Path) -> Outcome:
    """Run one experiment in its own VM; results go to ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    outcome = Outcome(exp.name, results=outdir)
    files = _make_files(exp, outdir)
    vcd = outdir / "cable.vcd"
    chain = Chain(exp.chain.peripherals, props={**exp.chain.props, "trace-vcd": str(vcd)})
    vm = Machine(outdir, chain, modules=exp.modules,
                 add_files=[(outdir / f"file{i}.bin", item["guest"])
                            for i, item in enumerate(exp.files)])
    start = time.monotonic()
    try:
        vm.start()
        vm.wait_ready(300)
        for n, step in enumerate(exp.steps, 1):
            _step(vm, exp, step, n, outcome)
        dmesg = vm.console.run("dmesg", 60).output
        _expect(vm, exp, files, dmesg, outcome)
    except LptrigError as exc:
        outcome.check("the experiment ran to its end", False, str(exc).splitlines()[0])
    finally:
        vm.shutdown()
        outcome.seconds = time.monotonic() - start
    try:
        vm.check_console()
        outcome.check("no BUG, Oops, WARNING or hung task on the console", True)
    except LptrigError as exc:
        outcome.check("no BUG, Oops, WARNING or hung task on the console", False,
                      str(exc).splitlines()[-1])
    _write(outcome, outdir)
    return outcome


def _step(vm: Machine, exp: Experiment, step: Dict[str, Any], n: int,
          outcome: Outcome) -> None:
    timeout = float(step.get("timeout", exp.timeout))
    if "wait" in step:
        time.sleep(float(step["wait"]))
    elif "set" in step:
        name, knob, value = faults.parse(step["set"])
        qom_id = next(p.qom_id for p in vm.chain.peripherals if p.name == name)
        qmp_value: Any = value
        if value in ("on", "off"):
            qmp_value = value == "on"
        elif re.fullmatch(r"-?\d+", value):
            qmp_value = int(value)
        qmp.qom_set(vm.qmp(), f"/machine/peripheral/{qom_id}", knob, qmp_value)
    elif "wait_bytes" in step:
        device, want = step["wait_bytes"]["device"], step["wait_bytes"]["bytes"]
        deadline = time.monotonic() + timeout
        while _counters(vm, device)["received"] < want:
            if time.monotonic() > deadline:
                raise LptrigError(f"step {n}: {device} did not receive {want} bytes "
                                  f"within {timeout:g} s")
            time.sleep(0.05)
    elif step.get("background"):
        vm.console.check(f"( {step['run']} ) > /tmp/step{n}.out 2>&1 &", 30)
    else:
        cmd = step["run"]
        result = vm.console.run(cmd, timeout)
        label = f"step {n} `{cmd[:40]}`"
        if "status" in step:
            outcome.check(f"{label}: exit status {step['status']}",
                          result.status == step["status"], f"got {result.status}")
        for text in step.get("output_has", []):
            outcome.check(f"{label}: prints {text!r}", text in result.output,
                          result.output.strip()[-200:])
        for text in step.get("output_lacks", []):
            outcome.check(f"{label}: does not print {text!r}", text not in result.output)


def _expect(vm: Machine, exp: Experiment, files: Dict[str, bytes], dmesg: str,
            outcome: Outcome) -> None:
    """Check what came out, while the VM still runs (counters are QOM's)."""
    outputs = {p.name: (vm.rundir / f"{p.name}.bin") for p in vm.chain.peripherals}

    def got(device: str) -> bytes:
        return outputs[device].read_bytes() if outputs[device].exists() else b""

    for device, src in exp.expect.get("outputs", {}).items():
        want = src[5:].encode() if src.startswith("text:") else files[src]
        data = got(device)
        if exp.expect.get("corrupted_bytes_match"):
            # A flaky cable: same length, and exactly the bytes the device
            # counted as corrupted differ
            corrupted = _counters(vm, device)["corrupted"]
            diff = sum(1 for a, b in zip(data, want) if a != b)
            outcome.check(f"{device} received {len(want)} bytes, {corrupted} corrupted",
                          len(data) == len(want) and diff == corrupted,
                          f"got {len(data)} bytes, {diff} differ")
        else:
            outcome.check(f"{device} received exactly {len(want)} bytes", data == want,
                          f"got {len(data)} bytes")
    for device, expected in exp.expect.get("counters", {}).items():
        actual = _counters(vm, device)
        for key, value in expected.items():
            if isinstance(value, str) and value.startswith(">="):
                ok = actual.get(key, -1) >= int(value[2:])
            else:
                ok = actual.get(key) == value
            outcome.check(f"{device} counter {key} {value}", ok, f"got {actual.get(key)}")
    for text in exp.expect.get("dmesg_has", []):
        outcome.check(f"dmesg shows {text!r}", text in dmesg)
    for text in exp.expect.get("dmesg_lacks", []):
        outcome.check(f"dmesg does not show {text!r}", text not in dmesg)


def _write(outcome: Outcome, outdir: Path) -> None:
    (outdir / "result.json").write_text(json.dumps({
        "name": outcome.name, "passed": outcome.passed, "seconds": round(outcome.seconds, 2),
        "checks": outcome.checks}, indent=2) + "\n")
    lines = [f"{outcome.name}: {'PASS' if outcome.passed else 'FAIL'} "
             f"({outcome.seconds:.1f} s)"]
    for c in outcome.checks:
        lines.append(f"  {'ok  ' if c['ok'] else 'FAIL'}  {c['check']}"
                     + (f"  ({c['detail']})" if c["detail"] and not c["ok"] else ""))
    (outdir / "table.txt").write_text("\n".join(lines) + "\n")


def run_all(paths: Sequence[Path], out: Path, jobs: int = 2) -> List[Outcome]:
    """Load every file first (a bad one stops everything), then run them in
    parallel VMs; each gets ``out/<file stem>/``."""
    experiments = [load(Path(p)) for p in paths]
    stems = [e.path.stem for e in experiments]
    if len(set(stems)) != len(stems):
        raise ExperimentError("two experiment files have the same name: "
                              f"{', '.join(sorted(stems))}")
    out.mkdir(parents=True, exist_ok=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(run, e, out / e.path.stem) for e in experiments]
        return [f.result() for f in futures]
