"""Regenerate the field reference of docs/exchange-data.md from the exchange data's attrs
classes (:mod:`cstaserver.config.reference`), keeping the Meaning column as written.

    .venv/bin/python tools/exchange_reference.py           # rewrite the document
    .venv/bin/python tools/exchange_reference.py --check   # exit 1 if it is not current

After adding a field to the exchange data, run it and write the new row's Meaning; the test
``tests/config/test_config_reference.py`` fails until both are done.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cstaserver.config.reference import problems, render

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "exchange-data.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if not current")
    parser.add_argument("--document", type=Path, default=DOCUMENT)
    args = parser.parse_args(argv)
    text = args.document.read_text(encoding="utf-8")
    if args.check:
        found = problems(text)
        for problem in found:
            print(f"{args.document}: {problem}", file=sys.stderr)
        return 1 if found else 0
    new = render(text)
    if new != text:
        args.document.write_text(new, encoding="utf-8")
        print(f"{args.document}: field reference regenerated")
    for problem in problems(new):
        print(f"{args.document}: {problem}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
