"""The fault matrices' tables, at the end of the test run (also under
pytest-xdist: each test records its row as a user property)."""

from typing import Dict, List

import pytest


def pytest_terminal_summary(terminalreporter: "pytest.TerminalReporter") -> None:
    tables: Dict[str, Dict[str, Dict[str, str]]] = {}
    for report in terminalreporter.stats.get("passed", []) + \
            terminalreporter.stats.get("failed", []):
        for name, value in getattr(report, "user_properties", []):
            if name == "fault_matrix_row":
                table, knob, row = value
                tables.setdefault(table, {})[knob] = row
    for table, rows in sorted(tables.items()):
        ops: List[str] = list(next(iter(rows.values())))
        terminalreporter.write_sep("=", f"fault matrix: {table}")
        width = max(len(k) for k in rows)
        cols = [max(len(op), *(len(r.get(op, "")) for r in rows.values())) for op in ops]
        terminalreporter.write_line(" " * width + "  " + "  ".join(
            op.ljust(c) for op, c in zip(ops, cols)))
        for knob in sorted(rows):
            terminalreporter.write_line(knob.ljust(width) + "  " + "  ".join(
                rows[knob].get(op, "?").ljust(c) for op, c in zip(ops, cols)))
