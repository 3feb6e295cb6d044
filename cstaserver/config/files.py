"""Reading a file of the data directory, or one an administrator names, without trusting it.

``exchange.json``, the TLS certificate, the ssh host key, a backup given to ``exchange
restore`` or a certificate given to ``mxone_certificate --install`` are read only when they
are a regular file (a symbolic link to one is followed) and only up to a size bound:

- the file is opened with ``O_NONBLOCK``, so a FIFO (named pipe) left in its place does not
  stop the server waiting for a writer, and then checked with ``fstat`` on the open
  descriptor (no window between the check and the read): a FIFO, a device such as
  ``/dev/zero`` (endless), a socket or a directory is refused;
- at most ``limit`` bytes are read, plus one to notice a longer file, so a file that grows
  while it is read costs no more memory than the bound.

Each refusal is a :class:`FileRefused` whose text is one line saying what the file is.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: What ``fstat`` says a path is, for the refusal's text.
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class FileRefused(Exception):
    """A file that is not read: ``problem`` is one line (``str()`` is the same)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def kind_of(mode: int) -> str:
    """``st_mode`` in words: ``a FIFO (named pipe)``, ``a directory`` ..."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def read_regular_file(path: Path | str, limit: int) -> bytes:
    """The content of ``path`` if it is a regular file of at most ``limit`` bytes.

    :class:`FileRefused` if it is anything else or longer; ``OSError`` (with ``strerror``)
    if it cannot be opened at all (missing, no permission)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{kind_of(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise FileRefused(f"larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise FileRefused(f"larger than {limit} bytes")
    return b"".join(chunks)
