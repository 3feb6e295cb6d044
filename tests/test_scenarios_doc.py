"""docs/scenarios.md, the ECMA TR/82 clause index, cannot drift: every test it names exists
(pytest collects its node ID), every clause has tests or a reason, and the page is what
``tools/scenarios.py`` (``make scenarios``) generates from ``tools/scenarios_map.py``."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import attrs
import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("scenarios_tool", ROOT / "tools" / "scenarios.py")
assert _spec is not None and _spec.loader is not None
tool: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)


@pytest.fixture(scope="module")
def collected() -> set[str]:
    """Every test of the files the map names, as pytest collects them (one subprocess)."""
    files = {test.split("::")[0] for c in tool.everything() for test in c.tests}
    found = tool.collect(files)
    assert found, "pytest collected nothing"
    return found


def test_every_named_test_exists(collected: set[str]) -> None:
    tests = [test for c in tool.everything() for test in c.tests]
    assert len(tests) > 50
    assert tool.unresolved(tests, collected) == []


def test_a_missing_or_misspelt_test_is_reported(collected: set[str]) -> None:
    real = "tests/pbx/test_pbx_basic_call.py::test_make_call_prompted"
    parametrised = "tests/pbx/test_pbx_devices.py::test_analog_cas_and_dect_lines_are_prompted"
    wrong = [
        "tests/pbx/test_pbx_basic_call.py::test_make_call_prompt",  # a prefix of a real name
        "tests/pbx/test_pbx_nothing.py::test_x",
        parametrised + "[9999]",
    ]
    assert tool.unresolved([real, parametrised, parametrised + "[1600]", *wrong], collected) == (
        wrong
    )


def test_every_clause_has_tests_or_a_reason() -> None:
    assert tool.map_problems() == []
    for clause in tool.everything():
        assert bool(clause.tests) != bool(clause.reason), clause.key


def test_a_clause_without_tests_or_reason_is_reported() -> None:
    clauses = list(tool.everything())
    bare = attrs.evolve(clauses[5], tests=(), why="", reason="", note="")
    twice = clauses[6]
    found = tool.map_problems([*clauses[:5], bare, twice, twice])
    assert any(p.startswith(f"{bare.key}: no test") for p in found), found
    assert any(p.startswith(f"{twice.key}: listed 2 times") for p in found), found


def test_the_clause_list_is_in_order_and_complete_up_to_8_3() -> None:
    numbers = [c.clause for c in tool.CLAUSES]
    expected = ["1", "2", "3"]
    for chapter, last in ((4, 11), (5, 2), (6, 8), (7, 3), (8, 3)):
        expected += [f"{chapter}.{n}" for n in range(1, last + 1)]
    assert numbers == expected
    assert all(c.clause is None for c in tool.FAMILIES)


def test_the_page_is_current() -> None:
    text = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    assert text == tool.render(), "docs/scenarios.md is not current: run make scenarios"


def test_the_page_lists_every_clause_once() -> None:
    text = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([0-9.]+|`[a-z-]+`) \|", text, re.M)
    keys = [c.clause or f"`{c.key}`" for c in tool.everything()]
    assert rows == keys
