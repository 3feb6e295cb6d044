"""``--data`` before anything is read (cstaserver.app.datapath): a missing parent refused
unless ``--create``, a file refused, the directory locked for the server that builds on it
and released when it stops or fails to build."""

from __future__ import annotations

from pathlib import Path

import pytest

from cstaserver.app.datapath import DataPathRefused, check_data_path
from cstaserver.app.options import RunSettings
from cstaserver.app.root import StartupError, StartupRefused, build_service
from cstaserver.config.serverlock import LOCK_FILE, ServerLock
from tests.app.test_compose import UdpMemoryReactor


def settings(data: Path, **changes: object) -> RunSettings:
    return RunSettings(data=data, admin_port=0, admin_ssh_port=0, **changes)  # type: ignore[arg-type]


def test_missing_directory_with_its_parent_is_made(tmp_path: Path) -> None:
    check_data_path(tmp_path / "new", create=False)  # the parent exists: fine
    check_data_path(tmp_path, create=False)  # exists
    check_data_path(Path("relative-data"), create=False)  # the parent is "."


def test_missing_parent_is_refused_unless_create(tmp_path: Path) -> None:
    typo = tmp_path / "typo" / "data"
    with pytest.raises(DataPathRefused) as refused:
        check_data_path(typo, create=False)
    assert str(refused.value) == (
        f"--data {typo}: {typo.parent} does not exist (a typo? --create makes the missing "
        "directories)"
    )
    check_data_path(typo, create=True)
    with pytest.raises(StartupRefused) as startup:
        build_service(settings(typo), UdpMemoryReactor())
    assert startup.value.status == 2 and not typo.parent.exists()
    root = build_service(settings(typo, create=True), UdpMemoryReactor())
    assert (typo / "exchange.json").is_file()
    root.lock.release()


def test_the_server_holds_the_lock_until_it_stops(tmp_path: Path) -> None:
    data = tmp_path / "data"
    root = build_service(settings(data), UdpMemoryReactor())
    with pytest.raises(StartupRefused, match="is in use by the server with process ID"):
        build_service(settings(data), UdpMemoryReactor())
    root.startService()
    root.stopService()
    assert root.lock is None and (data / LOCK_FILE).read_text() == ""
    build_service(settings(data), UdpMemoryReactor()).lock.release()


def test_a_start_that_fails_lets_the_lock_go(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "exchange.json").write_text("{")
    with pytest.raises(StartupError, match="not valid JSON"):
        build_service(settings(data), UdpMemoryReactor())
    ServerLock.acquire(data, wait=0).release()
