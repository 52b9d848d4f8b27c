#!/usr/bin/python3
"""Merge the JUnit XML of several `make test SHARD=i/N` runs into one file.

Usage: scripts/junit-merge.py OUT.xml SHARD.xml...

Uses Debian's python3-junitparser: every shard's test suites go into one
<testsuites> with its totals recomputed.  Prints the merged totals and
exits 1 when a test id occurs in more than one shard (the shards of one
run never overlap) or a file is not JUnit XML.
"""

import sys
from collections import Counter
from pathlib import Path

from junitparser import JUnitXml, TestCase  # Debian: python3-junitparser


def main(argv: list) -> int:
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    out, inputs = Path(argv[1]), [Path(p) for p in argv[2:]]
    merged = JUnitXml()
    for path in inputs:
        try:
            xml = JUnitXml.fromfile(str(path))
        except (OSError, SyntaxError) as exc:   # ParseError is a SyntaxError
            print(f"junit-merge: {path}: not JUnit XML: {exc}", file=sys.stderr)
            return 1
        merged += xml
    ids = Counter(f"{case.classname}::{case.name}"
                  for suite in merged for case in suite.iterchildren(TestCase))
    twice = sorted(i for i, n in ids.items() if n > 1)
    if twice:
        print(f"junit-merge: {len(twice)} test(s) in more than one shard, e.g. {twice[0]}",
              file=sys.stderr)
        return 1
    merged.update_statistics()
    merged.write(str(out))
    print(f"junit-merge: {out}: {merged.tests} tests, {merged.failures} failures, "
          f"{merged.errors} errors, {merged.skipped} skipped from {len(inputs)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
