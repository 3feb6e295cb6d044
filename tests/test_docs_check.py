"""tools/docs_check.py (``make docs-check``): how a document's transcripts are read and
compared, and that every block of README.md and docs/ that a reader would type is either
checked by it or skipped with a reason."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("docs_check", ROOT / "tools" / "docs_check.py")
docs_check = importlib.util.module_from_spec(_spec)
sys.modules["docs_check"] = docs_check
_spec.loader.exec_module(docs_check)


def write(tmp_path: Path, text: str) -> Path:
    doc = tmp_path / "doc.md"
    doc.write_text(text, encoding="utf-8")
    return doc


def test_transcript_commands_outputs_and_exit_status() -> None:
    transcript = "$ csta -p\nCSTA server: running\n[exit 0]\n$ csta -x\ncsta: bad\n[exit 2]"
    assert list(docs_check.commands(transcript)) == [
        ("csta -p", ["CSTA server: running"], 0),
        ("csta -x", ["csta: bad"], 2),
    ]


def test_a_command_without_exit_line_has_no_expected_status() -> None:
    assert list(docs_check.commands("$ echo hi\nhi")) == [("echo hi", ["hi"], None)]


@pytest.mark.parametrize(
    ("document", "run"),
    [
        (
            "fingerprint:  SHA256 " + ":".join(["AB"] * 32),
            "fingerprint: SHA256 " + ":".join(["01"] * 32),
        ),
        ("LIM  TYPE   PORT", "LIM TYPE PORT"),
        ("1  xml  127.0.0.1:49042  32e2dd242607493b", "1 xml 127.0.0.1:51111 0123456789abcdef"),
        ("valid from:   2026-11-23 16:27:06 UTC", "valid from: 2027-01-02 03:04:05 UTC"),
        ("  3 pass  step (0.04 s)", "  3 pass  step (1.50 s)"),
        ("3 passed in 4.11s", "3 passed in 0.98s"),
    ],
)
def test_what_differs_from_run_to_run_is_normalised(document: str, run: str) -> None:
    assert docs_check.normalise([document]) == docs_check.normalise([run])


@pytest.mark.parametrize(
    ("document", "run"),
    [
        ("CSTA server: running", "CSTA server: stopped"),
        ("listening on port 8883", "listening on 127.0.0.1:8883"),
        ("monitor 1", "monitor 2"),
    ],
)
def test_what_a_reader_relies_on_is_compared(document: str, run: str) -> None:
    assert docs_check.normalise([document]) != docs_check.normalise([run])


def test_an_ellipsis_line_stands_for_any_lines() -> None:
    assert docs_check.matches(["a", "...", "z"], ["a", "z"])
    assert docs_check.matches(["a", "...", "z"], ["a", "b", "c", "z"])
    assert not docs_check.matches(["a", "...", "z"], ["a", "b"])
    assert not docs_check.matches(["a"], ["a", "b"])


def test_blocks_carry_the_directives_written_before_them(tmp_path: Path) -> None:
    doc = write(
        tmp_path,
        "Text\n\n<!-- docs-check: run touch x -->\n<!-- docs-check: skip a synopsis -->\n"
        "```\ncsta -i [--lim N]\n```\n\n```sh\n$ csta -p\nok\n```\n",
    )
    first, second = docs_check.blocks(doc)
    assert first.directives == [("run", "touch x"), ("skip", "a synopsis")]
    assert first.skipped and first.looks_like_commands and not first.is_transcript
    assert second.directives == [] and second.is_transcript and second.line == 9


def test_a_command_block_neither_checked_nor_skipped_is_listed(tmp_path, capsys) -> None:
    doc = write(tmp_path, "```sh\n# a comment first\ncurl -s http://127.0.0.1:8080/\n```\n")
    docs_check.list_coverage([doc])
    assert capsys.readouterr().out.startswith("unchecked  ")


def test_every_command_block_of_the_docs_is_checked_or_skipped_with_a_reason(capsys) -> None:
    docs_check.list_coverage(docs_check.documents([]))
    unchecked = [line for line in capsys.readouterr().out.splitlines() if "unchecked" in line]
    assert unchecked == []
