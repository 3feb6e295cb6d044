"""The data directory on disk (the twistd option ``--data DIR``, README "Options").

One file, ``exchange.json``, holds the exchange data. :meth:`DataDirectory.save` is atomic:
the JSON is written to a temporary file in the same directory, flushed and ``fsync``-ed, then
``os.replace``-d over ``exchange.json`` and the directory is ``fsync``-ed, so a crash at any
moment leaves the old file or the new one, never a torn one; on any error the temporary file
is removed and the old file is untouched. Files are created 0600 and the directory 0700:
they hold password hashes (and, later, the TLS key).

A crash between writing and renaming can leave a ``.exchange.json.*.tmp`` behind; it is
never read, and :meth:`DataDirectory.save` removes such leftovers older than a minute.

``exchange.json`` is read only if it is a regular file of at most :data:`MAX_EXCHANGE_BYTES`
(:mod:`cstaserver.config.files`): a FIFO, a link to ``/dev/zero`` or an oversized file is a
:class:`ConfigError` with one line, never a hang or a memory blow-up; :meth:`save` refuses
to write data that would be larger, so every file it writes can be read again.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import attrs

from cstaserver.config.codec import from_json, to_json
from cstaserver.config.files import FileRefused, read_regular_file
from cstaserver.config.model import ConfigError, ExchangeData

EXCHANGE_FILE = "exchange.json"
_TEMP_PREFIX = f".{EXCHANGE_FILE}."
_TEMP_SUFFIX = ".tmp"
_STALE_TEMP_SECONDS = 60.0
#: The largest ``exchange.json`` read or written: 64 MiB, room for some 150,000 extensions
#: (the demo's 48 extensions take 18 kB).
MAX_EXCHANGE_BYTES = 64 * 1024 * 1024


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@attrs.define
class DataDirectory:
    """The ``--data DIR`` directory: ``load()``, ``save(data)``, ``exists()``."""

    path: Path = attrs.field(converter=Path)

    @property
    def exchange_file(self) -> Path:
        return self.path / EXCHANGE_FILE

    def exists(self) -> bool:
        """True if the directory holds an ``exchange.json`` (valid or not)."""
        return os.path.lexists(self.exchange_file)

    def missing_parent(self) -> Path | None:
        """The parent directory when neither it nor this directory exists: what a mistyped
        ``--data`` looks like, so nothing is created there without being asked."""
        if os.path.lexists(self.path):
            return None
        parent = Path(os.path.abspath(self.path)).parent
        return None if parent.is_dir() else self.path.parent

    def create(self) -> None:
        """Create the directory (and parents) if missing; mode 0700 for a new one."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _error(self, problem: str) -> ConfigError:
        return ConfigError(problem, EXCHANGE_FILE, str(self.exchange_file))

    def load(self) -> ExchangeData:
        """Read and validate ``exchange.json``; :class:`ConfigError` says what is wrong."""
        try:
            content = read_regular_file(self.exchange_file, MAX_EXCHANGE_BYTES)
        except FileRefused as e:
            raise self._error(e.problem) from None
        except OSError as e:
            raise self._error(f"cannot read: {e.strerror or e}") from None
        try:
            return from_json(content, EXCHANGE_FILE)
        except ConfigError as e:
            raise self._error(e.problem) from None

    def save(self, data: ExchangeData) -> None:
        """Validate and write ``data`` atomically (see the module docstring)."""
        text = to_json(data, EXCHANGE_FILE).encode("utf-8")
        if len(text) > MAX_EXCHANGE_BYTES:
            raise self._error(f"would be larger than {MAX_EXCHANGE_BYTES} bytes; not saved")
        self.create()
        self._remove_stale_temporaries()
        fd, temporary = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX, dir=self.path)
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.exchange_file)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _fsync_directory(self.path)

    def _remove_stale_temporaries(self) -> None:
        limit = time.time() - _STALE_TEMP_SECONDS
        for leftover in self.path.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < limit:
                    leftover.unlink()

    def load_or_create(self, factory: Callable[[], ExchangeData]) -> tuple[ExchangeData, bool]:
        """Load ``exchange.json``, or save ``factory()`` first if there is none.

        Returns the data and whether it was just created.
        """
        if self.exists():
            return self.load(), False
        data = factory()
        self.save(data)
        return data, True
