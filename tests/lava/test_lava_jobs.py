"""The LAVA job definitions in lava/, checked with LAVA's own code.

- every job validates with LAVA's job schema (lava_common.schemas.validate,
  strict: what lava-server runs on a submission), and broken copies of it do
  not (missing timeouts, an unknown action, a deploy without ``to``, a
  context variable LAVA does not know, a test definition without a name);
- the chain on each job's QEMU command line is exactly the rig's for the
  job's chain spec, each peripheral's output file is one the job deploys
  (so it is in the job's own directory), each printer has its paper port,
  and the committed files are what lptrig.lava writes;
- with lava-dispatcher (scripts/deps.sh lava): the dispatcher's JobParser
  builds and validates each job's pipeline offline against the device
  dictionary lava/devices/lptrig-qemu01.jinja2 rendered with lava-server's
  own templates, and rejects broken jobs the schema lets through;
- as root, with the build products: lava-run runs both jobs on this
  machine, lptrig's QEMU and all, and every test case passes - the print
  cases compare what each printer got (back on its paper port) with what
  was printed - each printer logs exactly the bytes it should have got,
  and QEMU wrote every output file into that job's own directory.
"""

import copy
import hashlib
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
import yaml

from lptrig import lava, paths
from lptrig.chain import Chain
from lptrig.machine import Machine

JOB_FILES = sorted(lava.LAVA_DIR.glob("*.yaml"))


def load(path: Path) -> Dict[str, Any]:
    return yaml.safe_load(path.read_text())


def test_every_job_file_has_a_definition() -> None:
    assert [p.stem for p in JOB_FILES] == sorted(d.stem for d in lava.JOBS)


@pytest.mark.parametrize("path", JOB_FILES, ids=lambda p: p.name)
def test_job_validates_with_lava_schema(path: Path) -> None:
    assert lava.schema_errors(load(path)) == []


@pytest.mark.parametrize("definition", lava.JOBS, ids=lambda d: d.stem)
def test_job_file_is_what_the_generator_writes(definition: lava.JobDef) -> None:
    path = lava.LAVA_DIR / f"{definition.stem}.yaml"
    assert path.read_text() == lava.job_text(definition), \
        "regenerate with: PYTHONPATH=harness python3 -m lptrig.lava write"


def qemu_words(data: Dict[str, Any], job_dir: str) -> List[str]:
    """The words LAVA puts on QEMU's command line after the device's own
    options: the job's extra_options, then each image's image_arg with
    {label} the path of the image's copy in the job's directory."""
    images = data["actions"][0]["deploy"]["images"]
    words = lava.split_extra_options(data["context"]["extra_options"])
    for name, image in images.items():
        arg = image["image_arg"]
        for other in images:
            arg = arg.replace("{" + other + "}", f"{job_dir}/{other}/{Path(images[other]['url']).name}")
        words += shlex.split(arg)
    return words


@pytest.mark.parametrize("path", JOB_FILES, ids=lambda p: p.name)
def test_chain_on_qemu_command_line_is_the_rigs(path: Path) -> None:
    """The rig's chain, word for word, except where each peripheral's
    bytes go: into a copy of an image the job deploys (in the job's own
    directory), for a printer through a socket whose log is that file and
    whose other end is the guest's paper port."""
    data = load(path)
    chain = Chain.parse(data["metadata"]["lptrig.chain"])
    job_dir = "/var/lib/lava/dispatcher/tmp/JOB/deployimages-x"
    words = qemu_words(data, job_dir)
    rig = chain.qemu_args(Path("/OUT"))
    pairs = list(zip(words[::2], words[1::2]))
    assert [v for o, v in pairs if o == "-device" and not v.startswith("isa-serial")] == \
        [v for o, v in zip(rig[::2], rig[1::2]) if o == "-device"]
    assert words[:2] == ["-device", "isa-lpt1284,id=lpt0,iobase=0x378,irq=7,dma=3"]
    chardevs = {dict(kv.split("=", 1) for kv in v.split(",")[1:])["id"]: v
                for o, v in pairs if o == "-chardev"}
    ports = lava.paper_ports(chain)
    images = data["actions"][0]["deploy"]["images"]
    for option, value in zip(rig[::2], rig[1::2]):
        if option != "-chardev":
            continue
        cid, out = re.fullmatch(r"file,id=([\w-]+),path=/OUT/(\S+)\.bin", value).groups()  # type: ignore
        label = out.replace("@", "_")
        assert images[label]["url"] == lava.EMPTY
        mine = f"{job_dir}/{label}/null"
        if out.startswith("printer@"):
            tag = out.split("@")[1]
            assert chardevs[cid] == (f"socket,id={cid},path={mine}.sock,server=on,wait=off,"
                                     f"logfile={mine}")
            assert chardevs[f"paper-{tag}"] == f"socket,id=paper-{tag},path={mine}.sock"
            assert ("-device", f"isa-serial,chardev=paper-{tag},index={ports[out]}") in pairs
        else:
            assert chardevs[cid] == f"file,id={cid},path={mine}"
    assert set(images) - {"kernel", "ramdisk"} == \
        {name.replace("@", "_") for name in chain.output_files(Path("/OUT"))}


@pytest.mark.parametrize("path", JOB_FILES, ids=lambda p: p.name)
def test_kernel_command_line_is_the_rigs(path: Path) -> None:
    data = load(path)
    images = data["actions"][0]["deploy"]["images"]
    modules = data["metadata"]["lptrig.modules"]
    assert images["kernel"]["image_arg"] == \
        f'-kernel {{kernel}} -append "{lava.kernel_cmdline(modules)}"'
    if (paths.cache_dir() / "qemu" / "qemu-system-x86_64").exists() and \
            paths.image().kernel.exists():
        machine = Machine(Path("/nonexistent"), Chain.parse(data["metadata"]["lptrig.chain"]),
                          modules=modules)
        # the same but for the kernel's console: ttyS0, LAVA's console
        # (the rig's is ttyS1, its kernel.log; COM2 is a paper port there)
        assert " console=ttyS1," in machine.kernel_cmdline()
        assert lava.kernel_cmdline(modules) == \
            machine.kernel_cmdline().replace(" console=ttyS1,", " console=ttyS0,")
    assert images["ramdisk"]["overlays"] == {"lava": True}


def test_render_fills_in_the_placeholders() -> None:
    text = (lava.LAVA_DIR / "user-test.yaml").read_text()
    out = lava.render(text, "https://files.example.org/lptrig/", "https://git.example.org/t.git")
    assert "FILESERVER" not in out and "GITSERVER" not in out
    data = yaml.safe_load(out)
    images = data["actions"][0]["deploy"]["images"]
    assert images["kernel"]["url"] == "https://files.example.org/lptrig/bzImage"
    assert images["ramdisk"]["url"] == "https://files.example.org/lptrig/initramfs.cpio.gz"
    assert data["actions"][2]["test"]["definitions"][0]["repository"] == \
        "https://git.example.org/t.git"
    assert lava.schema_errors(data) == []


def test_example_user_test_definition_validates() -> None:
    from voluptuous import Invalid

    from lava_common.schemas.test import testdef
    data = load(lava.LAVA_DIR / "tests" / "my-test.yaml")
    testdef.validate(data)
    broken = copy.deepcopy(data)
    del broken["metadata"]["format"]
    with pytest.raises(Invalid):
        testdef.validate(broken)


# -- negative: broken copies are rejected by the same check --------------------

def _drop_timeouts(job: Dict[str, Any]) -> None:
    del job["timeouts"]


def _bad_action(job: Dict[str, Any]) -> None:
    job["actions"].append({"deplyo": {"to": "tmpfs"}})


def _deploy_without_to(job: Dict[str, Any]) -> None:
    del job["actions"][0]["deploy"]["to"]


def _unknown_context(job: Dict[str, Any]) -> None:
    job["context"]["extra_option"] = job["context"].pop("extra_options")


def _nameless_test(job: Dict[str, Any]) -> None:
    del job["actions"][2]["test"]["definitions"][0]["name"]


def _boot_method(job: Dict[str, Any]) -> None:
    job["actions"][1]["boot"]["method"] = "qemu-system-x86_64"


def _action_timeout_over_job(job: Dict[str, Any]) -> None:
    job["actions"][2]["test"]["timeout"] = {"hours": 2}


BREAKAGES: Dict[str, Callable[[Dict[str, Any]], None]] = {
    "no timeouts": _drop_timeouts,
    "misspelt action": _bad_action,
    "deploy without to": _deploy_without_to,
    "unknown context variable": _unknown_context,
    "test definition without name": _nameless_test,
    "unknown boot method": _boot_method,
    "action timeout longer than the job": _action_timeout_over_job,
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
@pytest.mark.parametrize("path", JOB_FILES, ids=lambda p: p.name)
def test_broken_job_is_rejected_by_lava_schema(path: Path, breakage: str) -> None:
    job = load(path)
    BREAKAGES[breakage](job)
    assert lava.schema_errors(job) != []


def test_validate_command_fails_on_a_broken_file(tmp_path: Path) -> None:
    job = load(JOB_FILES[0])
    del job["timeouts"]
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(job))
    env = dict(os.environ, PYTHONPATH=str(Path(lava.__file__).parents[1]))
    good = subprocess.run(["/usr/bin/python3", "-m", "lptrig.lava", "validate", str(JOB_FILES[0])],
                          env=env, capture_output=True, text=True)
    bad = subprocess.run(["/usr/bin/python3", "-m", "lptrig.lava", "validate", str(broken)],
                         env=env, capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr
    assert bad.returncode == 1 and "timeouts" in bad.stdout, bad.stdout + bad.stderr


# -- the dispatcher's parser, offline -------------------------------------------

def _dispatcher() -> None:
    if importlib.util.find_spec("lava_dispatcher") is None:
        pytest.fail("lava-dispatcher is not installed: bash scripts/deps.sh lava "
                    "(make test does)", pytrace=False)


def _fake_worker(root: Path) -> Dict[str, Any]:
    """A worker's lptrig build products as the dispatcher's validation sees
    them: files of the right names (it checks they exist), an executable QEMU."""
    (root / "qemu" / "firmware").mkdir(parents=True)
    qemu = root / "qemu" / "qemu-system-x86_64"
    qemu.write_text("#!/bin/sh\nexit 1\n")
    qemu.chmod(0o755)
    images = root / "images"
    images.mkdir()
    for name in lava.ARTIFACTS.values():
        (images / name).write_bytes(b"\0")
    return {"lptrig_cache": str(root), "base": f"file://{images}"}


def _parse(path_or_job: Any, tmp_path: Path, name: str) -> List[str]:
    worker = _fake_worker(tmp_path / f"{name}-worker")
    text = path_or_job.read_text() if isinstance(path_or_job, Path) \
        else yaml.safe_dump(path_or_job, sort_keys=False)
    text = lava.render(text, worker["base"], "https://git.example.org/your-tests.git")
    context = yaml.safe_load(text)["context"]
    device = lava.device_config(context, {"lptrig_cache": worker["lptrig_cache"]})
    return lava.parse_errors(text, device, tmp_path / name)


def test_device_dictionary_renders_lptrigs_qemu_command() -> None:
    _dispatcher()
    data = load(lava.LAVA_DIR / "lptrig-guest-suite.yaml")
    device = yaml.safe_load(lava.device_config(data["context"]))
    qemu = device["actions"]["boot"]["methods"]["qemu"]["parameters"]
    assert qemu["command"] == "/root/.cache/lptrig/qemu/qemu-system-x86_64"
    assert qemu["extra"] == data["context"]["extra_options"]
    assert "-parallel none" in qemu["options"] and "-vga none" in qemu["options"]
    # the console stays COM1 next to the jobs' paper ports
    assert "-serial stdio" in qemu["options"]
    assert "-m 256" in qemu["options"]
    assert not any(o.startswith("-net nic") for o in qemu["options"])


@pytest.mark.parametrize("path", JOB_FILES, ids=lambda p: p.name)
def test_job_parses_with_the_dispatcher(path: Path, tmp_path: Path) -> None:
    _dispatcher()
    assert _parse(path, tmp_path, "job") == []


def _no_prompts(job: Dict[str, Any]) -> None:
    del job["actions"][1]["boot"]["prompts"]


def _arch(job: Dict[str, Any]) -> None:
    job["context"]["arch"] = "amd65"


def _missing_image(job: Dict[str, Any]) -> None:
    job["actions"][0]["deploy"]["images"]["kernel"]["url"] += ".missing"


#: broken jobs that LAVA's schema lets through and its dispatcher rejects
PARSER_BREAKAGES: Dict[str, Callable[[Dict[str, Any]], None]] = {
    "test shell but no boot prompt": _no_prompts,
    "an arch the device does not have": _arch,
    "an image that is not there": _missing_image,
}


@pytest.mark.parametrize("breakage", sorted(PARSER_BREAKAGES))
def test_broken_job_is_rejected_by_the_dispatcher(breakage: str, tmp_path: Path) -> None:
    _dispatcher()
    job = load(lava.LAVA_DIR / "lptrig-guest-suite.yaml")
    PARSER_BREAKAGES[breakage](job)
    assert lava.schema_errors(job) == [], "the schema alone should let this through"
    assert _parse(job, tmp_path, "broken") != []


# -- lava-run runs the jobs ------------------------------------------------------

@pytest.mark.guest
@pytest.mark.parametrize("definition", lava.JOBS, ids=lambda d: d.stem)
def test_lava_run_runs_the_job(definition: lava.JobDef, tmp_path: Path,
                               lptrig_result_dir: Path) -> None:
    """lava-run's own output (lava-run.log, results) goes to the test's
    result directory: kept, and named in the report, when the test fails."""
    _dispatcher()
    if shutil.which("lava-run") is None:
        pytest.fail("no lava-run: bash scripts/deps.sh lava (make test does)", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("lava-run runs as root only (make test runs as root)", pytrace=False)
    image = paths.image()
    base = f"file://{image.kernel.parent}"
    # the user's test from a git repository: the example, in a local one
    repo = tmp_path / "your-tests"
    (repo / "lptrig").mkdir(parents=True)
    shutil.copy(lava.LAVA_DIR / "tests" / "my-test.yaml", repo / "lptrig" / "my-test.yaml")
    git = ["git", "-C", str(repo), "-c", "user.name=lptrig", "-c", "user.email=lptrig@localhost"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "my test"], check=True)

    text = lava.render((lava.LAVA_DIR / f"{definition.stem}.yaml").read_text(), base, str(repo))
    context = yaml.safe_load(text)["context"]
    variables = {"lptrig_cache": str(paths.cache_dir())}
    device = lava.device_config(context, variables)
    # the QEMU the rig runs (LPTRIG_QEMU, SANITIZE=1's) is the one LAVA runs
    device = device.replace(f"{paths.cache_dir()}/qemu/qemu-system-x86_64",
                            str(paths.qemu_binary()))
    job_id = f"{os.getpid()}{len(definition.stem)}"
    result = lava.run_job(text, device, lptrig_result_dir / "lava", job_id)
    log = lptrig_result_dir / "lava" / "lava-run.log"
    assert result.returncode == 0, f"lava-run failed, see {log}"
    assert result.failed() == [], f"see {log}"
    chain = Chain.parse(definition.chain)
    name = definition.definitions(chain, definition.modules)[0]["name"]
    cases = result.cases(f"0_{name}")
    assert cases and set(cases.values()) == {"pass"}, f"{cases}; see {log}"
    if definition.stem == "lptrig-guest-suite":
        steps = lava.guest_suite_steps(chain, definition.modules)
        assert len(cases) == len([s for s in steps if s.startswith("lava-test-case ")])
        paper = lava.guest_suite_paper(chain)
    else:                               # the example test: one line to the end printer
        assert {"paper-port", "print"} <= set(cases), cases
        paper = {"printer@end": b"hello from my test\n"}
    # what each printer got, as the job logged it from its paper port
    got = dict((m.group(1), (int(m.group(2)), m.group(3))) for m in re.finditer(
        r"lptrig-paper (\S+) (\d+) ([0-9a-f]{64})", result.log))
    assert got == {n: (len(b), hashlib.sha256(b).hexdigest()) for n, b in paper.items()}, \
        f"see {log}"
    # every output file was in this job's own directory
    boot = re.search(r"Boot command: (.*?)['\"]?\s*$", result.log, re.MULTILINE)
    assert boot, f"no boot command in {log}"
    outputs = re.findall(r"(?:path|logfile)=([^,\s]+)", boot.group(1))
    assert len(outputs) == 2 * len(paper) + len(chain.output_files(Path("/"))), outputs
    assert all(o.startswith(f"{lava.JOB_FILES_DIR}/{job_id}/") for o in outputs), outputs
