"""docs/exchange-data.md cannot drift from the code: its field reference is what
``tools/exchange_reference.py`` generates from the attrs classes and every field has a
meaning written; its JSON example loads; its CSV example imports."""

from __future__ import annotations

import re
from pathlib import Path

import attrs

from cstaserver.admin.csvplan import import_csv
from cstaserver.config import from_json
from cstaserver.config.reference import meanings, problems, render, sections

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "exchange-data.md"


def fenced(text: str, language: str, after: str) -> str:
    start = text.index(after)
    match = re.search(rf"```{language}\n(.*?)```", text[start:], re.S)
    assert match is not None, f"no ```{language} block after {after!r}"
    return match.group(1)


def test_the_field_reference_is_current_and_every_field_is_described() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    assert problems(text) == []


def test_the_reference_has_a_row_for_every_field_of_every_object() -> None:
    known = meanings(DOCUMENT.read_text(encoding="utf-8"))
    expected = {(path, field.name) for path, cls in sections() for field in attrs.fields(cls)}
    assert set(known) == expected
    assert ("plan.extensions[]", "handsfree") in expected  # nested arrays are reached


def test_a_new_field_makes_the_check_fail() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    stale = text.replace("| `handsfree` |", "| `hands_free` |")
    assert problems(stale)[0].startswith("the field reference is not current")
    assert "plan.extensions[].handsfree has no meaning" in " ".join(problems(stale))
    assert render(stale) != stale


def test_the_json_example_loads() -> None:
    example = fenced(DOCUMENT.read_text(encoding="utf-8"), "json", "## A small complete example")
    data = from_json(example)
    assert [e.number for e in data.plan.extensions] == ["2001", "2002", "2003"]
    assert data.plan.acd_groups[0].diverted_position == "2001"
    assert data.plan.alerting_timeout == 45.0


def test_the_csv_example_imports() -> None:
    example = fenced(DOCUMENT.read_text(encoding="utf-8"), "", "## The plan as CSV")
    rows = import_csv(example, "example.csv")
    assert [(line, e.number, e.name) for line, e in rows] == [
        (2, "3000", "Sales floor"), (3, "3001", "Smith, Anna"), (4, "3002", "Night service"),
    ]  # fmt: skip
