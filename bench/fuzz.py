"""Long fuzzing run of the hardening properties: the same hypothesis properties
as ``make test`` (tests/hardening/test_hard_fuzz_*.py), with the ``fuzz`` settings profile
selected through ``CSTA_FUZZ_PROFILE``: ``--examples`` per property (default 12,500: over
100,000 cases for the eight properties). Prints the cases run per property, the total and the
wall time; exit status 1 when a property failed.

    .venv/bin/python bench/fuzz.py [--examples N] [-k EXPR]      # or: make fuzz
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=12500, help="examples per property")
    parser.add_argument("-k", dest="keyword", default=None, help="pytest -k expression")
    args = parser.parse_args(argv)
    os.environ["CSTA_FUZZ_PROFILE"] = "fuzz"
    os.environ["CSTA_FUZZ_EXAMPLES"] = str(args.examples)
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    import pytest

    files = sorted(
        str(p.relative_to(ROOT)) for p in ROOT.glob("tests/hardening/test_hard_fuzz_*.py")
    )
    pytest_args = ["-q", *files] + (["-k", args.keyword] if args.keyword else [])
    start = time.perf_counter()
    status = pytest.main(pytest_args)
    elapsed = time.perf_counter() - start
    from tests.hardening.support import CASES

    for name, count in sorted(CASES.items()):
        print(f"{name:24} {count:>9,} cases")
    total = sum(CASES.values())
    print(f"{'total':24} {total:>9,} cases in {elapsed:.1f} s ({total / elapsed:,.0f}/s)")
    return 0 if status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
