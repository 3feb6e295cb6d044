"""One server per data directory (cstaserver.config.serverlock): the exclusive lock of a
server, the probe of a console command, and how they meet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cstaserver.config.serverlock import (
    LOCK_FILE,
    DataDirectoryInUse,
    LockFileUnusable,
    ServerLock,
    probe,
)


def test_a_server_holds_it_and_names_itself(tmp_path: Path) -> None:
    lock = ServerLock.acquire(tmp_path)
    assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n"
    with pytest.raises(DataDirectoryInUse) as in_use:
        ServerLock.acquire(tmp_path, wait=0)
    assert in_use.value.pid == os.getpid()
    assert str(in_use.value) == (
        f"{tmp_path} is in use by the server with process ID {os.getpid()} ({tmp_path / LOCK_FILE})"
    )
    with probe(tmp_path) as pid:
        assert pid == os.getpid()
    lock.release()
    assert (tmp_path / LOCK_FILE).read_text() == ""
    lock.release()  # twice is harmless
    ServerLock.acquire(tmp_path).release()


def test_a_lock_left_by_a_dead_server_does_not_block(tmp_path: Path) -> None:
    # a process that took the lock and died: its PID stays in the file, its lock does not
    script = (
        "import sys; from cstaserver.config.serverlock import ServerLock; "
        "ServerLock.acquire(sys.argv[1]); print('locked')"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.stdout == "locked\n", done.stderr
    assert (tmp_path / LOCK_FILE).read_text().strip().isdigit()
    with probe(tmp_path) as pid:
        assert pid is None
    ServerLock.acquire(tmp_path, wait=0).release()


def test_no_lock_file_no_server_and_nothing_created(tmp_path: Path) -> None:
    with probe(tmp_path / "missing") as pid:
        assert pid is None
    assert not (tmp_path / "missing").exists()


def test_a_command_editing_the_files_makes_a_server_wait(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).write_text("999999999\n")  # a dead server's
    slept: list[float] = []
    clock = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    with probe(tmp_path) as pid:
        assert pid is None  # free: the command holds it shared while it edits
        with pytest.raises(DataDirectoryInUse) as in_use:
            ServerLock.acquire(tmp_path, wait=1.0, sleep=sleep, now=lambda: clock[0])
        assert in_use.value.pid is None
        assert "stayed locked by a console command" in str(in_use.value)
        assert 1.0 <= sum(slept) <= 1.1
    ServerLock.acquire(tmp_path, wait=0).release()  # the command is done


def test_a_fifo_or_a_link_in_place_of_the_lock_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / LOCK_FILE)
    with pytest.raises(OSError, match="not a regular file"):
        ServerLock.acquire(tmp_path, wait=0)
    with pytest.raises(LockFileUnusable, match="not a regular file"), probe(tmp_path):
        pass
    (tmp_path / LOCK_FILE).unlink()
    (tmp_path / LOCK_FILE).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError):
        ServerLock.acquire(tmp_path, wait=0)
    assert not (tmp_path / "elsewhere").exists()
