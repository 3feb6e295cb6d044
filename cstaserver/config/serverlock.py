"""One server per data directory: ``<data>/server.lock``.

A running server holds an exclusive ``fcntl.flock`` on ``<data>/server.lock`` from before it
reads ``exchange.json`` until it stops, and writes its process ID into the file. Because
the kernel drops a ``flock`` when the process that holds it ends, however it ends (SIGKILL,
a crash, a power cut), a lock file left behind by a dead server never blocks the next one:
only a live holder does. What this prevents: two servers on one directory, both saving
``exchange.json`` and each overwriting the other's changes.

The console commands (``csta``, ``extension`` ...) ask the same lock which way to go
(:func:`probe`): held by a server, they must reach that server over its control channel (an
edit of the files would be overwritten by the server's next save); free, they take it
*shared* while they edit the files, so a server cannot start in the middle of their edit.
A server that finds the lock held by such a command (the process ID in the file is not a
live process) waits for it, up to :data:`COMMAND_WAIT` seconds.

The lock is ``flock`` rather than a PID file: a PID file of a crashed server looks alive
when its number has been reused, and a POSIX ``fcntl`` record lock is dropped when any
descriptor of the file in the process is closed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs

LOCK_FILE = "server.lock"
#: Seconds a starting server waits for a console command that edits the files.
COMMAND_WAIT = 10.0
_POLL = 0.05


class DataDirectoryInUse(Exception):
    """Another server runs on the data directory (``pid`` when known). One line."""

    def __init__(self, data: Path, pid: int | None) -> None:
        lock = Path(data) / LOCK_FILE
        if pid is not None:
            text = f"{data} is in use by the server with process ID {pid} ({lock})"
        else:
            text = f"{data} is in use: {lock} stayed locked by a console command"
        super().__init__(text)
        self.pid = pid


class LockFileUnusable(Exception):
    """The lock file cannot be opened (a FIFO or a link in its place, no permission)."""


def _open(path: Path, flags: int) -> int:
    """The lock file, refused (OSError) if it is not a regular file: a FIFO there must not
    block, a symbolic link must not lead the lock elsewhere."""
    fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return fd


def _recorded_pid(fd: int) -> int | None:
    """The process ID written in the lock file, if it holds one."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() and len(text) <= 10 else None


def process_alive(pid: int) -> bool:
    """Whether a process with this ID exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@attrs.define
class ServerLock:
    """The exclusive lock of a running server on its data directory."""

    data: Path
    fd: int | None

    @property
    def path(self) -> Path:
        return self.data / LOCK_FILE

    @classmethod
    def acquire(
        cls,
        data: Path | str,
        *,
        wait: float = COMMAND_WAIT,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.monotonic,
    ) -> ServerLock:
        """Lock ``data`` (an existing directory) for this process; :class:`DataDirectoryInUse`
        at once when a live server holds it, after ``wait`` seconds when a console command
        does; ``OSError`` if the lock file cannot be opened."""
        data = Path(data)
        fd = _open(data / LOCK_FILE, os.O_RDWR | os.O_CREAT)
        deadline = now() + wait
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pid = _recorded_pid(fd)
                    if pid is not None and process_alive(pid):
                        raise DataDirectoryInUse(data, pid) from None
                    if now() >= deadline:
                        raise DataDirectoryInUse(data, None) from None
                    sleep(_POLL)
        except BaseException:
            os.close(fd)
            raise
        lock = cls(data, fd)
        lock.record_pid()
        return lock

    def record_pid(self) -> None:
        """Write this process's ID (again: twistd without ``-n`` forks after the lock is
        taken, and the child keeps it)."""
        if self.fd is None:
            return
        text = f"{os.getpid()}\n".encode("ascii")
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, text, 0)

    def release(self) -> None:
        """Clear the process ID and drop the lock (stopping the server)."""
        fd, self.fd = self.fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)


@contextlib.contextmanager
def probe(data: Path | str) -> Iterator[int | None]:
    """For a console command: the process ID of the server running on ``data`` (0 if the
    lock is held but names none), or None when no server runs, in which case the lock is
    held shared for the ``with`` block so that no server starts while the files are edited.
    Creates nothing: a directory without a lock file has never had a server.
    :class:`LockFileUnusable` if the lock file is there but cannot be opened."""
    path = Path(data) / LOCK_FILE
    try:
        fd = _open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    except OSError as e:
        raise LockFileUnusable(f"{path}: {e.strerror or e}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _recorded_pid(fd)
            yield pid if pid is not None else 0
        else:
            yield None
    finally:
        os.close(fd)
