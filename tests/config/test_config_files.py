"""Reading files of the data directory without trusting them (cstaserver.config.files) and
the bounds of the numbers in exchange.json (the codec's integer digits, validate's ranges)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import attrs
import pytest

from cstaserver.config import ConfigError, DataDirectory, demo_exchange_data, from_json, to_json
from cstaserver.config.codec import MAX_INTEGER_DIGITS
from cstaserver.config.files import FileRefused, read_regular_file
from cstaserver.config.model import LIMIT_RANGES, Limits
from cstaserver.config.store import MAX_EXCHANGE_BYTES


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert read_regular_file(path, 100) == b"x" * 100
    link = tmp_path / "link"
    link.symlink_to(path)  # a link to a regular file is followed
    assert read_regular_file(link, 100) == b"x" * 100


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: os.mkfifo(p), "a FIFO (named pipe), not a regular file"),
        (lambda p: p.symlink_to("/dev/zero"), "a character device, not a regular file"),
        (lambda p: p.mkdir(), "a directory, not a regular file"),
        (lambda p: p.write_bytes(b"x" * 101), "larger than 100 bytes"),
    ],
    ids=["fifo", "dev-zero", "directory", "too-long"],
)
def test_anything_else_is_refused_at_once(tmp_path: Path, make, problem: str) -> None:
    path = tmp_path / "f"
    make(path)
    with pytest.raises(FileRefused) as refused:
        read_regular_file(path, 100)
    assert refused.value.problem == problem


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_regular_file(tmp_path / "missing", 100)


def test_exchange_file_refusals_name_the_file(tmp_path: Path) -> None:
    directory = DataDirectory(tmp_path)
    os.mkfifo(directory.exchange_file)
    with pytest.raises(ConfigError) as error:
        directory.load()
    assert error.value.path == str(directory.exchange_file)
    assert error.value.problem == "a FIFO (named pipe), not a regular file"


def test_an_exchange_too_large_to_read_back_is_not_saved(tmp_path: Path, monkeypatch) -> None:
    directory = DataDirectory(tmp_path)
    monkeypatch.setattr("cstaserver.config.store.MAX_EXCHANGE_BYTES", 1000)
    with pytest.raises(ConfigError, match="would be larger than 1000 bytes; not saved"):
        directory.save(demo_exchange_data())
    assert not directory.exists()
    assert MAX_EXCHANGE_BYTES == 64 * 1024 * 1024


def _demo_with(path: list[object], literal: str) -> str:
    raw = json.loads(to_json(demo_exchange_data()))
    target = raw
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = "@"
    return json.dumps(raw).replace('"@"', literal)


@pytest.mark.parametrize("digits", [5000, 4301, MAX_INTEGER_DIGITS + 1])
def test_an_integer_of_many_digits_is_refused_at_its_field(digits: int) -> None:
    text = _demo_with(["limits", "max_sessions"], "7" * digits)
    with pytest.raises(ConfigError) as error:
        from_json(text)
    assert str(error.value) == (
        f"exchange.json: limits.max_sessions: a number of {digits} digits "
        f"(at most {MAX_INTEGER_DIGITS} are read)"
    )


def test_a_long_negative_number_and_a_string_field() -> None:
    text = _demo_with(["plan", "extensions", 0, "number"], "-" + "1" * 30)
    with pytest.raises(ConfigError, match=r"plan.extensions\[0\].number: a number of 30 digits"):
        from_json(text)


@pytest.mark.parametrize("name", list(LIMIT_RANGES))
def test_every_limit_has_a_range_and_its_ends_are_kept(name: str) -> None:
    low, high = LIMIT_RANGES[name]
    demo = demo_exchange_data()
    for value in (low, high):
        data = attrs.evolve(demo, limits=attrs.evolve(Limits(), **{name: value}))
        assert from_json(to_json(data)).limits == data.limits
    for value, word in ((low - 1, "less"), (high + 1, "more")):
        text = _demo_with(["limits", name], str(value))
        with pytest.raises(ConfigError, match=rf"limits.{name} is {value}, {word} than"):
            from_json(text)


def test_every_limit_field_is_in_the_ranges() -> None:
    numbers = {f.name for f in attrs.fields(Limits) if f.name != "notify_to_allow"}
    assert numbers == set(LIMIT_RANGES)
    for field in attrs.fields(Limits):
        if field.name in numbers:
            low, high = LIMIT_RANGES[field.name]
            assert low <= field.default <= high
