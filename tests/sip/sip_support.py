"""Test doubles for the SIP layer: a recording flow, a tiny application and a request
builder in the style of pidgin-sipe (docs/protocol-notes.md T2)."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from zope.interface import implementer

from cstaserver.sip.dialog import Dialog
from cstaserver.sip.endpoint import SipConfig, SipEndpoint
from cstaserver.sip.interfaces import ISipApplication, ISipFlow, SipAnswer
from cstaserver.sip.message import SipParseError, SipRequest, SipResponse, parse_datagram

CSTA = "application/csta+xml"


def lenient_parse(data: bytes) -> SipRequest | SipResponse:
    """Parse what we sent, even a response echoing a client's invalid headers."""
    try:
        return parse_datagram(data)
    except SipParseError as error:
        assert error.message is not None, error
        return error.message


@implementer(ISipFlow)
class RecordingFlow:
    """A flow that keeps what is sent, parsed."""

    def __init__(
        self,
        *,
        reliable: bool = False,
        peer: tuple[str, int] = ("192.0.2.10", 50123),
        local: tuple[str, int] = ("192.0.2.1", 5062),
    ) -> None:
        self.reliable = reliable
        self.transport_name = "TCP" if reliable else "UDP"
        self.peer = peer
        self.local = local
        self.connected = True
        self.sent: list[bytes] = []

    def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)

    def to_address(self, host: str, port: int) -> ISipFlow:
        return self

    @property
    def messages(self) -> list[SipRequest | SipResponse]:
        return [lenient_parse(data) for data in self.sent]

    @property
    def responses(self) -> list[SipResponse]:
        return [m for m in self.messages if isinstance(m, SipResponse)]

    @property
    def requests(self) -> list[SipRequest]:
        return [m for m in self.messages if isinstance(m, SipRequest)]

    def final_responses(self) -> list[SipResponse]:
        return [r for r in self.responses if r.status >= 200]

    def clear(self) -> None:
        self.sent.clear()


@implementer(ISipApplication)
class RecordingApplication:
    """Answers INVITEs with 200 and a body, INFOs with ``<echo>`` + body, refuses
    out-of-dialog INFO with 481; or, when ``deferred`` is set, leaves each answer to the
    test through Deferreds in ``pending``."""

    def __init__(self, *, deferred: bool = False) -> None:
        self.deferred = deferred
        self.pending: list[tuple[SipRequest, Deferred[Any]]] = []
        self.invites: list[tuple[Dialog, SipRequest, bool]] = []
        self.infos: list[tuple[Dialog, SipRequest]] = []
        self.out_of_dialog: list[SipRequest] = []
        self.ended: list[tuple[Dialog, str]] = []
        self.invite_answer: Any = SipAnswer(200, b"<RequestSystemStatusResponse/>", CSTA)
        self.out_of_dialog_answer: Any = 481

    def _later(self, request: SipRequest, now: Any) -> Any:
        if not self.deferred:
            return now
        result: Deferred[Any] = Deferred()
        self.pending.append((request, result))
        return result

    def dialog_requested(self, dialog: Dialog, invite: SipRequest) -> Any:
        self.invites.append((dialog, invite, dialog.confirmed))
        return self._later(invite, self.invite_answer)

    def request_in_dialog(self, dialog: Dialog, request: SipRequest) -> Any:
        self.infos.append((dialog, request))
        return self._later(request, b"<echo>" + request.body + b"</echo>")

    def out_of_dialog_request(self, request: SipRequest) -> Any:
        self.out_of_dialog.append(request)
        return self._later(request, self.out_of_dialog_answer)

    def dialog_ended(self, dialog: Dialog, reason: str) -> None:
        self.ended.append((dialog, reason))


def make_endpoint(
    application: Any = None, **config: Any
) -> tuple[SipEndpoint, RecordingApplication, Clock]:
    clock = Clock()
    app = application or RecordingApplication()
    return SipEndpoint(app, clock, SipConfig(**config)), app, clock


def sip_request(
    method: str,
    *,
    cseq: int = 1,
    cseq_method: str | None = None,
    call_id: str = "6f1b0c2a9d7e4b3f8a5c0d1e2f3a4b5c",
    from_tag: str | None = "5c1e",
    to_tag: str | None = None,
    branch: str | None = None,
    body: bytes = b"",
    content_type: str | None = CSTA,
    uri: str = "sip:rccgateway@example.net",
    extra: tuple[tuple[str, str], ...] = (),
    transport: str = "TCP",
) -> bytes:
    """A request as pidgin-sipe writes it: no Via branch unless given, epid on From."""
    via = f"SIP/2.0/{transport} 192.0.2.10:50123"
    if branch is not None:
        via += f";branch={branch}"
    from_value = (
        "<sip:alice@example.net>" + (f";tag={from_tag}" if from_tag else "") + ";epid=0a1b2c3d4e"
    )
    to_value = "<sip:rccgateway@example.net>" + (f";tag={to_tag}" if to_tag else "")
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: {via}",
        "Max-Forwards: 70",
        f"From: {from_value}",
        f"To: {to_value}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {cseq_method or method}",
        "Contact: <sip:alice@example.net:50123;maddr=192.0.2.10;transport=tcp>;proxy=replace",
        "User-Agent: UCCAPI/16.0 OC/16.0 (Skype for Business) Sipe/1.25.0",
    ]
    lines.extend(f"{name}: {value}" for name, value in extra)
    if body and content_type:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def deliver(endpoint: SipEndpoint, flow: RecordingFlow, data: bytes) -> None:
    """Hand one datagram's worth of bytes to the endpoint as a transport would."""
    try:
        message = parse_datagram(data, endpoint.config.limits)
    except SipParseError as error:
        endpoint.parse_failed(error, flow)
        return
    endpoint.message_received(message, flow)
