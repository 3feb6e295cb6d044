"""The console commands and a running server on the same data directory: the server's lock
says which way a command goes, the control socket is reached at any depth of the data
directory, made again when deleted, and a running server that cannot be reached is never
edited behind its back (its next save would undo the edit)."""

from __future__ import annotations

import io
import os
from pathlib import Path

from twisted.trial import unittest

from cstaserver.admin.commands import console_main
from cstaserver.admin.control import MAX_SOCKET_PATH, socket_name
from cstaserver.config import DataDirectory
from cstaserver.config.serverlock import ServerLock
from tests.admin.admin_harness import Server, demo_data, settle


def deep_directory(base: Path) -> Path:
    """A data directory whose ``control.sock`` is longer than a UNIX socket name."""
    data = base / ("d" * 60) / ("e" * 60) / "data"
    assert len(os.fsencode(str(data / "control.sock"))) > MAX_SOCKET_PATH
    return data


class DeepDataDirectoryTests(unittest.TestCase):
    def setUp(self) -> None:
        self.data = deep_directory(Path(self.mktemp()).absolute())
        demo_data(self.data)
        self.server = Server(self, self.data)

    def control(self):
        return self.server.root.getServiceNamed("admin-control")

    async def test_the_socket_is_in_the_data_directory_and_answers(self) -> None:
        await settle()
        socket = self.data / "control.sock"
        assert socket.exists() and socket.stat().st_mode & 0o777 == 0o600
        status, out, err = await self.server.command("csta", "-i", "--authentication", "optional")
        assert (status, err) == (0, "")
        assert "applied now" in out

    async def test_a_deleted_socket_is_made_again(self) -> None:
        await settle()
        socket = self.data / "control.sock"
        socket.unlink()
        await self.control()._check_socket()
        await settle()
        assert socket.exists()
        status, out, _ = await self.server.command("csta", "-p")
        assert status == 0 and "CSTA server: running" in out
        assert self.control()._check_socket() is None  # nothing to do now


def test_a_short_path_is_its_own_name(tmp_path: Path) -> None:
    name = socket_name(Path("/tmp/x/control.sock"))
    assert (name.name, name.directory_fd) == ("/tmp/x/control.sock", None)
    deep = deep_directory(tmp_path)
    deep.mkdir(parents=True)
    name = socket_name(deep / "control.sock")
    try:
        assert name.name == f"/proc/self/fd/{name.directory_fd}/control.sock"
        assert len(name.name) <= 40
    finally:
        name.close()


def test_a_running_server_that_does_not_answer_is_not_edited(tmp_path: Path) -> None:
    data = tmp_path / "data"
    demo_data(data)
    lock = ServerLock.acquire(data)  # as a server holds it; nothing listens on the socket
    try:
        before = DataDirectory(data).exchange_file.read_bytes()
        for argv in (["-i", "--authentication", "mandatory"], ["-p"]):
            out, err = io.StringIO(), io.StringIO()
            status = console_main(
                "csta", [*argv, "--data", str(data)], stdout=out, stderr=err, send=lambda *a: None
            )
            assert (status, out.getvalue()) == (2, "")
            assert err.getvalue() == (
                f"csta: the server with process ID {os.getpid()} runs on {data} but does not "
                f"answer on {data / 'control.sock'}; nothing changed (editing the files under "
                "a running server would be undone by its next save: try again, or stop the "
                "server first)\n"
            )
        assert DataDirectory(data).exchange_file.read_bytes() == before
        # reached: the server's answer is the command's
        sent: list[tuple] = []
        status = console_main(
            "csta",
            ["-p", "--data", str(data)],
            stdout=io.StringIO(),
            stderr=io.StringIO(),
            send=lambda *args: sent.append(args) or 0,
        )
        assert status == 0 and sent[0][0] == data / "control.sock"
    finally:
        lock.release()
    # stopped: the files again
    out, err = io.StringIO(), io.StringIO()
    status = console_main(
        "csta", ["-i", "--authentication", "mandatory", "--data", str(data)], stdout=out,
        stderr=err, send=lambda *a: None,
    )  # fmt: skip
    assert (status, err.getvalue()) == (0, "")
    assert "applied when the server starts" in out.getvalue()


class NamedFilesTests(unittest.TestCase):
    """A file an administrator names (a certificate to install, a CSV plan to import, a
    backup to restore) is read by the running server itself: a FIFO or a device there must be
    refused at once, not stop the server waiting for a writer."""

    def setUp(self) -> None:
        self.data = Path(self.mktemp()).absolute()
        demo_data(self.data)
        self.server = Server(self, self.data)
        self.fifo = self.data.parent / "named.pipe"
        os.mkfifo(self.fifo)

    async def test_a_fifo_given_to_a_command_is_refused(self) -> None:
        fifo = str(self.fifo)
        status, out, err = await self.server.command("mxone_certificate", "--install", fifo, fifo)
        assert (status, out) == (2, "")
        assert err == (
            f"mxone_certificate: the key file {fifo}: a FIFO (named pipe), not a regular file\n"
        )
        status, out, err = await self.server.command("extension", "--import", fifo)
        assert (status, out) == (2, "")
        assert err == "extension: named.pipe: a FIFO (named pipe), not a regular file\n"
        status, out, _ = await self.server.command("csta", "-p")  # still serving
        assert status == 0 and "CSTA server: running" in out

    def test_a_backup_that_is_a_device_is_refused(self) -> None:
        from cstaserver.admin.exchange import read_backup
        from cstaserver.admin.output import CommandError

        with self.assertRaises(CommandError) as refused:
            read_backup(Path("/dev/zero"))
        assert str(refused.exception) == "/dev/zero: a character device, not a regular file"
