"""The seams of the SIP layer (RFC 3261 §8.2 UAS behaviour, §12 dialogs, §18 transport).

- :class:`ISipApplication` is what an application (the TR/87 module) implements: it
  decides on dialog creation, answers requests inside a dialog and is told when a dialog
  ends. It never sees transactions, retransmissions or SIP-level errors.
- :class:`ISipDialog` is what the application holds: it sends requests in the dialog
  (``send_request`` fires with the response or a ``RequestTimeout``; the dialog stays up)
  and can end it.
- :class:`ISipFlow` is one way back to a peer (a TCP connection, or a UDP socket and an
  address); the transports provide it, the endpoint uses it.

An application's answer is a :class:`SipAnswer`, or for short: ``bytes`` (a 200 with that
body), an ``int`` (that status, no body), a ``(status, headers, body)`` tuple, or None (a
200 without body); :func:`coerce_answer` normalises them. CSTA and XML stay out of here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from attrs import field, frozen
from zope.interface import Attribute, Interface


@frozen
class SipAnswer:
    """An application's answer to a request: status, body and extra headers."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=(), converter=tuple)
    reason: str | None = None


def coerce_answer(value: Any) -> SipAnswer:
    """Normalise what an :class:`ISipApplication` method returned into a :class:`SipAnswer`."""
    if isinstance(value, SipAnswer):
        return value
    if value is None:
        return SipAnswer()
    if isinstance(value, bool):
        raise TypeError(f"not an answer: {value!r}")
    if isinstance(value, int):
        return SipAnswer(status=value)
    if isinstance(value, bytes):
        return SipAnswer(body=value)
    if isinstance(value, tuple) and len(value) == 3:
        status, headers, body = value
        headers = tuple(headers.items() if isinstance(headers, dict) else headers)
        content_type = next((v for k, v in headers if k.lower() in ("content-type", "c")), None)
        rest = tuple((k, v) for k, v in headers if k.lower() not in ("content-type", "c"))
        return SipAnswer(int(status), bytes(body or b""), content_type, rest)
    raise TypeError(f"not an answer: {value!r}")


class ISipFlow(Interface):
    """A way to send bytes to one peer: a TCP connection, or a UDP socket + address."""

    transport_name = Attribute("'UDP' or 'TCP', as written in a Via header")
    reliable = Attribute("True for stream transports (no retransmissions)")
    peer = Attribute("(host, port) of the remote side")
    local = Attribute("(host, port) of our side")
    connected = Attribute("False once a connection is lost; always True for UDP")

    def send_bytes(data: bytes) -> None:
        """Write one serialised message."""

    def to_address(host: str, port: int) -> ISipFlow:
        """The flow towards another address on the same transport (UDP; a connection
        returns itself)."""


class ISipDialog(Interface):
    """A confirmed (or confirming) UAS dialog, as the application sees it."""

    dialog_id = Attribute("DialogId(call_id, local_tag, remote_tag)")
    call_id = Attribute("the Call-ID")
    remote_uri = Attribute("the client's URI (From of its requests)")
    local_uri = Attribute("our URI (To of its requests, the Request-URI's AOR)")
    remote_target = Attribute("the client's Contact URI, where in-dialog requests go")
    confirmed = Attribute("True once we sent a 2xx to its INVITE")
    terminated = Attribute("True once the dialog ended")
    context = Attribute("free slot for the application (e.g. its association)")

    def send_request(
        method: str,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> Any:
        """Send a request in the dialog (our CSeq, From/To swapped, Request-URI = the
        remote target). Returns a Deferred firing with the final SipResponse, or with a
        RequestTimeout after Timer F (or at once if it cannot be sent). Never errbacks;
        the dialog stays up either way."""

    def end(reason: str = "local") -> None:
        """End the dialog: send BYE and report ``dialog_ended``."""


class ISipApplication(Interface):
    """The application behind the SIP endpoint. Each method may return its answer or a
    Deferred of it; an exception (or failed Deferred) is answered with 500."""

    def dialog_requested(dialog: ISipDialog, invite: Any) -> Any:
        """An INVITE: a new dialog (``dialog.confirmed`` False) or a re-INVITE of an
        existing one (``dialog.confirmed`` True). Answer 2xx to accept (the dialog is
        kept; for a re-INVITE, refreshed), or a final status ≥ 300 to refuse (a new
        dialog is dropped, an existing one is left as it was)."""

    def request_in_dialog(dialog: ISipDialog, request: Any) -> Any:
        """An INFO (body empty or of the accepted type) in a dialog. Answer with the
        200's body (bytes), a status, or a SipAnswer. Several may be pending at once."""

    def out_of_dialog_request(request: Any) -> Any:
        """An INFO outside any dialog: serve it (bytes, SipAnswer) or refuse (481)."""

    def dialog_ended(dialog: ISipDialog, reason: str) -> None:
        """The dialog ended: "bye" (client BYE), "local" (``end``), "session expired",
        "no ACK", "connection lost", "shutdown"."""
