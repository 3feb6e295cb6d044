"""The table of CSTA services: one handler per request class (ECMA-269 clauses 14-19).

Handlers register with ``@service(RequestClass)``. GetCSTAFeatures reports exactly the
services registered here, so the capability lists cannot drift from what is implemented.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Handler = Callable[[Any], Any]


class ServiceTable:
    def __init__(self) -> None:
        self._handlers: dict[type, Handler] = {}

    def register(self, request_class: type) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            if request_class in self._handlers:
                raise ValueError(f"{request_class.__name__} already has a handler")
            self._handlers[request_class] = handler
            return handler

        return decorate

    def lookup(self, request_class: type) -> Handler | None:
        return self._handlers.get(request_class)

    def __contains__(self, request_class: type) -> bool:
        return request_class in self._handlers

    def __iter__(self) -> Iterator[type]:
        return iter(self._handlers)


#: What a handler returns for a request that has no positive response (ECMA-269 "always
#: responds: false", e.g. RouteSelect): the transport acknowledges it its own way, if at all.
NO_RESPONSE = b""

SERVICES = ServiceTable()
service = SERVICES.register
