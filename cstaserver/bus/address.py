"""Where the broker is: ``--cluster redis://HOST:PORT`` parsed and checked, and a start-up
probe that tells an operator in one line when the broker cannot be reached.

The probe is one ``PING`` in the Redis protocol (RESP: ``*1\\r\\n$4\\r\\nPING\\r\\n``, answered
``+PONG``) on a blocking socket with a short time-out, made before the reactor runs so that
``twistd`` can refuse to start with one line and exit status 1; everything after it goes
through :class:`~cstaserver.bus.redis.RedisBus` (txredisapi).
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import attrs

SCHEMES = ("redis", "valkey")
DEFAULT_PORT = 6379
PING = b"*1\r\n$4\r\nPING\r\n"


class BrokerUnreachable(Exception):
    """The broker did not answer the start-up probe (the message says why, in one line)."""


@attrs.frozen
class BrokerAddress:
    host: str
    port: int = DEFAULT_PORT

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """``redis://HOST[:PORT]`` (or ``valkey://``); ValueError with a one-line reason."""
        parts = urlsplit(url.strip())
        if parts.scheme not in SCHEMES:
            raise ValueError(f"{url!r} is not a redis://HOST:PORT address")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"{url!r}: only redis://HOST:PORT is understood (no path or query)")
        if parts.username or parts.password:
            raise ValueError(
                f"{url!r}: the broker's password is not supported; bind it to a "
                "private interface instead"
            )
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"{url!r}: the port must be a number (1-65535)") from None
        if not parts.hostname:
            raise ValueError(f"{url!r}: no host")
        return cls(parts.hostname, port or DEFAULT_PORT)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"redis://{host}:{self.port}"

    def probe(self, timeout: float = 3.0) -> None:
        """One PING; BrokerUnreachable when there is no connection or no ``+PONG``."""
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout) as conn:
                conn.sendall(PING)
                answer = conn.recv(64)
        except OSError as error:
            raise BrokerUnreachable(
                f"cannot reach the broker {self}: {error.strerror or error}"
            ) from None
        if not answer.startswith(b"+PONG"):
            first = answer.split(b"\r\n", 1)[0].decode("ascii", "replace")
            raise BrokerUnreachable(f"the broker {self} did not answer PING: {first or 'nothing'}")
