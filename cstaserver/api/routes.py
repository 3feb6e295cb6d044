"""The route table's building blocks: routes, their fields, and the API's errors.

A :class:`Route` is one method on one path template (``/devices/{number}/dial``) with the
:class:`~cstaserver.api.auth.Access` it asks for, the body :class:`Field` s it takes (a JSON
object, RFC 8259), the query fields of a read, the name of its response schema, and a
summary. The resource (:mod:`cstaserver.api.resource`) matches requests against the table
and the OpenAPI document (:mod:`cstaserver.api.openapi`) is written from it, so a route
cannot be served without being described.

Every refusal is an :class:`ApiError`: an HTTP status (RFC 9110 15.5) and a JSON body
``{"error": {"code": "...", "message": "..."}}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from cstaserver.api.auth import Access


class ApiError(Exception):
    """A refusal: ``status`` (4xx), a stable ``code`` and a message a person can read."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[bytes, bytes] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


TYPES = ("string", "boolean", "number", "integer")


@attrs.frozen
class Field:
    """One field of a request body (or query): JSON type, required or not, the values it may
    take (``choices``, or ``minimum``/``maximum`` for numbers)."""

    name: str
    type: str = attrs.field(validator=attrs.validators.in_(TYPES))
    description: str
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False

    def check(self, value: Any) -> Any:
        """``value`` if it fits the field, else ApiError 400 ``bad_field``."""
        if self.type == "string":
            if not isinstance(value, str) or not value:
                raise _bad(self, "a non-empty string")
            if self.choices and value not in self.choices:
                raise _bad(self, "one of " + ", ".join(self.choices))
            return value
        if self.type == "boolean":
            if not isinstance(value, bool):
                raise _bad(self, "true or false")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(self, "a number" if self.type == "number" else "an integer")
        if self.type == "integer" and not isinstance(value, int):
            raise _bad(self, "an integer")
        if isinstance(value, float) and not math.isfinite(value):
            raise _bad(self, "a finite number")
        low, high = self.minimum, self.maximum
        if low is not None and (value <= low if self.exclusive_minimum else value < low):
            raise _range(self)
        if high is not None and value > high:
            raise _range(self)
        return value

    def range_text(self) -> str:
        low = (
            ""
            if self.minimum is None
            else f"{'over' if self.exclusive_minimum else 'at least'} {self.minimum:g}"
        )
        high = "" if self.maximum is None else f"at most {self.maximum:g}"
        return " and ".join(part for part in (low, high) if part)


def _bad(field: Field, what: str) -> ApiError:
    return ApiError(400, "bad_field", f"{field.name!r} must be {what}")


def _range(field: Field) -> ApiError:
    return ApiError(400, "out_of_range", f"{field.name!r} must be {field.range_text()}")


def check_fields(
    fields: Sequence[Field], values: Mapping[str, Any], *, strict: bool = True
) -> dict[str, Any]:
    """The fields of a body (``strict``: no other keys) or query, checked; ApiError 400
    ``missing_field`` / ``unknown_field`` / ``bad_field`` / ``out_of_range``."""
    known = {f.name: f for f in fields}
    if strict:
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ApiError(
                400,
                "unknown_field",
                f"unknown field {unknown[0]!r}; this request takes: "
                + (", ".join(known) or "no fields"),
            )
    result: dict[str, Any] = {}
    for field in fields:
        if field.name not in values or values[field.name] is None:
            if field.required:
                raise ApiError(400, "missing_field", f"{field.name!r} is required")
            continue
        result[field.name] = field.check(values[field.name])
    return result


@attrs.frozen
class Route:
    """One endpoint (see the module docstring). ``handler(request)`` gets an
    :class:`ApiRequest` and returns the JSON answer (a dict) or raises."""

    method: str
    path: str
    access: Access
    handler: Callable[[ApiRequest], dict[str, Any]]
    summary: str
    response: str
    fields: tuple[Field, ...] = ()
    query: tuple[Field, ...] = ()
    description: str = ""
    errors: tuple[int, ...] = ()

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(part for part in self.path.split("/") if part)

    @property
    def parameters(self) -> tuple[str, ...]:
        """The names of the path's ``{parameters}``, in order."""
        return tuple(s[1:-1] for s in self.segments if s.startswith("{"))

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        """The path parameters if ``segments`` fit the template, else None."""
        template = self.segments
        if len(template) != len(segments):
            return None
        params = {}
        for pattern, segment in zip(template, segments, strict=True):
            if pattern.startswith("{"):
                if not segment:
                    return None
                params[pattern[1:-1]] = segment
            elif pattern != segment:
                return None
        return params


@attrs.frozen
class ApiRequest:
    """What a handler gets: the path parameters, the checked body or query fields, and who
    asked (for the log)."""

    params: Mapping[str, str]
    fields: Mapping[str, Any]
    user: str = ""
