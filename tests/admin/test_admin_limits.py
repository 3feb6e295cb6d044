"""``csta_limits`` on the data directory (docs/limits.md): ``-p`` prints every limit of the
exchange data, ``-c`` changes the ones given and keeps the rest; a wrong value is one line on
stderr, exit status 2 and the data byte for byte unchanged."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from cstaserver.config import DataDirectory, Limits
from tests.admin.admin_harness import run, stored


def test_print_shows_every_limit(data: Path) -> None:
    status, out, err = run("csta_limits", data, "-p")
    assert (status, err) == (0, "")
    rows = dict(line.split(None, 1) for line in out.splitlines()[1:])
    for field in attrs.fields(Limits):
        assert "--" + field.name.replace("_", "-") in rows
    assert rows["--max-connections-per-address"].strip() == "100"
    assert rows["--notify-to-allow"].strip() == "-"


def test_change_keeps_the_rest(data: Path) -> None:
    status, out, err = run(
        "csta_limits", data, "-c", "--max-monitors-per-device", "7",
        "--notify-to-allow", "http://10.0.0.5:9000/events, https://crm.example/",
    )  # fmt: skip
    assert (status, err) == (0, "")
    assert out == (
        "limits (--max-monitors-per-device, --notify-to-allow): changed, saved,"
        " applied when the server starts\n"
    )
    limits = DataDirectory(data).load().limits
    assert limits.max_monitors_per_device == 7
    assert limits.notify_to_allow == ("http://10.0.0.5:9000/events", "https://crm.example/")
    assert attrs.evolve(limits, max_monitors_per_device=100, notify_to_allow=()) == Limits()
    run("csta_limits", data, "-c", "--notify-to-allow", "none")
    assert DataDirectory(data).load().limits.notify_to_allow == ()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-c"], "say what to change"),
        (["-c", "--max-connections-per-address", "0"], "is 0, less than 1"),
        (["-c", "--first-message-timeout", "soon"], "is not a whole number"),
        (["-c", "--notify-to-allow", "ftp://x/"], "not an http:// or https:// URL prefix"),
        (["-c", "--no-such-limit", "1"], "unrecognized arguments"),
    ],
)
def test_wrong_input_is_one_line_and_changes_nothing(
    data: Path, argv: list[str], message: str
) -> None:
    before = stored(data)
    status, out, err = run("csta_limits", data, *argv)
    assert status == 2 and out == ""
    assert len(err.splitlines()) == 1 and message in err, err
    assert stored(data) == before
