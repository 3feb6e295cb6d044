"""Call data between the wire and the switch (ECMA-269 12.3.x correlatorData, userData).

The switch keeps a call's correlator and user data opaque (``pbx.events.CallData``); this
module decides what they hold and writes them back into events:

- ``correlatorData`` is kept as the text the application sent.
- ``userData`` (ECMA-323: ``<string>`` of hexBinary octets, or ``<private>`` content) is kept
  as the client's element, detached and without its namespace (:func:`user_data_in`), so
  that it is written back unchanged in the namespace of every client that sees the call,
  whatever edition the application that made the call spoke (:func:`user_data_out`).
"""

from __future__ import annotations

import copy

from lxml import etree

from cstaserver.csta.schema import Raw

__all__ = ["user_data_in", "user_data_out"]


def user_data_in(element: Raw | None) -> Raw | None:
    """A request's ``userData`` as the switch stores it (None if absent or empty)."""
    if element is None or (len(element) == 0 and not (element.text or "").strip()):
        return None
    neutral = copy.deepcopy(element)
    for node in neutral.iter():
        if isinstance(node.tag, str):
            node.tag = etree.QName(node).localname
    etree.cleanup_namespaces(neutral)
    neutral.tail = None
    return neutral


def user_data_out(value: object | None) -> Raw | None:
    """Stored user data as an event's ``userData``: an element as it is; text or octets (from
    a caller other than the CSTA layer) as ECMA-323's ``<string>`` (hexBinary)."""
    if value is None or isinstance(value, etree._Element):
        return value
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes | bytearray):
        return None
    element = etree.Element("userData")
    etree.SubElement(element, "string").text = bytes(value).hex().upper()
    return element
