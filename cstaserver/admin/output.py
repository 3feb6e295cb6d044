"""Where an administrator's command writes (docs/admin.md): one line saying what is wrong,
aligned tables stable enough to script against.

The commands are written once (:mod:`cstaserver.admin.commands`) and write through an
:class:`ICommandOutput`: a console script writes to its stdout/stderr, the control channel
collects and forwards the text, the admin shell writes to its terminal.
:class:`CommandError` is wrong input: its text is the one line the user sees (exit status 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TextIO

import attrs
from zope.interface import Interface, implementer

#: Exit status of a command: done, wrong input (nothing changed).
OK = 0
WRONG_INPUT = 2


class CommandError(Exception):
    """Wrong input; ``str()`` is the one line that says what is wrong. Nothing was changed."""


class ICommandOutput(Interface):
    """The two streams of a command."""

    def write(text: str) -> None:
        """Normal output (stdout), text with ``\\n`` line ends."""

    def error(text: str) -> None:
        """Diagnostics (stderr), text with ``\\n`` line ends."""


@implementer(ICommandOutput)
@attrs.define
class BufferOutput:
    """Collects both streams (the control channel, tests)."""

    out: list[str] = attrs.Factory(list)
    err: list[str] = attrs.Factory(list)

    def write(self, text: str) -> None:
        self.out.append(text)

    def error(self, text: str) -> None:
        self.err.append(text)

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)


@implementer(ICommandOutput)
@attrs.define
class StreamOutput:
    """A console script's stdout and stderr."""

    stdout: TextIO
    stderr: TextIO

    def write(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def error(self, text: str) -> None:
        self.stderr.write(text)
        self.stderr.flush()


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Columns left-aligned and separated by two spaces; ``None`` prints as ``-``; no
    trailing blanks. One header line, one line per row; ``(none)`` when there are no rows."""
    cells = [[("-" if cell is None else str(cell)) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [list(headers), *cells]:
        line = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row))
        lines.append(line.rstrip())
    if not cells:
        lines.append("(none)")
    return "\n".join(lines) + "\n"


def fields(pairs: Iterable[tuple[str, object]]) -> str:
    """``name:  value`` lines with the values aligned (one record in detail)."""
    pairs = [(name, "-" if value is None else str(value)) for name, value in pairs]
    width = max((len(name) for name, _ in pairs), default=0) + 1
    return "".join(f"{(name + ':').ljust(width)}  {value}".rstrip() + "\n" for name, value in pairs)
