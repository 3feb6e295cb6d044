"""The bus between protocol front ends and exchange processes: the one seam several processes
of cstaserver share (docs/cluster.md).

Four things travel over it, and nothing else:

- **events**: ``publish(channel, payload)`` / ``subscribe(channel, receiver)``; a subscriber
  receives what one publisher sent to a channel in the order it was sent (at most once: what
  is published while a subscriber is cut off from the broker is not replayed);
- **requests**: ``request(service, payload, timeout)`` is answered by the one process that
  ``serve``\\ s the service, or fails with :class:`BusTimeout` after ``timeout`` seconds; a
  request that was not taken in time is never carried out later (it carries its deadline);
- **follow-ups**: a server's answer may name events to publish *after* it
  (:class:`Reply`), on the same broker connection, so a client sees a response before the
  events its request caused, as ECMA-323 clients expect of a CSTA server;
- **shared state**: ``put(key, value, ttl)`` / ``get`` / ``delete`` (application sessions that
  a client may reattach through another front end), and ``claim(key, value, ttl)``, which
  stores only when the key holds nothing: of several nodes claiming one key, exactly one wins
  (Redis ``SET NX``), so only one front end takes a session over.

Payloads are text (JSON, encoded by the caller). Two implementations: :mod:`.local`
(one process: the default, no broker) and :mod:`.redis` (Redis or Valkey via txredisapi).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from zope.interface import Attribute, Interface


class BusError(Exception):
    """The bus could not carry a request through (the message says why, in one line)."""


class BusTimeout(BusError):
    """No answer within the request's time-out (no server, a slow one, or no broker)."""


class RemoteFailure(BusError):
    """The serving process failed to handle the request: ``kind`` names the error's class."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@attrs.frozen
class Reply:
    """A server's answer, with the events to publish after it (in order)."""

    body: str
    then: tuple[tuple[str, str], ...] = ()


#: A request handler: the request's payload in, an answer (text, a :class:`Reply`, or a
#: Deferred of either) out; raising is answered with :class:`RemoteFailure`.
Handler = Callable[[str], Any]
#: An event receiver: (channel, payload).
Receiver = Callable[[str, str], None]


class IBus(Interface):
    node_id = Attribute("This process's name on the bus (replies are addressed to it).")

    def publish(channel: str, payload: str) -> Any:
        """Send ``payload`` to the subscribers of ``channel``; a Deferred that fires once the
        broker has it."""

    def subscribe(channel: str, receiver: Receiver) -> Any:
        """Deliver what is published to ``channel`` to ``receiver``; a Deferred of a
        no-argument callable that ends the subscription, fired once it is in place."""

    def request(service: str, payload: str, timeout: float) -> Any:
        """A Deferred of the answer's text; BusTimeout, RemoteFailure or BusError."""

    def serve(service: str, handler: Handler) -> Any:
        """Take the requests of ``service`` (one server per service); a Deferred of a
        no-argument callable that stops serving."""

    def put(key: str, value: str, ttl: float) -> Any:
        """Store ``value`` for ``ttl`` seconds."""

    def get(key: str) -> Any:
        """A Deferred of the value, or None when there is none (or it expired)."""

    def delete(key: str) -> Any:
        """Remove the value."""

    def claim(key: str, value: str, ttl: float) -> Any:
        """Store ``value`` for ``ttl`` seconds only if ``key`` holds no value (or an expired
        one): a Deferred of True when this call stored it, False when the key was taken.
        Atomic: of several nodes claiming one key, exactly one gets True."""

    def close() -> Any:
        """Stop serving, drop the subscriptions, close the broker connections; pending
        requests fail with BusError."""
