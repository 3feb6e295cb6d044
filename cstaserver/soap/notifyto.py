"""Where a SOAP ``Subscribe`` may send events (ECMA-348 Annex A / TR/90 ``NotifyTo``).

The server POSTs every event to the NotifyTo URL; left open, any web account could make the
server send requests to any address it reaches (loopback services included). The exchange
data's ``Limits.notify_to_allow`` lists the URL prefixes allowed; empty (the default) allows
none, and a client takes its events with ``GetEvents`` instead (docs/limits.md).

A prefix matches by its parts, not as text: the same scheme, the same host (letters in any
case) and the same port (80/443 when not written), and a path that starts with the prefix's
path at a ``/`` boundary. So ``http://crm.example:9000/csta`` allows
``http://crm.example:9000/csta/events`` but neither ``http://crm.example:90001/csta``,
``http://crm.example.evil/csta`` nor ``http://crm.example:9000/cstax``. A URL carrying a
user name or password is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def _parts(url: str) -> tuple[str, str, int, str] | None:
    try:
        parts: SplitResult = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme], parts.path or "/"


def notify_to_allowed(url: str, prefixes: Iterable[str]) -> bool:
    """True if ``url`` falls under one of ``prefixes`` (see the module docstring)."""
    wanted = _parts(url)
    if wanted is None:
        return False
    for prefix in prefixes:
        allowed = _parts(prefix)
        if allowed is None or allowed[:3] != wanted[:3]:
            continue
        base, path = allowed[3], wanted[3]
        if path == base or path.startswith(base if base.endswith("/") else base + "/"):
            return True
    return False
