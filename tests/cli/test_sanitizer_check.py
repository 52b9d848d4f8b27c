"""make test SANITIZE=1: what counts as a sanitizer report (tests/conftest.py)."""

from pathlib import Path

import pytest

import conftest


def test_reports_are_errors_not_the_swapcontext_warning(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LPTRIG_SANITIZER_LOGS", str(tmp_path))
    (tmp_path / "report.1").write_text(
        "==1==WARNING: ASan doesn't fully support makecontext/swapcontext functions "
        "and may produce false positives in some cases!\n")
    assert conftest._sanitizer_reports() == set()
    (tmp_path / "report.2").write_text(
        "==2==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6020\n")
    (tmp_path / "report.3").write_text(
        "../hw/char/lpt1284.c:42:5: runtime error: shift exponent 40 is too large\n")
    (tmp_path / "other.4").write_text("==4==ERROR: AddressSanitizer: SEGV\n")
    assert conftest._sanitizer_reports() == {tmp_path / "report.2", tmp_path / "report.3"}
    monkeypatch.delenv("LPTRIG_SANITIZER_LOGS")
    assert conftest._sanitizer_reports() == set()
