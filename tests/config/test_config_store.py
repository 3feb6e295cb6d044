"""DataDirectory: atomic save, load errors, ensure_demo."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import attrs
import pytest

from cstaserver.config import (
    AuthMode,
    ConfigError,
    DataDirectory,
    Limits,
    ServerType,
    demo_exchange_data,
    empty_exchange_data,
    ensure_demo,
    ensure_exchange,
)
from cstaserver.config import store as store_module
from cstaserver.config.passwords import verify_password
from cstaserver.pbx.demo import demo_plan


@pytest.fixture(scope="module")
def demo():
    return demo_exchange_data()


def _listing(path: Path) -> list[str]:
    return sorted(os.listdir(path))


def test_save_and_load(tmp_path: Path, demo) -> None:
    directory = DataDirectory(tmp_path / "data")
    assert not directory.exists()
    directory.save(demo)
    assert directory.exists()
    assert directory.load() == demo
    assert _listing(directory.path) == ["exchange.json"]
    assert stat.S_IMODE(directory.exchange_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.path.stat().st_mode) == 0o700


def test_save_replaces(tmp_path: Path, demo) -> None:
    directory = DataDirectory(tmp_path)
    directory.save(demo)
    changed = attrs.evolve(demo, limits=Limits(max_sessions=5))
    directory.save(changed)
    assert directory.load() == changed
    assert _listing(tmp_path) == ["exchange.json"]


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_crash_during_save_leaves_the_old_file(
    tmp_path: Path, demo, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """A failure at each step of the save: the old file is intact, no temporary is left."""
    directory = DataDirectory(tmp_path)
    directory.save(demo)
    before = directory.exchange_file.read_bytes()

    def crash(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if failing == "write":
        real_fdopen = os.fdopen

        class Broken:
            def __init__(self, *args, **kwargs):
                self.stream = real_fdopen(*args, **kwargs)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.stream.close()

            def write(self, data):
                self.stream.write(data[: len(data) // 2])
                crash()

        monkeypatch.setattr(store_module.os, "fdopen", Broken)
    else:
        monkeypatch.setattr(store_module.os, failing, crash)
    with pytest.raises(OSError, match="No space left"):
        directory.save(attrs.evolve(demo, limits=Limits(max_sessions=5)))
    monkeypatch.undo()
    assert directory.exchange_file.read_bytes() == before
    assert directory.load() == demo
    assert _listing(tmp_path) == ["exchange.json"]


def test_interrupt_during_save_cleans_up(tmp_path: Path, demo, monkeypatch) -> None:
    """Even a KeyboardInterrupt between write and rename removes the temporary file."""
    directory = DataDirectory(tmp_path)

    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(store_module.os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        directory.save(demo)
    assert _listing(tmp_path) == []


def test_invalid_data_is_not_saved(tmp_path: Path, demo) -> None:
    directory = DataDirectory(tmp_path)
    directory.save(demo)
    before = directory.exchange_file.read_bytes()
    servers = [attrs.evolve(s, port=8882) for s in demo.csta_servers]
    with pytest.raises(ConfigError, match="port 8882 is used twice"):
        directory.save(attrs.evolve(demo, csta_servers=servers))
    assert directory.exchange_file.read_bytes() == before
    assert _listing(tmp_path) == ["exchange.json"]


def test_stale_temporaries_are_removed(tmp_path: Path, demo) -> None:
    old = tmp_path / ".exchange.json.abc.tmp"
    fresh = tmp_path / ".exchange.json.def.tmp"
    old.write_text("{")
    fresh.write_text("{")
    os.utime(old, (1, 1))
    DataDirectory(tmp_path).save(demo)
    assert _listing(tmp_path) == [".exchange.json.def.tmp", "exchange.json"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "not valid JSON"),
        (b'{"schema_version": 1, "plan": {"lims": [', "not valid JSON"),
        (b'{"schema_version": 99}', "unknown schema_version 99"),
    ],
)
def test_corrupt_file_is_a_config_error_and_untouched(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    directory = DataDirectory(tmp_path)
    directory.exchange_file.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        directory.load()
    assert str(caught.value).startswith("exchange.json: ")
    assert problem in caught.value.problem
    assert caught.value.path == str(tmp_path / "exchange.json")
    with pytest.raises(ConfigError):
        ensure_demo(tmp_path)
    assert directory.exchange_file.read_bytes() == content


def test_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "exchange.json").mkdir()
    with pytest.raises(ConfigError, match="exchange.json: a directory, not a regular file"):
        DataDirectory(tmp_path).load()


def test_ensure_demo_creates_the_demo(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b"
    data = ensure_demo(path)
    assert DataDirectory(path).load() == data
    assert data.plan == demo_plan()
    xml = data.csta_server(1, ServerType.XML)
    tr87 = data.csta_server(2, ServerType.TR87)
    assert (xml.port, xml.tls_port, xml.web_port) == (8882, 8883, 8080)
    assert (tr87.port, tr87.tls_port, tr87.web_port) == (5062, None, None)
    assert xml.authentication is tr87.authentication is AuthMode.OPTIONAL
    (criteria,) = data.authentication.applications
    assert criteria.application_id == "demo"
    assert criteria.users[0].user == "csta_user"
    assert verify_password("csta", criteria.users[0].password_hash)
    assert data.web_accounts[0].user == "csta_user"
    assert verify_password("csta", data.web_accounts[0].password_hash)
    assert data.admin_accounts == []  # made with a random password by the first run
    assert data.limits == Limits()


def test_ensure_demo_keeps_existing_data(tmp_path: Path, demo) -> None:
    changed = attrs.evolve(demo, limits=Limits(max_sessions=7))
    DataDirectory(tmp_path).save(changed)
    assert ensure_demo(tmp_path) == changed


def test_ensure_exchange_without_demo(tmp_path: Path) -> None:
    data, created = ensure_exchange(tmp_path, demo=False)
    assert created
    assert [lim.number for lim in data.plan.lims] == [1]
    assert data.plan.extensions == []
    assert [(s.lim, s.server_type, s.port) for s in data.csta_servers] == [
        (1, ServerType.XML, 8882),
        (1, ServerType.TR87, 5062),
    ]
    assert data.admin_accounts == []
    again, created = ensure_exchange(tmp_path, demo=True)
    assert not created and again == data


def test_empty_exchange_is_valid() -> None:
    data = empty_exchange_data()
    assert data.web_accounts == [] and data.authentication.applications == ()
