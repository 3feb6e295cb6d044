"""``--data DIR`` before anything is read: the directory checked, created when allowed, and
locked for this server (:mod:`cstaserver.config.serverlock`).

The rule for a directory that does not exist: it is created (and then filled with the demo
exchange) when its parent directory exists, and refused when the parent is missing too,
unless ``--create`` is given. A typo in the last name of a path still gives a new
directory; that is what ``twistd -n csta --data lab2`` on a new lab must do, and the start-up
log says ``created the demo exchange in <path>``. A typo anywhere before it (``/srv/mxnoe/
data``) would otherwise create a whole tree, with a fresh exchange, far from the real one;
that is refused. An existing path that is not a directory is refused as well.
"""

from __future__ import annotations

import os
from pathlib import Path

from cstaserver.config import DataDirectory
from cstaserver.config.serverlock import DataDirectoryInUse, ServerLock


class DataPathRefused(Exception):
    """``--data`` cannot be used as given: one line for the operator."""


def check_data_path(path: Path, *, create: bool) -> None:
    """DataPathRefused if ``path`` is not a directory, or is missing with its parent."""
    if os.path.lexists(path):
        if not path.is_dir():
            raise DataPathRefused(f"--data {path}: exists and is not a directory")
        return
    missing = DataDirectory(path).missing_parent()
    if not create and missing is not None:
        raise DataPathRefused(
            f"--data {path}: {missing} does not exist (a typo? --create makes the "
            "missing directories)"
        )


def open_data_directory(path: Path, *, create: bool) -> tuple[DataDirectory, ServerLock]:
    """The checked, existing and locked data directory. DataPathRefused (the path, or another
    server holding it), or OSError (the directory or its lock file cannot be made)."""
    check_data_path(path, create=create)
    directory = DataDirectory(path)
    directory.create()
    try:
        lock = ServerLock.acquire(path)
    except DataDirectoryInUse as e:
        raise DataPathRefused(f"--data {e}; stop it first, or give another --data") from None
    return directory, lock
