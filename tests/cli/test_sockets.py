"""QEMU's sockets (console, QMP, qtest) need paths of at most 108 bytes: a
run directory too deep for them gets a short socket directory, also when
$TMPDIR is deep itself (pytest's base temp, a CI workspace)."""

import tempfile
from pathlib import Path

import pytest

from lptrig import paths


@pytest.mark.parametrize("tmpdir_depth", [0, 2])
def test_socket_paths_stay_short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 tmpdir_depth: int) -> None:
    deep = tmp_path
    for _ in range(tmpdir_depth):
        deep = deep / ("d" * 60)
    deep.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("TMPDIR", str(deep))
    monkeypatch.setattr(tempfile, "tempdir", None)      # re-read TMPDIR
    rundir = deep / ("r" * 80)
    sockdir = paths.socket_dir(rundir)
    assert sockdir is not None and sockdir.is_dir()
    try:
        assert len(str(sockdir / "console.sock")) <= 100, sockdir
    finally:
        sockdir.rmdir()
    assert paths.socket_dir(tmp_path / "r") is None     # short: the run directory
