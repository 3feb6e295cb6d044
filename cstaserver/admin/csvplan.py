"""The numbering plan's extensions as CSV (RFC 4180): ``extension --import FILE`` and
``extension --export FILE`` (docs/exchange-data.md, "The plan as CSV").

One column per field of :class:`cstaserver.pbx.plan.Extension`, named as the field
(``number,kind,lim,name,dn_type,terminal,handsfree``, and any field added later); values as
the commands print them (``yes``/``no``, enum values, ``none``). The first line that is not
blank and not a ``#`` comment is the header; ``number`` and ``kind`` are required columns,
the others may be left out (or a cell left empty) for the field's default. A header with more
semicolons than commas makes ``;`` the separator (spreadsheets in many European locales save
so). Reading is all or nothing: the first bad line is a :class:`CommandError` naming the file and the line number.
"""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Iterable

import attrs

from cstaserver.admin import fieldoptions
from cstaserver.admin.fieldoptions import converter, show
from cstaserver.admin.output import CommandError
from cstaserver.pbx.plan import Extension

REQUIRED = ("number", "kind")
#: The largest CSV plan read (a 10,000-extension site is well under 1 MB).
MAX_BYTES = 16 * 1024 * 1024


def columns() -> list[str]:
    return [field.name for field in attrs.fields(attrs.resolve_types(Extension))]


def export_csv(extensions: Iterable[Extension]) -> str:
    names = columns()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for extension in extensions:
        writer.writerow([show(getattr(extension, name)) for name in names])
    return out.getvalue()


def _header(row: list[str], where: str) -> list[str]:
    header = [cell.strip().lower() for cell in row]
    known = columns()
    for name in header:
        if name not in known:
            raise CommandError(f"{where}: unknown column {name!r} (columns: {','.join(known)})")
    if len(set(header)) != len(header):
        raise CommandError(f"{where}: a column appears twice")
    for name in REQUIRED:
        if name not in header:
            raise CommandError(f"{where}: the header has no {name!r} column")
    return header


def _extension(header: list[str], row: list[str], where: str) -> Extension:
    if len(row) != len(header):
        raise CommandError(f"{where}: {len(row)} values for {len(header)} columns")
    types = attrs.fields_dict(Extension)
    values: dict[str, object] = {}
    for name, cell in zip(header, row, strict=True):
        if not cell.strip():
            if name in REQUIRED:
                raise CommandError(f"{where}: no {name}")
            continue
        made = converter(types[name].type)
        if made is None:
            raise CommandError(f"{where}: column {name!r} cannot be read from CSV")
        try:
            value = made[0](cell)
        except argparse.ArgumentTypeError as e:
            raise CommandError(f"{where}: {name}: {e}") from None
        values[name] = None if value is fieldoptions.CLEARED else value  # ``none``: no value
    number = str(values["number"])
    if not number.isdigit() or not number.isascii():
        raise CommandError(f"{where}: number {number!r} is not a directory number")
    kind = values["kind"]
    if not kind.is_extension:  # type: ignore[attr-defined]
        raise CommandError(f"{where}: kind {kind.value} is not a kind of extension")  # type: ignore[attr-defined]
    return Extension(**values)  # type: ignore[arg-type]


def delimiter(text: str) -> str:
    """``;`` when the header line has more of them than commas (a spreadsheet saved in a
    locale whose decimal mark is the comma), else ``,``."""
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return ";" if line.count(";") > line.count(",") else ","
    return ","


def import_csv(text: str, filename: str) -> list[tuple[int, Extension]]:
    """The extensions of a CSV plan, each with its line number; CommandError on a bad line."""
    header: list[str] | None = None
    found: list[tuple[int, Extension]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text))
    try:
        for row in reader:
            where = f"{filename} line {reader.line_num}"
            if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = _header(row, where)
                continue
            found.append((reader.line_num, _extension(header, row, where)))
    except csv.Error as e:
        raise CommandError(f"{filename} line {reader.line_num}: {e}") from None
    if header is None:
        raise CommandError(f"{filename}: no header line ({','.join(columns())})")
    return found
