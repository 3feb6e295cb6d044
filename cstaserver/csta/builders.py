"""Fast construction of decoded ECMA-323 values (clause 9 messages and structures).

The codec (:mod:`cstaserver.csta.codec`) decodes every request into frozen attrs instances.
attrs' generated ``__init__`` of a frozen class sets each field through a bound
``object.__setattr__`` (the frozen guard's way round), which is most of the cost of building
the small structures of a request (a ``DeviceID`` has four fields, a ``MakeCall`` nine).

:func:`builder` compiles, once per class, a function ``build(values)`` taking the decoder's
``{field name: value}`` and returning the instance that ``cls(**values)`` returns, equal
field for field, but setting each slot with its member descriptor directly, defaults filled
in from the class's own. It does so only for a class whose ``__init__`` does nothing but
store the fields: slotted, no validator, converter, ``__attrs_post_init__``, non-``init``
field or ``Factory`` default; any other class (and a ``values`` missing a field that has no
default, which ``cls`` answers with ``TypeError``) goes through ``cls(**values)`` itself.
The values come from the codec's decoders, which already produced the declared types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["builder"]

Builder = Callable[[dict[str, Any]], Any]


def _is_slot(descriptor: object) -> bool:
    return type(descriptor).__name__ == "member_descriptor"


def _plain(cls: type) -> bool:
    """True when ``cls.__init__`` only stores its keyword arguments (see the module doc)."""
    if not attrs.has(cls) or hasattr(cls, "__attrs_post_init__"):
        return False
    if hasattr(cls, "__attrs_pre_init__"):
        return False
    for field in attrs.fields(cls):
        if not field.init or field.validator is not None or field.converter is not None:
            return False
        if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            return False
        if field.alias != field.name:
            return False
        if not _is_slot(getattr(cls, field.name, None)):
            return False
    return True


def builder(cls: type) -> Builder:
    """``build(values)``, equal to ``cls(**values)`` for the values the codec decodes."""
    if not _plain(cls):
        return lambda values: cls(**values)
    scope: dict[str, Any] = {"_cls": cls, "_new": object.__new__}
    lines = ["def build(values):", "    obj = _new(_cls)", "    try:"]
    for index, field in enumerate(attrs.fields(cls)):
        scope[f"_set{index}"] = getattr(cls, field.name).__set__
        if field.default is attrs.NOTHING:
            lines.append(f"        _set{index}(obj, values[{field.name!r}])")
        else:
            scope[f"_default{index}"] = field.default
            lines.append(f"        _set{index}(obj, values.get({field.name!r}, _default{index}))")
    if len(lines) == 3:  # no field
        lines.append("        pass")
    # a mandatory field missing: cls(**values) raises the TypeError the codec reports
    lines += ["    except KeyError:", "        return _cls(**values)", "    return obj"]
    exec("\n".join(lines), scope)  # noqa: S102  (our own field names, as attrs does)
    build: Builder = scope["build"]
    return build
